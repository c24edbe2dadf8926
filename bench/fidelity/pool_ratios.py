#!/usr/bin/env python3
"""pool_ratios.py - is a port's placement mismatch systematic?  Pools factors.py runs (issue 18).
Not run in CI.

usage: bench/fidelity/pool_ratios.py --against rv_port=rv_real,arm_port=arm_real
           [--ratios taskset0/base,taskset0+pipe/pipe] RUN.json [RUN.json ...]

For every port=original pair and condition pair A/B, each run (a factors.py --json file) gives
the port's rate ratio A/B divided by the original's: d = log(ratio of ratios), with its Katz
variance (factors.log_ratio).  Prints d per run (as a ratio, with its p, as factors.py --ratios
does), the fixed-effect pooled ratio of ratios (inverse-variance weights) with its 95 %
interval and p, and Cochran's Q with its chi-square p: a small Q p says the runs disagree with
each other beyond chance (the mismatch is not one stable effect), a small pooled p with a large
Q p says the port departs the same way in every run.  A run missing a program or condition is
left out of that line.
"""
import argparse
import json
import os
import sys
from math import erfc, exp, factorial, pi, sqrt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from factors import log_ratio  # noqa: E402


def chi2_sf(x, df):
    """Upper tail of the chi-square distribution, integer df >= 1 (closed forms).  Checked
    against R 4.2.2 pchisq(x, df, lower.tail = FALSE) at (3.84, 1), (5.99, 2), (7.81, 3),
    (9.49, 4), (1, 5), (12, 7): 0.05004352 0.05003663 0.05010606 0.04995313 0.9625658
    0.1005589, equal to the printed digits."""
    if x <= 0:
        return 1.0
    if df % 2 == 0:
        return exp(-x / 2) * sum((x / 2) ** i / factorial(i) for i in range(df // 2))
    s, term = erfc(sqrt(x / 2)), sqrt(2 * x / pi) * exp(-x / 2)
    for i in range(1, (df - 1) // 2 + 1):
        s += term
        term *= x / (2 * i + 1)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--against", required=True, help="PORT=ORIGINAL,...")
    ap.add_argument("--ratios", default="taskset0/base,taskset0+pipe/pipe")
    ap.add_argument("runs", nargs="+", help="factors.py --json files")
    a = ap.parse_args()
    pairs = [x.split("=", 1) for x in a.against.split(",") if "=" in x]
    conds = [r.split("/", 1) for r in a.ratios.split(",") if "/" in r]
    data = []
    for f in a.runs:
        with open(f) as fh:
            data.append((os.path.basename(f), json.load(fh)))
    for port, orig in pairs:
        for ca, cb in conds:
            print(f"{port} against {orig}, {ca} / {cb}:")
            ws = []
            for name, d in data:
                c, n = d["counts"], d["runs"]
                if any(p not in c or ca not in c[p] or cb not in c[p] for p in (port, orig)):
                    continue
                lp, sp = log_ratio(sum(c[port][ca]), n, sum(c[port][cb]), n)
                lo, so = log_ratio(sum(c[orig][ca]), n, sum(c[orig][cb]), n)
                dd, var = lp - lo, sp ** 2 + so ** 2
                ws.append((dd, var))
                print(f"  {name:24s} load {d['load_before'][0]:4.1f}-{d['load_after'][0]:4.1f}, "
                      f"{n}/cell: port {exp(lp):.2f}, original {exp(lo):.2f}, x{exp(dd):.2f} "
                      f"({exp(dd - 1.96 * sqrt(var)):.2f}-{exp(dd + 1.96 * sqrt(var)):.2f}), "
                      f"p = {erfc(abs(dd) / sqrt(var) / sqrt(2)):.2g}")
            if len(ws) < 2:
                continue
            w = [1 / v for _, v in ws]
            pooled = sum(wi * di for wi, (di, _) in zip(w, ws)) / sum(w)
            se = 1 / sqrt(sum(w))
            q = sum(wi * (di - pooled) ** 2 for wi, (di, _) in zip(w, ws))
            print(f"  pooled ({len(ws)} runs): x{exp(pooled):.2f} ({exp(pooled - 1.96 * se):.2f}-"
                  f"{exp(pooled + 1.96 * se):.2f}), p = {erfc(abs(pooled) / se / sqrt(2)):.2g}; "
                  f"Cochran's Q = {q:.2f} on {len(ws) - 1} df, p = {chi2_sf(q, len(ws) - 1):.2g}")


if __name__ == "__main__":
    main()
