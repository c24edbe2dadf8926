#!/usr/bin/env bash
# quickstart.sh - set up flakemeter on a fresh Debian machine and run it.
#
#   tools/quickstart.sh run    install what is missing, build, run the main job
#   tools/quickstart.sh test   install what is missing, build with -Werror, run the whole suite:
#                              plain build, AddressSanitizer+UBSan build, ThreadSanitizer build
#                              (workloads; declared races excluded), and the libFuzzer harnesses
#                              (build-fuzz/, clang: each replays its corpus and past crashes, then
#                              fuzzes 20 s); ends "N passed, N failed".
#                              Also builds the static cross fm-stress for aarch64 and riscv64
#                              (build-cross-ARCH/) for the `bench emu` test under QEMU.
#
# Installing needs root or sudo (apt-get); everything else runs as you.  Build folders:
# build/ (run), build-ci/, build-asan/, build-tsan/, build-fuzz/, build-cross-aarch64/,
# build-cross-riscv64/ (test); the target libcrypto cache of tools/cross/sysroot.sh in ~/.cache/flakemeter/cross.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(meson ninja-build pkg-config gcc libc6-dev python3 libgsl-dev libssl-dev
          libsqlite3-dev libjansson-dev libxml2-dev gnuplot-nox libpq-dev)
# `test` also starts a single-node Slurm for the `--shard auto` job-array test (tests/launch/test_slurm.py),
# and parses the fleet recipes of docs/scale/ (python3-yaml).
SCALE_PACKAGES=(slurm-wlm iproute2 util-linux python3-yaml)
# `test` also runs `flakemeter stress` on small real projects of pytest, CTest, GoogleTest and Go
# (tests/launch/test_stress.py).
SUITE_PACKAGES=(python3-pytest cmake g++ libgtest-dev golang-go)
# `test` also loads `budget --format pytest`'s conftest into pytest with pytest-rerunfailures, and
# runs `budget --format ctest`'s ctest calls (cmake) (tests/history/test_formats_cli.py).
FORMAT_PACKAGES=(python3-pytest python3-pytest-rerunfailures cmake)
# `test` also runs the PostgreSQL shared store against a real server that the test starts as
# an unprivileged cluster (tests/pg/, docs/scale.md): the server binaries and psql/createdb.
PG_PACKAGES=(postgresql)
# `test` also runs `flakemeter bench emu` under QEMU user mode for aarch64 and riscv64: their
# cross toolchains, C libraries and the emulators (tools/cross/README.md lists the other arches).
CROSS_PACKAGES=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-riscv64-linux-gnu
                libc6-dev-riscv64-cross qemu-user)
CROSS_ARCHES=(aarch64 riscv64)
# `test` also builds the libFuzzer harnesses (fuzz/README.md): clang, and Debian 12's clang-14
# keeps libFuzzer (libclang_rt.fuzzer) in libclang-rt-14-dev.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# `test` also checks `flakemeter report` in a real browser (headless chromium driven by Debian's
# python3-selenium through chromium-driver) and its Markdown through python3-markdown-it.
REPORT_PACKAGES=(chromium chromium-driver python3-selenium python3-markdown-it fonts-dejavu-core)

install_missing() { # install_missing PACKAGE...
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "quickstart: installing ${missing[*]}" >&2
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# configure DIR [meson options...]: set up once, reconfigure when options change.
configure() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null
}

# Count the results of one `meson test` run from its JSON log (one object per line).
tally() {
    python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, os, sys
counts = {"pass": 0, "fail": 0, "skip": 0}
lines = open(sys.argv[1]) if os.path.exists(sys.argv[1]) else []
for line in lines:
    r = json.loads(line)["result"]
    counts["pass" if r in ("OK", "EXPECTEDFAIL") else "skip" if r == "SKIP" else "fail"] += 1
print(counts["pass"], counts["fail"], counts["skip"])
PY
}

# run_suite DIR [meson test options...]: run, accumulate, never stop at the first failure.
passed=0 failed=0 skipped=0
run_suite() {
    local dir=$1
    shift
    echo "== meson test -C $dir $*"
    rm -f "$dir/meson-logs/testlog.json"
    meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || true
    read -r p f s < <(tally "$dir")
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

case "${1:-}" in
run)
    install_missing "${PACKAGES[@]}"
    configure build
    # The main job: measure MicroPython's stress_recurse race as ported (publish=late: the
    # thread may read its stack limit before the margin is subtracted), 200 runs in parallel,
    # and derive the retry count.  A fresh store each time, so the output is this run's.
    rm -f build/quickstart.db
    build/cli/flakemeter run --db build/quickstart.db -n 200 stress_recurse publish=late
    ;;
test)
    install_missing "${PACKAGES[@]}" "${CROSS_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}" "${SCALE_PACKAGES[@]}" \
        "${SUITE_PACKAGES[@]}" "${REPORT_PACKAGES[@]}" "${FORMAT_PACKAGES[@]}" \
        "${PG_PACKAGES[@]}"
    # The static cross fm-stress that `bench emu` runs under qemu-ARCH (the test 'bench emu'
    # fails rather than skips without it: FM_REQUIRE_CROSS).  aarch64 also gets Debian's
    # libcrypto for its stress_aes impl=openssl (a few MB from the mirror; without it, the
    # portable AES only); riscv64's would be built from source (~1 min), so it stays portable.
    tools/cross/sysroot.sh aarch64 >/dev/null ||
        echo "quickstart: no libcrypto for aarch64; its stress_aes is the portable AES only" >&2
    for arch in "${CROSS_ARCHES[@]}"; do
        tools/cross/build.sh "$arch" >/dev/null
    done
    export FM_REQUIRE_CROSS=1
    configure build-ci -Dwerror=true
    run_suite build-ci
    configure build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_suite build-asan
    if [ -f tests/workloads/meson.build ]; then
        configure build-tsan -Dwerror=true -Db_sanitize=thread -Db_lundef=false
        TSAN_OPTIONS=halt_on_error=1 run_suite build-tsan --suite workloads --suite pg --no-suite races
    fi
    # The fuzz harnesses, one test each (~70 s on 2 cores: 6 harnesses x 20 s, 2 at a time).
    CC=clang configure build-fuzz -Dwerror=true -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false
    FM_FUZZ_SECONDS=20 run_suite build-fuzz --suite fuzz
    if [ "$skipped" -gt 0 ]; then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    [ "$failed" -eq 0 ]
    ;;
*)
    echo "usage: tools/quickstart.sh run|test" >&2
    exit 2
    ;;
esac
