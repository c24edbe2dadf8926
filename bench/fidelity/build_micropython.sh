#!/bin/sh
# build_micropython.sh - build MicroPython's unix port (standard and coverage variants) from a
# snapshot of github:micropython/micropython, for the fidelity benchmarks (not run in CI: it
# needs the snapshot, which CI has no network to fetch).  Nothing fetched is committed.
#
#   bench/fidelity/build_micropython.sh GIT_DIR [OUT_DIR]
#
# With ARCH=aarch64 (or riscv64, armhf) in the environment, also static cross builds of both
# variants for qemu-ARCH (build-ARCH-standard/, build-ARCH-coverage/; the cross compilers from
# Debian's gcc-ARCH-linux-gnu and g++-ARCH-linux-gnu packages: the coverage
# variant has C++); the native builds come first in every case.
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
commit=$(git --git-dir "$git_dir" rev-parse HEAD)
if [ ! -f "$src/.commit" ] || [ "$(cat "$src/.commit")" != "$commit" ]; then
    rm -rf "$src"
    mkdir -p "$src"
    git --git-dir "$git_dir" archive HEAD | tar -x -C "$src"
    echo "$commit" > "$src/.commit"
fi
jobs=${JOBS:-2}
flags="FROZEN_MANIFEST= MICROPY_PY_BTREE=0 MICROPY_PY_FFI=0 MICROPY_PY_SSL=0 MICROPY_SSL_AXTLS=0 MICROPY_SSL_MBEDTLS=0 MICROPY_PY_USSL=0"
make -s -C "$src/mpy-cross" -j "$jobs" >&2
# shellcheck disable=SC2086
make -s -C "$src/ports/unix" -j "$jobs" VARIANT=standard $flags >&2
# shellcheck disable=SC2086
make -s -C "$src/ports/unix" -j "$jobs" VARIANT=coverage $flags >&2
for arch in ${ARCH:-}; do
    case "$arch" in
    aarch64) cc=aarch64-linux-gnu- ;;
    riscv64) cc=riscv64-linux-gnu- ;;
    armhf) cc=arm-linux-gnueabihf- ;;
    *) echo "ARCH: $arch is not aarch64, riscv64 or armhf" >&2; exit 2 ;;
    esac
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
