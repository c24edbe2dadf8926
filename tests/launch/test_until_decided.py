#!/usr/bin/env python3
"""--until-decided stays within alpha with many runs in flight and slow failures.

The audit's repro (issue 12): p = 0.3, target 0.2, so the right count is 2 (0.3^1 > 0.2 >=
0.3^2); failures take far longer than passes, and 16 run at once.  A decision on the finished
runs alone saw mostly passes (the failures were still running) and decided 1 in 19 of 20
campaigns.  Here the calibration workload `slow_fail p=0.3 fail_ms=150` gives exactly that law
(outcomes fixed by the seed, each failure sleeping 150 ms, passes instant) at -j 16, over 40
campaigns with seeds 1..40.

A decision is right when it reports 2, or 3 when it stopped between two neighbouring counts
(`decided_indifferent`: the larger is reported, the safe side); anything else, above all 1, is
wrong.  Judgement: a correct rule decides wrongly with probability at most alpha = 0.05 per campaign,
so the number of wrong decisions is at most Binomial(40, 0.05), and P(Bin(40, 0.05) >= 12) =
3.65e-7 (exact, fractions.Fraction): the test fails at 12 or more wrong decisions, so a correct
implementation fails it with probability below 1e-6.  The old rule fails it (about 36 of 40
wrong).  A campaign that does not decide within its 3000-run cap is not wrong (the cap is the
documented fallback) and is reported.

Usage: test_until_decided.py FLAKEMETER_EXE
"""
import json
import os
import subprocess
import sys
import tempfile

CAMPAIGNS, JOBS, MAX_WRONG = 40, 16, 11


def main():
    exe = sys.argv[1]
    wrong, undecided, runs = 0, 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, CAMPAIGNS + 1):
            db = os.path.join(tmp, f"c{seed}.db")
            r = subprocess.run([exe, "run", "--db", db, "--until-decided", "--target", "0.2",
                                "-j", str(JOBS), "-n", "3000", "--seed", str(seed), "--json",
                                "slow_fail", "p=0.3", "fail_ms=150"],
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                print(f"seed {seed}: exit {r.returncode}: {r.stderr.strip()}")
                return 1
            v = json.loads(r.stdout)
            if not v.get("decided"):
                undecided += 1
                continue
            runs.append(v["runs"])
            got, indifferent = v.get("decided_attempts"), v.get("decided_indifferent")
            # Right: 2, or 3 when it stopped between two neighbouring counts (the safe side).
            if not (got == 2 or (got == 3 and indifferent)):
                wrong += 1
                print(f"seed {seed}: decided {v.get('decided_attempts')} after {v['runs']} runs")
    runs.sort()
    median = runs[len(runs) // 2] if runs else None
    print(f"{CAMPAIGNS} campaigns at -j {JOBS}: {wrong} wrong, {undecided} undecided at the cap, "
          f"median {median} runs to decide (fails at {MAX_WRONG + 1} wrong)")
    return 1 if wrong > MAX_WRONG else 0


if __name__ == "__main__":
    sys.exit(main())
