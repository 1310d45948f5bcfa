#!/usr/bin/env bash
# Installs what hearth needs on a Debian 12/13 machine: system packages (ALSA headers for the
# native audio addons, libpcap for ARP capture, Mosquitto and the interop peers the tests use),
# then the npm packages (native addons are built here). Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential python3 libasound2-dev alsa-utils sox
  mosquitto mosquitto-clients
  iproute2 iputils-ping arping tcpdump libpcap-dev etherwake wakeonlan
  pulseaudio pulseaudio-utils libasound2-plugins
  faketime snapserver snapclient
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools ffmpeg pipewire-bin
  mtools dosfstools e2fsprogs fdisk device-tree-compiler zstd
)

stamp_of() { { printf '%s\n' "${APT_PACKAGES[@]}"; cat package-lock.json scripts/patch-speaker.mjs; node --version; } | sha256sum | cut -c1-16; }
want=$(stamp_of)
if [ -f .setup-stamp ] && [ "$(cat .setup-stamp)" = "$want" ] && [ -d node_modules ]; then
  exit 0
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "[setup] installing npm packages (native addons build here)"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > .setup-stamp
echo "[setup] done"
