#!/usr/bin/python3
"""Reference values for the suite retry budget (flakemeter budget), independent of the C code.

Run with Debian's interpreter:  cd tests/reference && /usr/bin/python3 gen_budget.py
(writes extra_py.csv and budget_py.csv).  Produced with Python 3.11.2 (Debian bookworm); only the
standard library: every value is exact rational arithmetic (fractions.Fraction) on the decimal
strings written to the tables.

extra_py.csv - expected seconds that allowing A attempts adds to a CI run, over one attempt.
    Not from the closed form flakemeter uses: every outcome vector in {fail, pass}^A is
    enumerated with its probability (the first attempt fails with p1, every later one with q,
    as a Markov chain would behave while it keeps failing); the attempts that run are those up
    to the first pass, each lasting fail_s or pass_s, and the extra time is the total minus the
    first attempt's duration.
budget_py.csv - least-cost plans by brute force: every combination of attempt counts 1..cap
    for every test of small suites (seeded random ones from random.Random(20261122) and a few
    chosen by hand), red rate 1 - prod(1 - p1 q^(a-1)) exactly; the plan with the least total
    extra seconds among those with red rate <= target (ties: the lower red rate).  One row per
    test; suite-level columns repeat.  Infeasible suites have cost = -1 and the plan of least
    red rate:
    every test at its least all-fail probability (the cheapest count among ties).
"""
import csv
import itertools
import random
import sys
from fractions import Fraction as F

VERSION = f"Python {sys.version.split()[0]} fractions (exact)"


def extra_seconds(p1, q, attempts, pass_s, fail_s):
    total = F(0)
    for outcome in itertools.product((True, False), repeat=attempts):  # True = fails
        prob = F(1)
        for j, fails in enumerate(outcome):
            f = p1 if j == 0 else q
            prob *= f if fails else 1 - f
        time = F(0)
        for j, fails in enumerate(outcome):
            if j > 0:
                time += fail_s if fails else pass_s
            if not fails:
                break
        total += prob * time
    return total


def dec(x):
    return F(x)


EXTRA_CASES = [
    ("0.1", "0.1", 1, "90", "120"), ("0.1", "0.1", 2, "90", "120"), ("0.1", "0.1", 6, "90", "120"),
    ("0.35", "0.35", 3, "40", "600"), ("0.35", "0.9", 3, "40", "600"), ("0.02", "0.9", 12, "1.5", "30"),
    ("0.5", "0", 4, "2", "3"), ("0.5", "1", 4, "2", "3"), ("1", "1", 5, "0.25", "10"),
    ("0", "0.5", 5, "1", "1"), ("0.001", "0.001", 3, "0.004", "0.5"), ("0.179", "0.4", 10, "60", "180"),
    ("0.07", "0.07", 8, "0", "300"), ("0.3", "0.6", 7, "12.5", "0"),
]


def write_extra():
    with open("extra_py.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["p1", "q", "attempts", "pass_s", "fail_s", "extra_seconds", "source"])
        for p1, q, a, ps, fs in EXTRA_CASES:
            e = extra_seconds(dec(p1), dec(q), a, dec(ps), dec(fs))
            w.writerow([p1, q, a, ps, fs, f"{float(e):.17g}", VERSION + " enumeration"])


def all_fail(p1, q, a):
    return p1 * q ** (a - 1)


def brute_force(tests, target, cap):
    best = None
    extras = [[extra_seconds_closed(t, a) for a in range(1, cap + 1)] for t in tests]
    for plan in itertools.product(range(1, cap + 1), repeat=len(tests)):
        keep = F(1)
        for t, a in zip(tests, plan):
            keep *= 1 - all_fail(t[0], t[1], a)
        red = 1 - keep
        cost = sum(extras[i][a - 1] for i, a in enumerate(plan))
        key = (cost, red)
        if red <= target and (best is None or key < best[0]):
            best = (key, plan)
    if best is None:
        # no plan meets the target: every test at its least all-fail probability (the
        # cheapest count among ties), which is what the red rate is least at
        plan = [min(range(1, cap + 1), key=lambda a: (all_fail(t[0], t[1], a), extras[i][a - 1], a))
                for i, t in enumerate(tests)]
        keep = F(1)
        for t, a in zip(tests, plan):
            keep *= 1 - all_fail(t[0], t[1], a)
        return -1, 1 - keep, tuple(plan)
    return best[0][0], best[0][1], best[1]


def extra_seconds_closed(t, a):
    # sum over attempts j >= 2 of P(reach j) (q fail + (1 - q) pass), in Fractions; the
    # enumeration above checks this on EXTRA_CASES (asserted in main)
    p1, q, ps, fs = t
    return sum(p1 * q ** (j - 2) for j in range(2, a + 1)) * (q * fs + (1 - q) * ps)


def random_suites(rng, count):
    suites = []
    for s in range(count):
        n = rng.randint(2, 5)
        tests = []
        for _ in range(n):
            p1 = f"{rng.choice([0.0005, 0.003, 0.01, 0.03, 0.1, 0.2, 0.4]) * rng.uniform(0.5, 1.5):.6f}"
            q = p1 if rng.random() < 0.5 else f"{rng.uniform(0.05, 0.8):.6f}"
            ps = f"{rng.uniform(0.5, 120):.3f}"
            fs = f"{float(ps) * rng.uniform(0.5, 3):.3f}" if rng.random() < 0.7 else "600"
            tests.append((p1, q, ps, fs))
        target = rng.choice(["0.01", "0.001", "0.05", "0.2"])
        suites.append((tests, target, rng.randint(4, 6)))
    return suites


HAND = [
    # MicroPython-like: a timeout-prone test, a crashy one, two rare ones
    ([("0.35", "0.35", "40", "600"), ("0.055", "0.4", "0.5", "0.6"), ("0.002", "0.002", "3", "3"),
      ("0.004", "0.004", "10", "12")], "0.01", 6),
    # a test that always fails: infeasible
    ([("1", "1", "1", "1"), ("0.1", "0.1", "1", "1")], "0.01", 4),
    # nothing to do: the target already holds at one attempt each
    ([("0.001", "0.001", "5", "5"), ("0.002", "0.002", "5", "5")], "0.01", 4),
]


def write_budget():
    rng = random.Random(20261122)
    suites = HAND + random_suites(rng, 30)
    with open("budget_py.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["suite", "target", "cap", "p1", "q", "pass_s", "fail_s", "attempts",
                    "suite_cost", "suite_red", "source"])
        for s, (tests, target, cap) in enumerate(suites):
            exact = [(dec(p1), dec(q), dec(ps), dec(fs)) for p1, q, ps, fs in tests]
            cost, red, plan = brute_force(exact, dec(target), cap)
            for (p1, q, ps, fs), a in zip(tests, plan):
                w.writerow([s, target, cap, p1, q, ps, fs, a, f"{float(cost):.17g}",
                            f"{float(red):.17g}", VERSION + " brute force"])


def main():
    for p1, q, a, ps, fs in EXTRA_CASES:
        t = (dec(p1), dec(q), dec(ps), dec(fs))
        assert extra_seconds(dec(p1), dec(q), a, dec(ps), dec(fs)) == extra_seconds_closed(t, a)
    write_extra()
    write_budget()


if __name__ == "__main__":
    main()
