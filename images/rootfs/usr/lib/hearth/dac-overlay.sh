#!/bin/sh
# Applies the hearth DAC overlay to every Raspberry Pi DTB in a boot directory, in place.
#
#   dac-overlay.sh BOOT_DIR [DAC [OVERLAY_DIR]]
#     DAC          hifiberry-dac | hifiberry-dacplus | none (default: DAC= from /etc/default/hearth-dac)
#     OVERLAY_DIR  where hearth-<DAC>.dtbo lives (default /usr/lib/hearth/overlays)
#
# Used at image build time (on the build machine) and on the device after every kernel upgrade
# (/etc/kernel/postinst.d/z60-hearth-dac), because Debian's raspi-firmware copies fresh, unpatched
# DTBs to /boot/firmware then. Idempotent: a DTB that already has /hearth-sound is left alone.
# Only DTBs with the I2S controller at /soc/i2s@7e203000 (BCM2835/6/7, BCM2711) are patched.
set -eu
boot=$1
dac=${2:-}
dir=${3:-/usr/lib/hearth/overlays}
if [ -z "$dac" ]; then
  dac=none
  [ -r /etc/default/hearth-dac ] && . /etc/default/hearth-dac && dac=${DAC:-none}
fi
[ "$dac" = none ] && exit 0
dtbo="$dir/hearth-$dac.dtbo"
[ -r "$dtbo" ] || { echo "hearth: no overlay $dtbo" >&2; exit 1; }
patched=0
for dtb in "$boot"/bcm27*.dtb "$boot"/bcm283*.dtb; do
  [ -e "$dtb" ] || continue
  fdtget "$dtb" /soc/i2s@7e203000 compatible >/dev/null 2>&1 || continue
  if fdtget "$dtb" /hearth-sound compatible >/dev/null 2>&1; then continue; fi
  fdtoverlay -i "$dtb" -o "$dtb.hearth-tmp" "$dtbo"
  mv "$dtb.hearth-tmp" "$dtb"
  patched=$((patched + 1))
done
echo "hearth: $dac overlay applied to $patched DTB(s) in $boot"
