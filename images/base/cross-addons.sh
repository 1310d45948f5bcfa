#!/usr/bin/env bash
# Builds the runtime's native addons (the dependencies of DIR/package.json, which build.ts writes
# from native-addons.json) for arm64 ON THE BUILD MACHINE with Debian's cross compiler, linked against the arm64 libasound and libpcap of the
# image's own root. Nothing is compiled under emulation and the image never gets a compiler,
# a -dev package or perl, so there is nothing to purge afterwards.
#
#   cross-addons.sh ROOT DIR NPM_DIR
#     ROOT     the arm64 root filesystem (has libasound2t64 and libpcap0.8t64 installed)
#     DIR      package.json + node_modules of the addons (sources fetched without install scripts);
#              each addon's build/Release/*.node is built in place, everything else of build/ removed
#     NPM_DIR  an npm installation whose bundled node-gyp runs the builds (the build machine's)
#
# Headers: Node's from the build machine's node (the same major, so the same NODE_MODULE_VERSION
# and V8: an addon built against 20.x loads in Debian's nodejs 20.x), ALSA's and libpcap's from
# the build machine's libasound2-dev and libpcap-dev (both libraries keep their ABI within the
# soname: libasound.so.2, libpcap.so.0.8). The C library comes from the cross compiler's own
# sysroot (older than the image's, which runs what older glibc built).
set -euo pipefail
root=$1 dir=$2 npmdir=$3
triplet=aarch64-linux-gnu
for t in $triplet-gcc $triplet-g++ make python3; do
  command -v "$t" >/dev/null || { echo "cross-addons: $t missing (scripts/setup.sh image installs it)" >&2; exit 1; }
done
nodeinc=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node
[ -f "$nodeinc/node.h" ] || { echo "cross-addons: no Node headers at $nodeinc" >&2; exit 1; }
for h in /usr/include/alsa/asoundlib.h /usr/include/pcap.h; do
  [ -f "$h" ] || { echo "cross-addons: $h missing (libasound2-dev, libpcap-dev)" >&2; exit 1; }
done

# An addon loads only in the Node major it was built for (NODE_MODULE_VERSION): the build
# machine's node must be the image's (Debian's nodejs), major for major.
image_node=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' nodejs)
host_node=$(node --version)
image_major=${image_node#*:}; image_major=${image_major%%.*}
host_major=${host_node#v}; host_major=${host_major%%.*}
if [ "$image_major" != "$host_major" ]; then
  echo "cross-addons: the image's nodejs is $image_node, this machine's node $host_node: the majors must match" >&2
  exit 1
fi
echo "[hearth] Node headers of $host_node for the image's nodejs $image_node"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only the ALSA and pcap headers from the build machine: its /usr/include as a whole would mix
# amd64 C library headers into an arm64 build.
mkdir -p "$work/include" "$work/lib"
ln -s /usr/include/alsa "$work/include/alsa"
for h in /usr/include/pcap*; do ln -s "$h" "$work/include/"; done
# Link names for the image's runtime libraries (the root has only the sonames, not the -dev links).
lib=$root/usr/lib/$triplet
for l in libasound.so.2 libpcap.so.0.8; do
  [ -e "$lib/$l" ] || { echo "cross-addons: $lib/$l missing from the image root" >&2; exit 1; }
done
ln -s "$lib/libasound.so.2" "$work/lib/libasound.so"
ln -s "$lib/libpcap.so.0.8" "$work/lib/libpcap.so"

# speaker 0.5.5 ships mpg123 config headers for linux arm/ia32/x64 only; arm64 is LP64 little
# endian glibc like x64, whose config.h (type sizes, header checks) therefore fits.
mpg=$dir/node_modules/speaker/deps/mpg123/config/linux
if [ -d "$mpg" ] && [ ! -d "$mpg/arm64" ]; then cp -a "$mpg/x64" "$mpg/arm64"; fi

export CC=$triplet-gcc CXX=$triplet-g++ LINK=$triplet-g++ AR=$triplet-ar
export CFLAGS="-I$work/include" CXXFLAGS="-I$work/include"
export LDFLAGS="-L$work/lib -Wl,-rpath-link,$lib"
export HOME=$work npm_config_cache=$work/npm-cache
for p in $(node -p "Object.keys(require('$dir/package.json').dependencies).join(' ')"); do
  echo "[hearth] cross-compiling $p for arm64"
  (cd "$dir/node_modules/$p" &&
    node "$npmdir/node_modules/node-gyp/bin/node-gyp.js" rebuild --arch=arm64 --nodedir="$(dirname "$(dirname "$nodeinc")")" --jobs=2 >"$work/gyp-$p.log" 2>&1) ||
    { tail -40 "$work/gyp-$p.log"; exit 1; }
  # keep only the addon itself: objects and makefiles are tens of MB
  find "$dir/node_modules/$p/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$dir/node_modules/$p/build/Release" -mindepth 1 -maxdepth 1 ! -name "*.node" -exec rm -rf {} +
  for f in "$dir/node_modules/$p"/build/Release/*.node; do
    # readelf is part of the cross binutils: the addon must be an arm64 shared object
    $triplet-readelf -h "$f" | grep -q 'Machine:.*AArch64' || { echo "cross-addons: $f is not arm64" >&2; exit 1; }
    echo "[hearth]   $f: $($triplet-readelf -d "$f" | grep -o 'NEEDED.*\[.*\]' | sed 's/.*\[\(.*\)\]/\1/' | paste -sd' ')"
  done
done
