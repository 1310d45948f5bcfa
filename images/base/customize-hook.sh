#!/usr/bin/env bash
# mmdebstrap customize hook: runs after every package is installed. Cross-compiles the native
# addons for arm64 on the build machine against the image root's libraries (cross-addons.sh) and
# loads them with the image's node, removes any build tool, writes fstab and the initramfs module
# list, builds the initramfs once, and removes what must differ per device (SSH host keys, machine
# id).
set -euo pipefail
root=$1
step() { echo "[hearth] $(date +%T) $*"; }

step "fstab and initramfs module list"
cp "$HEARTH_IMAGES/rootfs/etc/fstab" "$root/etc/fstab"   # before the initramfs is built
{ echo "# hearth: see images/initramfs-modules"; grep -v '^\s*#' "$HEARTH_IMAGES/initramfs-modules"; } >"$root/etc/initramfs-tools/modules"

step "cross-compiling the native addons for arm64 on the build machine (the dependencies of $HEARTH_ADDONS/package.json: native-addons.json)"
mkdir -p "$root/opt/hearth"
cp -a "$HEARTH_ADDONS/." "$root/opt/hearth/"
"$HEARTH_IMAGES/base/cross-addons.sh" "$root" "$root/opt/hearth" "$HEARTH_NPM"
# The image's own node (under emulation) must load every addon: arm64, its libraries found, the
# module version matching. speaker asks ALSA's "default" for its formats as it loads, so ALSA gets
# a null default here (the build machine has no sound card for the image).
printf 'pcm.!default { type null }\n' >"$root/tmp/hearth-null-alsa.conf"
chroot "$root" env ALSA_CONFIG_PATH=/tmp/hearth-null-alsa.conf node -e '
  const fs = require("fs");
  for (const p of Object.keys(require("/opt/hearth/package.json").dependencies)) {
    const dir = `/opt/hearth/node_modules/${p}/build/Release`;
    const addons = fs.readdirSync(dir).filter((f) => f.endsWith(".node"));
    if (addons.length === 0) throw new Error(`${p}: no addon in ${dir}`);
    for (const f of addons) require(`${dir}/${f}`);
    console.log("[hearth] loads:", p, addons.join(" "));
  }
  console.log(`[hearth] node ${process.version} on ${process.arch}`);
'
rm -f "$root/tmp/hearth-null-alsa.conf"

step "purging build tools: ${HEARTH_BUILD_PACKAGES:-none listed} and anything matching images/build-tools.re"
# Nothing is installed for the build any more (the addons are cross-compiled above); this stays as
# the guard: any build tool a device package pulled in is marked automatic, then autoremoved. apt
# removes what nothing installed for the device still needs, and keeps (and the list below shows)
# anything that is. Suggests and Recommends must not count: by default apt keeps a package another
# one merely suggests (apt suggests dpkg-dev, which keeps gcc, binutils, make and perl).
noweak="-o APT::AutoRemove::SuggestsImportant=false -o APT::AutoRemove::RecommendsImportant=false"
[ -z "$HEARTH_BUILD_PACKAGES" ] || chroot "$root" apt-mark auto $HEARTH_BUILD_PACKAGES >/dev/null
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
