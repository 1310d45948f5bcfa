#!/usr/bin/env bash
# mmdebstrap customize hook: runs after every package is installed. Builds the native addons for
# arm64 inside the image's own root (Debian's node headers, the host npm's node-gyp), purges the
# build-only packages, writes fstab and the initramfs module list, builds the initramfs once, and
# removes what must differ per device (SSH host keys, machine id).
set -euo pipefail
root=$1
step() { echo "[hearth] $(date +%T) $*"; }

step "fstab and initramfs module list"
cp "$HEARTH_IMAGES/rootfs/etc/fstab" "$root/etc/fstab"   # before the initramfs is built
{ echo "# hearth: see images/initramfs-modules"; grep -v '^\s*#' "$HEARTH_IMAGES/initramfs-modules"; } >"$root/etc/initramfs-tools/modules"

step "building native addons for arm64 (the dependencies of $HEARTH_ADDONS/package.json: native-addons.json)"
mkdir -p "$root/opt/hearth" "$root/tmp/hearth-npm"
cp -a "$HEARTH_ADDONS/." "$root/opt/hearth/"
cp -a "$HEARTH_NPM/." "$root/tmp/hearth-npm/"
# speaker 0.5.5 ships mpg123 config headers for linux arm/ia32/x64 only; arm64 is LP64 little
# endian glibc like x64, whose config.h (type sizes, header checks) therefore fits.
mpg=$root/opt/hearth/node_modules/speaker/deps/mpg123/config/linux
[ -d "$mpg/arm64" ] || cp -a "$mpg/x64" "$mpg/arm64"
chroot "$root" env HOME=/tmp npm_config_nodedir=/usr sh -ec '
  cd /opt/hearth/node_modules
  for p in $(node -p "Object.keys(require(\"/opt/hearth/package.json\").dependencies).join(\" \")"); do
    echo "[hearth] node-gyp rebuild $p"
    (cd "$p" && node /tmp/hearth-npm/node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir=/usr --jobs=2 >/tmp/gyp-$p.log 2>&1) || { tail -40 /tmp/gyp-$p.log; exit 1; }
    # keep only the addon itself: objects and makefiles are tens of MB
    find "$p/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
    find "$p/build/Release" -mindepth 1 -maxdepth 1 ! -name "*.node" -exec rm -rf {} +
    ls "$p"/build/Release/*.node
  done
  node -e "for (const p of [\"cap\", \"rpio\"]) { require(\"/opt/hearth/node_modules/\" + p); console.log(\"[hearth] loads:\", p) }"
  echo "[hearth] node $(node --version) on $(uname -m)"
'
rm -rf "$root/tmp/hearth-npm" "$root"/tmp/gyp-*.log

step "purging build-only packages: $HEARTH_BUILD_PACKAGES"
# Marked automatic, then autoremoved: apt removes what nothing installed for the device still
# needs, and keeps (and the list below shows) anything that is. Suggests and Recommends must not
# count: by default apt keeps a package another one merely suggests (apt suggests dpkg-dev, which
# keeps gcc, binutils, make and perl), so the purge removed nothing.
noweak="-o APT::AutoRemove::SuggestsImportant=false -o APT::AutoRemove::RecommendsImportant=false"
chroot "$root" apt-mark auto $HEARTH_BUILD_PACKAGES >/dev/null
left=$(chroot "$root" dpkg-query -W -f='${Package}\n' | grep -E -e "$HEARTH_BUILD_RE" || true)
[ -z "$left" ] || chroot "$root" apt-mark auto $left >/dev/null
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get $noweak autoremove --purge -y -qq >/dev/null
left=$(chroot "$root" dpkg-query -W -f='${Package}\n' | grep -E -e "$HEARTH_BUILD_RE" || true)
echo "[hearth] build packages left: $(echo $left | wc -w) ${left}"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*_Packages "$root"/var/lib/apt/lists/*_Translation-* "$root"/var/lib/apt/lists/*Release*
rm -rf "$root"/root/.cache "$root"/root/.npm "$root"/tmp/.npm
echo "[hearth] largest packages (Installed-Size, KiB):"
chroot "$root" dpkg-query -W -f='${Installed-Size}\t${Package}\n' | sort -rn | head -15 | sed 's/^/[hearth]   /'
echo "[hearth] used: $(du -sxm "$root" | cut -f1) MiB"

step "raspi-firmware settings: root by label, consoles on HDMI and the UART, no cma= (it breaks the Pi 4)"
# raspi-firmware's kernel/initramfs hook writes /boot/firmware/{config.txt,cmdline.txt}; without
# ROOTPART it would take the build machine's root device from findmnt.
printf '\n# hearth\nROOTPART="LABEL=hearth-root"\nCONSOLES="tty0 ttyS1,115200"\nCMA=0\n' >>"$root/etc/default/raspi-firmware"

step "initramfs (once, MODULES=list); raspi-firmware fills /boot/firmware"
rm -f "$root/usr/sbin/update-initramfs"
chroot "$root" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs
for k in "$root"/lib/modules/*; do
  chroot "$root" update-initramfs -c -k "$(basename "$k")"
done

step "removing per-device identity (SSH host keys, machine id)"
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
ls -la "$root/boot" "$root/boot/firmware"
step "base done"
