#!/usr/bin/env bash
# sysroot.sh ARCH - prepare the target's libcrypto for a cross build of the workloads.
#
#   tools/cross/sysroot.sh aarch64|armhf|armel|riscv64|mipsel|mips
#
# Result, in the cache folder ${FM_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flakemeter/cross}:
#   ARCH/pkgconfig/libcrypto.pc   absolute paths to the target's headers and static libcrypto.a
#   ARCH/cross.ini                a Meson cross file that points pkg-config there; give it after
#                                 tools/cross/ARCH.ini (tools/cross/build.sh does)
#   ARCH/source.txt               where the library came from (Debian package and version)
# Two ways, chosen by what Debian offers for the arch:
#   - Debian has the arch (bookworm: arm64, armhf, armel, mipsel): `apt-get download` of
#     libssl-dev and libssl3 for that arch with a private apt configuration (the host's apt
#     state is not touched: no multiarch, no conflict with the host's newer libssl3), then
#     `dpkg-deb -x` into the cache.
#   - It does not (bookworm has no riscv64 and no big-endian mips): Debian's OpenSSL source
#     (`apt-get source`, same private configuration, deb-src) is configured for the target
#     (./Configure linux64-riscv64 | linux-mips32, no-shared no-tests) and only libcrypto.a is
#     built, out of tree (one source folder serves every arch).
# A second run finds the result and does nothing (delete ARCH/ to redo).  Needs network access
# to the Debian mirror (FM_DEBIAN_MIRROR, default http://deb.debian.org/debian), dpkg-dev for
# the source path, and the arch's cross compiler for the source path.
set -euo pipefail

usage() {
    echo "usage: tools/cross/sysroot.sh aarch64|armhf|armel|riscv64|mipsel|mips" >&2
    exit 2
}
[ $# -eq 1 ] || usage
arch=$1
case "$arch" in
aarch64) debarch=arm64   triplet=aarch64-linux-gnu   target=linux-aarch64 ;;
armhf)   debarch=armhf   triplet=arm-linux-gnueabihf target=linux-armv4 ;;
armel)   debarch=armel   triplet=arm-linux-gnueabi   target=linux-armv4 ;;
riscv64) debarch=riscv64 triplet=riscv64-linux-gnu   target=linux64-riscv64 ;;
mipsel)  debarch=mipsel  triplet=mipsel-linux-gnu    target=linux-mips32 ;;
mips)    debarch=mips    triplet=mips-linux-gnu      target=linux-mips32 ;;
*) echo "sysroot.sh: unknown arch '$arch'; expected aarch64, armhf, armel, riscv64, mipsel or mips" >&2
   exit 2 ;;
esac

