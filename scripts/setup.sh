#!/usr/bin/env bash
# Installs what hearth needs on a Debian 12/13 machine, then the npm packages (native addons are
# built here). Idempotent and quick when nothing changed.
#   scripts/setup.sh demo   what `npm start` needs: the headers the native addons build against
#   scripts/setup.sh        (or `test`) everything `npm test` needs too: Mosquitto, the interop peers
#                           (PulseAudio, PipeWire, GStreamer, ffmpeg), network tools, the FAT/ext4
#                           tools the image unit tests use, and Chromium for the console's browser tests
#   scripts/setup.sh image  what `npm run test:image` and `hearth image build` need besides the demo's:
#                           mmdebstrap, arm64 emulation (qemu-user-static, binfmt-support), the arm64
#                           cross compiler (the native addons) and qemu-system-arm (the boot tests).
#                           Not part of `test`: CI does not build images.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-test}"

# The native addons (native-addons.json: speaker, alsa-capture: ALSA; cap: libpcap) build against these.
DEMO_PACKAGES=(build-essential python3 libasound2-dev libpcap-dev)
APT_PACKAGES=(
  "${DEMO_PACKAGES[@]}" alsa-utils sox
  mosquitto mosquitto-clients openssl
  iproute2 iputils-ping arping tcpdump etherwake wakeonlan
  pulseaudio pulseaudio-utils libasound2-plugins
  faketime snapserver snapclient
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools ffmpeg pipewire-bin
  mtools dosfstools e2fsprogs fdisk device-tree-compiler zstd
  chromium fonts-dejavu-core tmux
  chrony sntp
  systemd procps # systemd-sysctl applies the image's sysctl drop-in in test/integration/audio/stream-port.test.ts
)
# The image build (device/image/build.ts, images/base/mkbase.sh) and its slow tests (test/image).
# The native addons are cross-compiled for arm64 here (images/base/cross-addons.sh) against Node's
# headers of this machine's node: NodeSource's nodejs ships them, Debian's comes with libnode-dev.
IMAGE_PACKAGES=(
  mmdebstrap qemu-user-static binfmt-support qemu-system-arm
  mtools dosfstools e2fsprogs fdisk device-tree-compiler tar
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu make
)
case "$MODE" in
  demo | test) ;;
  image)
    missing=()
    for p in "${IMAGE_PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    node_h="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node/node.h"
    [ -f "$node_h" ] || missing+=(libnode-dev)
    if [ ${#missing[@]} -gt 0 ]; then
      echo "[setup] installing the image tools: ${missing[*]}"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    # arm64 programs run through qemu-user only with binfmt_misc mounted and the handler enabled
    # (a container may have neither until asked).
    [ -e /proc/sys/fs/binfmt_misc/status ] || $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || $SUDO update-binfmts --enable qemu-aarch64
    # The node packages as for the demo (the image test builds dist/ and runs a broker on the host);
    # a test set-up covers the demo's, so this is quick when either was done.
    exec bash "$0" demo
    ;;
  *) echo "usage: scripts/setup.sh [demo|test|image]" >&2; exit 2 ;;
esac
if [ "$MODE" = demo ]; then APT_PACKAGES=("${DEMO_PACKAGES[@]}"); fi

stamp_of() { { echo "$MODE"; printf '%s\n' "${APT_PACKAGES[@]}"; cat package-lock.json scripts/patch-speaker.mjs; node --version; } | sha256sum | cut -c1-16; }
want=$(stamp_of)
# A full (test) set-up also covers the demo's.
if [ -f .setup-stamp ] && [ -d node_modules ] && grep -qx "$want" .setup-stamp; then
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
if [ "$MODE" = demo ]; then echo "$want" > .setup-stamp; else { echo "$want"; MODE=demo APT_PACKAGES=("${DEMO_PACKAGES[@]}"); stamp_of; } > .setup-stamp; fi
echo "[setup] done"
