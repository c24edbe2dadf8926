#!/bin/sh
# tools/fault_loops.sh [BUILD] [fault_loops.py options]: the fault loops of tests/faults for
# longer, by hand (docs/reliability.md, "Fault loops").  CI's test 'fault loops' tries a sample
# of N per scenario and fault site; this tries every N, transient and persistent faults, and
# writes the figures (JSON and the Markdown table of docs/reliability.md) into BUILD/faults/.
# Extra options go to tests/faults/fault_loops.py: --only NAME, --site SITE, --keep-failed DIR
# (each failing case's folder with a REPRO line).  A plain build (no sanitizer) is needed: the
# shim interposes malloc.  Takes about an hour on 2 cores.
set -eu
cd "$(dirname "$0")/.."
build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$1
    shift
fi
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" cli/flakemeter tests/faults/libfm_faultshim.so >/dev/null
mkdir -p "$build/faults"
exec python3 tests/faults/fault_loops.py "$build/cli/flakemeter" \
    "$build/tests/faults/libfm_faultshim.so" tests/history/fixtures --every --persist \
    --table "$build/faults/figures.json" --markdown "$build/faults/figures.md" "$@"