cache=${FM_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flakemeter/cross}
mirror=${FM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${FM_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
suite=${FM_DEBIAN_SUITE:-bookworm}
out=$cache/$arch
mkdir -p "$cache"

# One preparation per arch at a time (several worktrees may share the cache).
exec 9>"$cache/.lock-$arch"
flock 9

if [ -f "$out/pkgconfig/libcrypto.pc" ] && [ -f "$out/cross.ini" ]; then
    echo "sysroot.sh: $arch ready in $out ($(cat "$out/source.txt"))"
    exit 0
fi

# A private apt configuration: its own sources, lists, cache and an empty dpkg status, so
# `apt-get update/download/source` work for any arch without touching the host's apt state.
aptroot=$cache/apt-$debarch
apt_opts=(-o "Dir=$aptroot" -o "Dir::State::status=$aptroot/status"
          -o "Dir::Etc::sourcelist=$aptroot/sources.list" -o "Dir::Etc::sourceparts=-"
          -o "Dir::Etc::Preferences=$aptroot/none" -o "Dir::Etc::PreferencesParts=$aptroot/none"
          -o "Dir::Etc::Parts=$aptroot/none"
          -o "APT::Architecture=$debarch" -o "APT::Architectures::=$debarch"
          -o "Debug::NoLocking=1" -o "APT::Get::AllowUnauthenticated=false"
          -o "Acquire::Languages=none" -q)
# As root, apt would hand downloads to the _apt user, who cannot write into the cache.
[ "$(id -u)" -ne 0 ] || apt_opts+=(-o "APT::Sandbox::User=root")
apt_private() { # apt_private apt-get|apt-cache ARGS...
    local tool=$1
    shift
    mkdir -p "$aptroot/lists/partial" "$aptroot/archives/partial" "$aptroot/none"
    : >"$aptroot/status"
    local key=/usr/share/keyrings/debian-archive-keyring.gpg
    cat >"$aptroot/sources.list" <<EOF
deb [arch=$debarch signed-by=$key] $mirror $suite main
deb [arch=$debarch signed-by=$key] $security $suite-security main
deb-src [signed-by=$key] $mirror $suite main
deb-src [signed-by=$key] $security $suite-security main
EOF
    "$tool" "${apt_opts[@]}" -o "Dir::State::Lists=$aptroot/lists" \
        -o "Dir::Cache::Archives=$aptroot/archives" "$@"
}

write_pc() { # write_pc INCLUDE_DIRS... -- LIBDIR
    local cflags="" libdir
    while [ "$1" != "--" ]; do cflags+=" -I$1"; shift; done
    libdir=$2
    # 32-bit targets: libcrypto's 64-bit atomics are calls into libatomic; the link is static,
    # so they go on Libs (Meson reads Libs.private only for static dependencies).
    local atomic=""
    case "$arch" in armhf | armel | mipsel | mips) atomic=" -latomic" ;; esac
    mkdir -p "$out/pkgconfig"
    cat >"$out/pkgconfig/libcrypto.pc" <<EOF
# Written by tools/cross/sysroot.sh for $arch ($triplet): the target's static libcrypto.
Name: libcrypto
Description: OpenSSL's libcrypto for $triplet (static)
Version: $version
Cflags:$cflags
Libs: $libdir/libcrypto.a$atomic -pthread
EOF
    # Meson reads a cross file's pkg_config_libdir; this one is given after tools/cross/ARCH.ini.
    cat >"$out/cross.ini" <<EOF
# Written by tools/cross/sysroot.sh: the target's libcrypto for $arch.
[binaries]
pkgconfig = 'pkg-config'

[properties]
pkg_config_libdir = '$out/pkgconfig'
EOF
}

from_packages() {
    local tmp=$out.tmp
    rm -rf "$tmp" && mkdir -p "$tmp/debs"
    (cd "$tmp/debs" && apt_private apt-get download "libssl-dev:$debarch" "libssl3:$debarch" >/dev/null)
    for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
    version=$(dpkg-deb -f "$tmp"/debs/libssl-dev_*.deb Version)
    rm -rf "$out" && mv "$tmp" "$out"
    [ -f "$out/root/usr/lib/$triplet/libcrypto.a" ] || {
        echo "sysroot.sh: libssl-dev:$debarch has no libcrypto.a" >&2
        exit 1
    }
    write_pc "$out/root/usr/include/$triplet" "$out/root/usr/include" -- "$out/root/usr/lib/$triplet"
    echo "Debian package libssl-dev:$debarch $version" >"$out/source.txt"
}

from_source() {
    command -v "$triplet-gcc" >/dev/null || {
        echo "sysroot.sh: $triplet-gcc not found (install gcc-$triplet)" >&2
        exit 1
    }
    command -v dpkg-source >/dev/null || {
        echo "sysroot.sh: dpkg-source not found (install dpkg-dev)" >&2
        exit 1
    }
    local src=$cache/openssl-source
    if [ ! -f "$src/done" ]; then
        rm -rf "$src" && mkdir -p "$src"
        # The newest (security) source first; some mirrors carry only the point release's.
        (cd "$src" && { apt_private apt-get source openssl >/dev/null 2>"$src/log" ||
            { rm -f ./*; apt_private apt-get source "openssl/$suite" >/dev/null 2>>"$src/log"; }; }) || {
            cat "$src/log" >&2
            exit 1
        }
        touch "$src/done"
    fi
    local tree
    tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'openssl-*' | head -1)
    version=$(cd "$tree" && dpkg-parsechangelog -S Version)
    local tmp=$out.tmp
    rm -rf "$tmp" && mkdir -p "$tmp/build"
    # Debian's patches are applied by dpkg-source; upstream Configure does the rest.  Only
    # libcrypto.a is made (with the generated headers it needs): libssl, apps, tests, docs,
    # engines and providers as modules are not needed by the workloads.
    (cd "$tmp/build" &&
        "$tree/Configure" "$target" no-shared no-tests no-module no-dso no-engine \
            --cross-compile-prefix="$triplet-" --prefix="$out" --libdir=lib >"$tmp/configure.log" &&
        make -j"$(nproc)" build_generated >"$tmp/make.log" &&
        make -j"$(nproc)" libcrypto.a >>"$tmp/make.log") || {
        tail -20 "$tmp/make.log" "$tmp/configure.log" >&2 2>/dev/null
        exit 1
    }
    mkdir -p "$tmp/lib"
    cp "$tmp/build/libcrypto.a" "$tmp/lib/"
    # Headers: the source tree's and the generated ones (configuration.h, opensslv.h, ...).
    mkdir -p "$tmp/include"
    cp -r "$tree/include/openssl" "$tmp/include/"
    cp "$tmp/build/include/openssl/"*.h "$tmp/include/openssl/"
    rm -rf "$tmp/build" "$out" && mv "$tmp" "$out"
    write_pc "$out/include" -- "$out/lib"
    echo "Debian source openssl $version, built for $target" >"$out/source.txt"
}

start=$(date +%s)
apt_private apt-get update >/dev/null ||
    echo "sysroot.sh: apt-get update reported errors (above); going on with the lists it got" >&2
if apt_private apt-cache show "libssl-dev:$debarch" >/dev/null 2>&1; then
    from_packages
else
    echo "sysroot.sh: Debian $suite has no libssl-dev for $debarch; building libcrypto from source" >&2
    from_source
fi
echo "sysroot.sh: $arch ready in $out ($(cat "$out/source.txt"), $(($(date +%s) - start)) s)"
