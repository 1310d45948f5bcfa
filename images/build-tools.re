# Packages that are build tools (one extended regex per line, joined with "|"): none may be left in
# the image. The customize hook marks them automatic before the autoremove; the image test counts
# them in the image's dpkg status (build_packages_left).
-dev$
^build-essential$
^(gcc|g\+\+|cpp)(-[0-9.]+)?(-aarch64-linux-gnu)?$
^binutils
^libbinutils$
^libgprofng
^libctf
^libsframe
^make$
^dpkg-dev$
^libdpkg-perl$
^perl$
^perl-modules
^libperl[0-9.]+$
^patch$
^fakeroot$
^libfakeroot$
^lto-disabled-list$
^libcc1-0$
^libgcc-[0-9]+-dev$
^libasan
^liblsan
^libtsan
^libubsan
^libhwasan
^libitm
^libisl
^libmpc
^libmpfr
^libjansson
^rpcsvc-proto$
^libalgorithm-
^libfile-fcntllock-perl$
^node-gyp$
