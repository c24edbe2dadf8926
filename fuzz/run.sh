#!/usr/bin/env bash
# fuzz/run.sh - fuzz for hours: fuzz/run.sh [-t HOURS] [-j JOBS] [NAME ...]
#
# Builds the harnesses (build-fuzz/: CC=clang, -Dfuzz=true, ASan+UBSan) and runs each NAME (all
# by default: junit ingest time store_open wl_args options) for HOURS (default 4), JOBS at a time
# (default 2), at nice 10.  Each keeps a growing corpus in $FM_FUZZ_WORK/NAME (default
# ~/.cache/flakemeter/fuzz), seeded from fuzz/corpus/NAME and fuzz/crashes/NAME, and writes
# crashes, leaks, timeouts and out-of-memory inputs as $FM_FUZZ_WORK/NAME-crash-* etc.  A crash,
# once fixed, is committed under fuzz/crashes/NAME/ so CI replays it for ever; new corpus entries
# worth keeping can be minimised into fuzz/corpus/NAME with `-merge=1`.  Logs: $FM_FUZZ_WORK/NAME.log.
set -euo pipefail
cd "$(dirname "$0")/.."
hours=4 jobs=2
while getopts "t:j:" o; do
    case $o in
    t) hours=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: fuzz/run.sh [-t HOURS] [-j JOBS] [NAME ...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(junit ingest time store_open wl_args options)
work=${FM_FUZZ_WORK:-$HOME/.cache/flakemeter/fuzz}
mkdir -p "$work"
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        >/dev/null
fi
ninja -C build-fuzz >/dev/null
secs=$(python3 -c "print(int(float('$hours') * 3600))")
one() { # one NAME
    local name=$1 seeds=()
    mkdir -p "$work/$name"
    for d in "fuzz/corpus/$name" "fuzz/crashes/$name"; do
        [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && seeds+=("$d")
    done
    local dict=()
    [ -f "fuzz/dict/$name.dict" ] && dict=("-dict=fuzz/dict/$name.dict")
    nice -n 10 "build-fuzz/fuzz/fuzz_$name" "${dict[@]}" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
        "-artifact_prefix=$work/$name-" "$work/$name" "${seeds[@]}" >"$work/$name.log" 2>&1
    echo "fuzz/run.sh: $name: exit $? (log $work/$name.log)"
}
export -f one
export work secs
echo "fuzz/run.sh: ${names[*]} for $hours h each, $jobs at a time; corpora and crashes in $work"
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}' || true
ls "$work"/*-crash-* "$work"/*-leak-* "$work"/*-timeout-* "$work"/*-oom-* 2>/dev/null ||
    echo "fuzz/run.sh: no crashes"
