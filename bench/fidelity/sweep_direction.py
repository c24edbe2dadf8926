#!/usr/bin/env python3
"""sweep_direction.py - does `flakemeter sweep --vary cpus=1,2` find the direction shell loops
find?  (issue 18; not run in CI)

usage: bench/fidelity/sweep_direction.py --flakemeter FM -- COMMAND [ARG ...]
           [--runs N] [--blocks B] [--seed S] [--jobs J]

Three phases, so drift lands on both methods alike: shell loops, the sweep, shell loops again.
The shell loops run COMMAND one at a time in randomised blocks of pinned (`taskset -c 0`) and
unpinned runs, output into a pipe that is drained (as flakemeter captures), N/2 runs per
condition in each loop phase.  The sweep is `flakemeter sweep -n N --rounds B --seed S -j J
--vary cpus=1,2 -- COMMAND` (randomised blocks; -j lowered to 1 for cpus=1 unless the build
predates that).  Prints both tables, the shell loops' pooled exact test, the sweep's within-block
test and trend, and whether their conclusions (a direction at alpha = 0.05, or none) agree;
the load average before and after.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from math import comb


def fisher(a, n1, c, n2):
    """Two-sided Fisher exact p for a/n1 against c/n2 (sum of tables no more likely)."""
    f = a + c
    n = n1 + n2
    lo, hi = max(0, f - n2), min(f, n1)
    den = comb(n, f)
    pr = {x: comb(n1, x) * comb(n2, f - x) / den for x in range(lo, hi + 1)}
    obs = pr[a] * (1 + 1e-7)
    return min(1.0, sum(p for p in pr.values() if p <= obs))


def loop_block(cmd, pinned, m):
    argv = ([shutil.which("taskset"), "-c", "0"] if pinned else []) + cmd
    fails = 0
    for _ in range(m):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        fails += r.returncode != 0
    return fails


def loops(cmd, runs, blocks, rng, counts):
    m = max(1, runs // blocks)
    for _ in range(blocks):
        order = [True, False]
        rng.shuffle(order)
        for pinned in order:
            counts[pinned][0] += loop_block(cmd, pinned, m)
            counts[pinned][1] += m


def main():
    if "--" not in sys.argv:
        sys.exit("usage: sweep_direction.py --flakemeter FM [options] -- COMMAND [ARG ...]")
    i = sys.argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--flakemeter", required=True)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--blocks", type=int, default=10)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args(sys.argv[1:i])
    cmd = sys.argv[i + 1:]
    rng = random.Random(a.seed)
    load0 = os.getloadavg()[0]
    counts = {True: [0, 0], False: [0, 0]}
    t0 = time.monotonic()
    loops(cmd, a.runs // 2, a.blocks // 2 or 1, rng, counts)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([a.flakemeter, "sweep", "--db", os.path.join(tmp, "s.db"), "-n",
                            str(a.runs), "--rounds", str(a.blocks), "--seed", str(a.seed), "-j",
                            str(a.jobs), "--quiet", "--json", "--vary", "cpus=1,2", "--", *cmd],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    loops(cmd, a.runs // 2, a.blocks // 2 or 1, rng, counts)
    load1 = os.getloadavg()[0]
    if r.returncode != 0:
        sys.exit(f"sweep failed: {r.stderr.strip()}")
    o = json.loads(r.stdout)
    if r.stderr.strip():
        print(f"sweep said: {r.stderr.strip()}")
    c = {e["cpus"]: e for e in o["conditions"]}
    (kp, np_), (ku, nu) = counts[True], counts[False]
    p_loop = fisher(kp, np_, ku, nu)
    loop_dir = ("no difference detected" if p_loop >= 0.05 else
                "pinned fails less" if kp / np_ < ku / nu else "pinned fails more")
    sw_one, sw_two = c[1], c[2]
    sw_p = o.get("stratified_p", o.get("homogeneity_p"))
    sw_dir = ("no difference detected" if sw_p >= 0.05 else
              "pinned fails less" if sw_one["failures"] / sw_one["runs"] <
              sw_two["failures"] / sw_two["runs"] else "pinned fails more")
    print(f"command: {' '.join(cmd)}; load average {load0:.1f} before, {load1:.1f} after; "
          f"{time.monotonic() - t0:.0f} s")
    print(f"  shell loops (pipe, one at a time): taskset -c 0 {kp}/{np_} "
          f"({100 * kp / np_:.1f}%), unpinned {ku}/{nu} ({100 * ku / nu:.1f}%), "
          f"Fisher p = {p_loop:.3g}: {loop_dir}")
    print(f"  sweep -j {a.jobs} --vary cpus=1,2 ({o.get('blocks', '?')} blocks; jobs "
          f"{sw_one.get('jobs', '?')} and {sw_two.get('jobs', '?')}): cpus=1 "
          f"{sw_one['failures']}/{sw_one['runs']}, cpus=2 {sw_two['failures']}/{sw_two['runs']}, "
          f"within blocks p = {o.get('stratified_p', o.get('homogeneity_p')):.3g}, trend z = "
          f"{o.get('stratified_trend_z') or o.get('trend_z') or 0:.3g}; pooled p = "
          f"{o['homogeneity_p']:.3g}; drift p = {o.get('drift_p')}: {sw_dir}")
    print(f"  conclusions {'agree' if loop_dir == sw_dir else 'DISAGREE'} (at alpha = 0.05)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"loops": {"pinned": counts[True], "unpinned": counts[False]},
                       "sweep": o, "load": [load0, load1]}, f, indent=1)


if __name__ == "__main__":
    main()
