#!/bin/sh
# stress_alloc.sh - adaptive allocation of `flakemeter stress --until-decided` against a uniform
# allocation to the same decisions (issue 15).  A suite of built-in Bernoulli tests (fm-stress
# bernoulli p=P through the generic adapter), one run of each mode per seed; runs are counted,
# not timed, so the load does not matter.  Prints one line per seed and mode: total runs and
# every test's runs and decided attempt count.
#
#   bench/stress_alloc.sh [BUILD] [SEEDS]      (default: build, "1 2 3")
set -eu
build=${1:-build}
seeds=${2:-1 2 3}
fm=$build/cli/flakemeter
stress=$(realpath "$build/workloads/fm-stress")
ps="0.4 0.2 0.1 0.05 0.02 0.005 0"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "suite: bernoulli p in {$ps}; --until-decided --target 1e-4, 95%, --batch 50, -j 2"
for seed in $seeds; do
    for mode in adaptive uniform; do
        extra=""
        [ "$mode" = uniform ] && extra=--uniform
        "$fm" stress --db "$tmp/$mode-$seed.db" --label "s$seed" --seed "$seed" -j 2 \
            --until-decided --target 1e-4 --batch 50 --json $extra \
            --list-command "printf '%s\n' $ps" --each "$stress bernoulli p={}" \
            >"$tmp/$mode-$seed.json"
        /usr/bin/python3 - "$tmp/$mode-$seed.json" "$seed" "$mode" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
tests = " ".join("p=%s:%d->%s" % (t["id"], t["runs"], t["attempts"]) for t in o["tests"])
print("seed %s %-8s runs %7d  %s" % (sys.argv[2], sys.argv[3], o["runs"], tests))
PY
    done
done
