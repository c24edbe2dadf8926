#!/usr/bin/python3
"""Reference values from Python, independent of flakemeter's C code.

Run with Debian's interpreter (it sees Debian's statsmodels/scipy):
    /usr/bin/python3 gen_normal_attempts.py      # writes intervals_py.csv, attempts_py.csv
Produced with Python 3.11.2, statsmodels 0.13.5, scipy 1.10.1, numpy 1.24.2 (Debian bookworm).

intervals_py.csv - wilson, agresti-coull and wald intervals.
    statsmodels.stats.proportion.proportion_confint(k, n, alpha, method) with
    method = wilson | agresti_coull | normal and alpha = 1 - c (two-sided) or 2 (1 - c) (its
    upper bound is then the one-sided upper bound at level c, z = Phi^-1(c)).  Where
    statsmodels' own subtraction loses digits (small k, huge n) the same formula is evaluated
    in 60-digit decimal arithmetic from the same z (scipy.stats.norm.isf); the source column
    says which.  Bounds are clipped to [0, 1] (statsmodels clips agresti_coull and normal).
attempts_py.csv - attempt counts, decided in exact rational arithmetic (fractions.Fraction)
    from the decimal strings a user types, so ties such as 0.1^6 = 1e-6 are exact:
    independent  smallest A with p^A <= t;   correlated  p1 q^(A-1) <= t;
    bayes        smallest A with prod_{i<A} (alpha+i)/(alpha+beta+i) <= t, alpha = k + a,
                 beta = n - k + b (a = b = 1/2 Jeffreys, or 1 uniform), exactly;
    (conservative counts come from R: scipy 1.10.1's beta.ppf is off by ~1e-8 relative for
    Beta(3, 1e9-2), where R's qbeta agrees with flakemeter to 1e-15.)
    cost rows    E[attempts] and E[seconds] of a policy, by summing attempt by attempt in
                 Fractions (attempt i runs with probability p1 q^(i-2) for i >= 2).
"""
import csv
import decimal
from fractions import Fraction as F

import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.proportion import proportion_confint

decimal.getcontext().prec = 60
D = decimal.Decimal
VERSIONS = f"statsmodels {statsmodels.__version__} + scipy {scipy.__version__}"

CASES = [(0, 1), (1, 1), (0, 10), (1, 10), (5, 10), (10, 10), (3, 50), (0, 100), (1, 100),
         (99, 100), (100, 100), (17, 575), (103, 575), (0, 1000), (7, 1000), (1, 10**6),
         (999999, 10**6), (0, 10**9), (2, 10**9), (0, 10**12), (1, 10**12), (3, 10**12),
         (10**12 - 1, 10**12)]
LEVELS = [0.01, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999999]
SM_NAME = {"wilson": "wilson", "agresti-coull": "agresti_coull", "wald": "normal"}


def clip(x):
    return min(max(x, 0.0), 1.0)


def decimal_bounds(method, k, n, z):
    """The statsmodels formulas, in 60-digit arithmetic from the double z."""
    k, n, z = D(k), D(n), D(z)
    if method == "wilson":
        q = k / n
        denom = 1 + z * z / n
        centre = (q + z * z / (2 * n)) / denom
        half = z * (q * (1 - q) / n + z * z / (4 * n * n)).sqrt() / denom
    elif method == "agresti-coull":
        nc = n + z * z
        centre = (k + z * z / 2) / nc
        half = z * (centre * (1 - centre) / nc).sqrt()
    else:
        centre = k / n
        half = z * (centre * (1 - centre) / n).sqrt()
    lower = 0.0 if k == 0 and method == "wilson" else float(centre - half)  # centre = half there
    return lower, float(centre + half)


