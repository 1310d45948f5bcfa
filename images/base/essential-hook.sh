#!/usr/bin/env bash
# mmdebstrap essential hook: runs after the essential packages, before the rest are installed.
# Diverts update-initramfs so the kernel and its helpers do not each build an initramfs under
# emulation (minutes each); customize-hook.sh builds it once at the end.
set -euo pipefail
root=$1
echo "[hearth] diverting update-initramfs during installation"
chroot "$root" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs
printf '#!/bin/sh\necho "update-initramfs: deferred to the end of the hearth image build" >&2\nexit 0\n' >"$root/usr/sbin/update-initramfs"
chmod 755 "$root/usr/sbin/update-initramfs"
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/boot/firmware"
printf '# hearth: a short module list (images/initramfs-modules) instead of MODULES=most\nMODULES=list\nFSTYPE=ext4\n# gzip: zstd is not in the image\nCOMPRESS=gzip\n' \
  >"$root/etc/initramfs-tools/conf.d/hearth.conf"
