#!/usr/bin/env bash
# Builds the cached base root filesystem of the hearth image as a tar file: Debian 13 arm64 from
# Debian's own packages (images/packages.txt) with the runtime's native addons built for arm64.
# Runs on any amd64 Debian machine as root with mmdebstrap, qemu-user-static (binfmt enabled) and
# the arm64 cross compiler (scripts/setup.sh image installs them); needs no loop device and no
# mount of the image.
#
#   mkbase.sh OUT.tar ADDONS_DIR NPM_DIR
#     ADDONS_DIR  package.json + node_modules of the native addons, fetched without install scripts
#     NPM_DIR     an npm installation whose bundled node-gyp builds the addons (the host's)
#
# The addons are cross-compiled on the build machine (cross-addons.sh, gcc-aarch64-linux-gnu), not
# under emulation: no compiler is ever installed in the image.
#
# Time goes to emulated dpkg and mkinitramfs, so update-initramfs is diverted while packages
# install and runs once at the end with a short module list (images/initramfs-modules).
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
out=$1 addons=$2 npmdir=$3
suite=${HEARTH_SUITE:-trixie}
mirror=${HEARTH_MIRROR:-http://deb.debian.org/debian}
security=${HEARTH_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

list() { { grep -v '^\s*#' "$1" || true; } | sed 's/#.*//' | xargs | tr ' ' ','; }
pkgs=$(list "$here/../packages.txt")
build=$(list "$here/../build-packages.txt")

# What counts as a build tool: the image test asserts none of these is installed (build_packages_left).
export HEARTH_BUILD_RE=$(grep -v '^\s*#' "$here/../build-tools.re" | paste -sd'|')
export HEARTH_IMAGES="$here/.." HEARTH_ADDONS="$addons" HEARTH_NPM="$npmdir" HEARTH_BUILD_PACKAGES="${build//,/ }"
mapfile -t dpkgopts < <(grep -v '^\s*#' "$here/../dpkg-excludes" | grep . | sed 's/^/--dpkgopt=/')
tmp="$out.partial"
rm -f "$tmp"
mmdebstrap --mode=root --arch=arm64 --variant=minbase \
  --components=main,non-free-firmware \
  --include="$pkgs${build:+,$build}" \
  --format=tar \
  --aptopt='Acquire::Retries "3"' \
  "${dpkgopts[@]}" \
  --essential-hook="$here/essential-hook.sh \"\$1\"" \
  --customize-hook="$here/customize-hook.sh \"\$1\"" \
  "$suite" "$tmp" \
  "deb $mirror $suite main non-free-firmware" \
  "deb $mirror $suite-updates main non-free-firmware" \
  "deb $security $suite-security main non-free-firmware"
mv "$tmp" "$out"
