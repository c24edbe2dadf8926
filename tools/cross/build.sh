#!/usr/bin/env bash
# build.sh [--openssl] ARCH [BUILDDIR] - the static cross build of fm-stress that
# `flakemeter bench emu` runs under qemu-ARCH.
#
#   tools/cross/build.sh aarch64            -> build-cross-aarch64/workloads/fm-stress
#   tools/cross/build.sh --openssl riscv64  -> first tools/cross/sysroot.sh riscv64
#
# BUILDDIR defaults to build-cross-ARCH at the top of the source tree, which is where
# `flakemeter bench emu` and `run --emulator` look (--cross-dir / FM_CROSS_DIR).  The build uses
# tools/cross/ARCH.ini and, when tools/cross/sysroot.sh has prepared the target's libcrypto in
# its cache, the cross file it wrote there (then stress_aes has impl=openssl too); without it
# the portable AES only, and the last line says which.  A missing cross compiler is one line
# naming the Debian packages to install, exit status 1.
set -euo pipefail
cd "$(dirname "$0")/../.."

openssl=0
if [ "${1:-}" = "--openssl" ]; then
    openssl=1
    shift
fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: tools/cross/build.sh [--openssl] aarch64|armhf|armel|riscv64|mipsel|mips [BUILDDIR]" >&2
    exit 2
fi
arch=$1
dir=${2:-build-cross-$arch}
case "$arch" in
aarch64) gcc=aarch64-linux-gnu-gcc   pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
armhf)   gcc=arm-linux-gnueabihf-gcc pkgs="gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
armel)   gcc=arm-linux-gnueabi-gcc   pkgs="gcc-arm-linux-gnueabi libc6-dev-armel-cross" ;;
riscv64) gcc=riscv64-linux-gnu-gcc   pkgs="gcc-riscv64-linux-gnu libc6-dev-riscv64-cross" ;;
mipsel)  gcc=mipsel-linux-gnu-gcc    pkgs="gcc-mipsel-linux-gnu libc6-dev-mipsel-cross" ;;
mips)    gcc=mips-linux-gnu-gcc      pkgs="gcc-mips-linux-gnu libc6-dev-mips-cross" ;;
*) echo "build.sh: unknown arch '$arch'; expected aarch64, armhf, armel, riscv64, mipsel or mips" >&2
   exit 2 ;;
esac
if ! command -v "$gcc" >/dev/null; then
    echo "build.sh: $gcc not found: apt-get install $pkgs" >&2
    exit 1
fi

if [ "$openssl" -eq 1 ]; then
    tools/cross/sysroot.sh "$arch"
fi
cache=${FM_CROSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flakemeter/cross}
cross=(--cross-file "tools/cross/$arch.ini")
if [ -f "$cache/$arch/cross.ini" ]; then
    cross+=(--cross-file "$cache/$arch/cross.ini")
fi

# Cross files cannot change on reconfiguration: set up again when they differ from last time.
stamp="${cross[*]}"
if [ -f "$dir/build.ninja" ] && [ "$(cat "$dir/.fm-cross-files" 2>/dev/null)" = "$stamp" ]; then
    :
else
    rm -rf "$dir"
    meson setup "$dir" "${cross[@]}" -Dworkloads_only=true -Dwerror=true >"${TMPDIR:-/tmp}/fm-cross-$arch.log" || {
        tail -20 "${TMPDIR:-/tmp}/fm-cross-$arch.log" >&2
        exit 1
    }
    echo "$stamp" >"$dir/.fm-cross-files"
fi
ninja -C "$dir" workloads/fm-stress >"${TMPDIR:-/tmp}/fm-cross-$arch.log" 2>&1 || {
    grep -v "warning: Using '" "${TMPDIR:-/tmp}/fm-cross-$arch.log" | tail -20 >&2
    exit 1
}
aes=$(grep -h "AES for stress_aes" "$dir/meson-logs/meson-log.txt" | tail -1 | sed 's/^ *//; s/ *: /: /')
echo "build.sh: $dir/workloads/fm-stress ($arch; ${aes:-AES: see meson summary})"
