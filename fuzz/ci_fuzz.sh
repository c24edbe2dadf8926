#!/usr/bin/env bash
# ci_fuzz.sh HARNESS NAME FUZZ_DIR - one harness's CI run (the meson suite 'fuzz'):
#  1. replay every seed (FUZZ_DIR/corpus/NAME/) and every past crash (FUZZ_DIR/crashes/NAME/)
#     once: a crash fixed once stays fixed;
#  2. fuzz for FM_FUZZ_SECONDS (default 20) from those seeds with the dictionary
#     FUZZ_DIR/dict/NAME.dict; new inputs go to a scratch directory, never into the tree.
# A crash fails the test; the input is left as fuzz-crash-NAME-* in the working directory and
# printed in base64 when small, to be committed under FUZZ_DIR/crashes/NAME/ with the fix.
set -euo pipefail
bin=$1 name=$2 dir=$3
secs=${FM_FUZZ_SECONDS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# libFuzzer's own exit code for a crash or a timeout is 77, which meson reads as "skipped":
# every finding must fail the test, so both are 1.
opts=(-rss_limit_mb=2048 -timeout=10 -close_fd_mask=3 -print_final_stats=1
      -error_exitcode=1 -timeout_exitcode=1
      "-artifact_prefix=$PWD/fuzz-crash-$name-")
[ -f "$dir/dict/$name.dict" ] && opts+=("-dict=$dir/dict/$name.dict")
seeds=()
for d in "$dir/corpus/$name" "$dir/crashes/$name"; do
    [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && seeds+=("$d")
done
report() {
    local rc=$1
    for f in "$PWD"/fuzz-crash-"$name"-*; do
        [ -f "$f" ] || continue
        echo "ci_fuzz: $name: crash input $f" >&2
        [ "$(stat -c %s "$f")" -le 4096 ] && echo "base64: $(base64 -w0 "$f")" >&2
    done
    exit "$rc"
}
echo "== $name: replaying ${seeds[*]:-(no seeds)}"
if [ ${#seeds[@]} -gt 0 ]; then
    "$bin" "${opts[@]}" -runs=0 "${seeds[@]}" || report $?
fi
echo "== $name: fuzzing for $secs s"
nice -n 10 "$bin" "${opts[@]}" -max_total_time="$secs" "$work" "${seeds[@]}" || report $?
