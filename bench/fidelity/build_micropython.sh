#!/bin/sh
# build_micropython.sh - build MicroPython's unix port (standard and coverage variants) from a
# snapshot of github:micropython/micropython, for the fidelity benchmarks (not run in CI: it
# needs the snapshot, which CI has no network to fetch).  Nothing fetched is committed.
#
#   bench/fidelity/build_micropython.sh GIT_DIR [OUT_DIR]
#
# With ARCH="aarch64 riscv64 armhf" (any of the three, space-separated) in the environment, also
# static cross builds of both variants for qemu-ARCH (build-ARCH-standard/,
# build-ARCH-coverage/); the native builds come first in every case.  Static, because a dynamic
# target binary under `qemu-ARCH -L SYSROOT` can hang in pthread_create.  The cross compilers
# are Debian's (the coverage variant has C++, so g++ too):
#   aarch64: gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
#   riscv64: gcc-riscv64-linux-gnu g++-riscv64-linux-gnu libc6-dev-riscv64-cross
#   armhf:   gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf libc6-dev-armhf-cross
# An unknown arch is refused (exit 2) and a missing compiler named with its packages (exit 1)
# before anything is built.  JOBS (default 2) is make's -j.
#
# GIT_DIR: a bare clone or mirror of micropython (e.g. the fetch tool's
# /work/.mirror/micropython+micropython/repo); its HEAD is exported with `git archive` into
# OUT_DIR/src (default /tmp/fm-fidelity) and built there.  The snapshot has no submodules, so
# everything that needs one is switched off (btree, ffi, ssl, frozen modules from
# micropython-lib); the thread tests need none of it.
# Prints the paths of the two binaries and the commit.  Needs make, gcc, pkg-config.
set -eu
git_dir=${1:?usage: build_micropython.sh GIT_DIR [OUT_DIR]}
out=${2:-/tmp/fm-fidelity}
src=$out/src
jobs=${JOBS:-2}
case "$jobs" in
'' | *[!0-9]* | 0)
    echo "build_micropython.sh: JOBS must be a positive integer, not '$jobs'" >&2
    exit 2
    ;;
esac
# The cross prefix of an arch, or nothing for an unknown one.
prefix() {
    case "$1" in
    aarch64) echo aarch64-linux-gnu- ;;
    riscv64) echo riscv64-linux-gnu- ;;
    armhf) echo arm-linux-gnueabihf- ;;
    esac
}
for arch in ${ARCH:-}; do
    cc=$(prefix "$arch")
    if [ -z "$cc" ]; then
        echo "build_micropython.sh: ARCH: $arch is not aarch64, riscv64 or armhf" >&2
        exit 2
    fi
    libc=$arch
    [ "$arch" = aarch64 ] && libc=arm64
    for tool in gcc g++; do
        if ! command -v "$cc$tool" >/dev/null; then
            echo "build_micropython.sh: $cc$tool not found: apt-get install" \
                "--no-install-recommends gcc-${cc%-} g++-${cc%-} libc6-dev-$libc-cross" >&2
            exit 1
        fi
    done
done
commit=$(git --git-dir "$git_dir" rev-parse HEAD)
if [ ! -f "$src/.commit" ] || [ "$(cat "$src/.commit")" != "$commit" ]; then
    rm -rf "$src"
    mkdir -p "$src"
    git --git-dir "$git_dir" archive HEAD | tar -x -C "$src"
    echo "$commit" > "$src/.commit"
fi
flags="FROZEN_MANIFEST= MICROPY_PY_BTREE=0 MICROPY_PY_FFI=0 MICROPY_PY_SSL=0 MICROPY_SSL_AXTLS=0 MICROPY_SSL_MBEDTLS=0 MICROPY_PY_USSL=0"
make -s -C "$src/mpy-cross" -j "$jobs" >&2
# shellcheck disable=SC2086
make -s -C "$src/ports/unix" -j "$jobs" VARIANT=standard $flags >&2
# shellcheck disable=SC2086
make -s -C "$src/ports/unix" -j "$jobs" VARIANT=coverage $flags >&2
for arch in ${ARCH:-}; do
    cc=$(prefix "$arch")
    for v in standard coverage; do
        # shellcheck disable=SC2086
        make -s -C "$src/ports/unix" -j "$jobs" VARIANT=$v BUILD=build-$arch-$v \
            CROSS_COMPILE=$cc LDFLAGS_EXTRA=-static $flags >&2
        echo "$arch-$v $src/ports/unix/build-$arch-$v/micropython"
    done
done
echo "commit $commit"
echo "standard $src/ports/unix/build-standard/micropython"
echo "coverage $src/ports/unix/build-coverage/micropython"