def interval_rows():
    for method, sm in SM_NAME.items():
        for k, n in CASES:
            for c in LEVELS:
                for sided in ("two", "upper"):
                    alpha = 1 - c if sided == "two" else 2 * (1 - c)
                    lo_sm, up_sm = proportion_confint(k, n, alpha=alpha, method=sm)
                    z = st.norm.isf(alpha / 2)
                    lo_d, up_d = decimal_bounds(method, k, n, z)
                    lo, up, src = clip(lo_sm), clip(up_sm), f"{VERSIONS} proportion_confint"
                    if not (np.isclose(lo, clip(lo_d), rtol=1e-12, atol=0)
                            and np.isclose(up, clip(up_d), rtol=1e-12, atol=0)):
                        lo, up = clip(lo_d), clip(up_d)
                        src = f"decimal-60 of statsmodels' {sm} formula with z from scipy norm.isf"
                    if sided == "upper":
                        lo = 0.0
                    yield [method, sided, k, n, repr(c), repr(lo), repr(up), src]


def smallest(start_prob, factor, target, limit=3000):
    """Smallest A >= 1 with start_prob * prod(factor(i) for i in 1..A-1) <= target."""
    prob, a = start_prob, 1
    while prob > target:
        prob *= factor(a)
        a += 1
        if a > limit:
            return None, None
    return a, prob


def attempt_rows():
    # known p, independent: decimal strings as typed
    for p in ["0.1", "0.5", "0.01", "0.3", "0.9", "0.99", "0.001", "0", "0.25", "0.05"]:
        for t in ["1e-6", "0.25", "0.01", "1e-3", "1e-9", "0.5", "1e-12"]:
            pf, tf = F(p), F(t)
            a, r = smallest(pf, lambda i: pf, tf)
            yield ["independent", "", "", p, p, t, "", "", a, float(r), "", "", "", "",
                   "Fraction"]
    # correlated
    for p1, q in [("0.1", "0.5"), ("0.02", "0.9"), ("0.3", "0"), ("0.5", "0.99"),
                  ("1e-7", "0.5"), ("0.2", "0.2")]:
        for t in ["1e-6", "1e-3"]:
            p1f, qf, tf = F(p1), F(q), F(t)
            a, r = smallest(p1f, lambda i: qf, tf)
            yield ["correlated", "", "", p1, q, t, "", "", a, float(r), "", "", "", "",
                   "Fraction"]
    # bayes, exact rational moments
    for k, n in [(0, 10), (3, 50), (1, 100), (0, 1000), (17, 575), (5, 10), (10, 10),
                 (2, 10**9), (0, 1)]:
        for prior in ("jeffreys", "uniform"):
            a0 = F(1, 2) if prior == "jeffreys" else F(1)
            al, be = k + a0, n - k + a0
            for t in ["1e-6", "1e-3"]:
                tf = F(t)
                att, r = smallest(al / (al + be), lambda i: (al + i) / (al + be + i), tf)
                if att is None:
                    continue
                yield ["bayes", k, n, "", "", t, "", prior, att, float(r), "", "", "", "",
                       "Fraction"]
    # expected cost of a policy of A attempts
    for p1, q, att, ps, fs in [("0.1", "0.1", 6, "2", "30"), ("0.5", "0.5", 3, "1", "1"),
                               ("0.3", "0.9", 4, "10", "120"), ("0.02", "0", 2, "5", "200"),
                               ("0.7", "1", 5, "1", "3"), ("0", "0", 1, "4", "9")]:
        p1f, qf, psf, fsf = F(p1), F(q), F(ps), F(fs)
        reach, e_att, e_sec = F(1), F(0), F(0)
        for i in range(1, att + 1):
            f = p1f if i == 1 else qf
            e_att += reach
            e_sec += reach * (f * fsf + (1 - f) * psf)
            reach *= f
        yield ["cost", "", "", p1, q, "", "", "", att, float(reach), ps, fs, float(e_att),
               float(e_sec), "Fraction"]


def main():
    with open("intervals_py.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["method", "sided", "k", "n", "confidence", "lower", "upper", "source"])
        w.writerows(interval_rows())
    with open("attempts_py.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["kind", "k", "n", "p", "q", "target", "confidence", "prior", "attempts",
                    "residual", "pass_seconds", "fail_seconds", "expected_attempts",
                    "expected_seconds", "source"])
        w.writerows(attempt_rows())


if __name__ == "__main__":
    main()
