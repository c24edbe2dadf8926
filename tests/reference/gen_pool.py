#!/usr/bin/python3
"""Reference values for the bound on the tests never seen failing (fm_stats_pool_bound,
docs/statistics.md sec. 9), independent of the C code.

Run with Debian's interpreter:  cd tests/reference && /usr/bin/python3 gen_pool.py
(writes pool_lemma_py.csv, pool_bound_py.csv and pool_coverage_py.csv).  Only the standard
library: fractions.Fraction (exact) and decimal (50 significant digits).

pool_lemma_py.csv - the one-test lemma.  k ~ Bin(n, p), lambda an integer in 1..n-1,
    y = lambda / n, u = -log(1 - p): E = E exp(lambda (u [k = 0] - h(k))) with
    exp(-lambda h(k)) = 1 - y^k for k >= 1, summed over k = 0..n from the binomial law in exact
    rational arithmetic (exp(lambda u) = (1 - p)^-lambda), not from the closed form the docs
    give.  Column deficit = 1 - E (the lemma says >= 0), rounded to a double at the end.
pool_bound_py.csv - the bound B for small suites (seeded random ones, random.Random(20261122),
    and some by hand): the root of sum_j w_j exp(lambda_j s) prod_{k_i >= 1} (1 - y_ij^k_i) =
    1/(1 - c), lambda_j = y_j n_min, y_ij = lambda_j / n_i, by bisection in 50-digit decimal
    arithmetic.  Row: c, B, m, then k_1, n_1, ..., k_m, n_m.
pool_coverage_py.csv - for m iid tests (p each, n runs each): the exact probability that
    sum_{k_i = 0} u_i <= B when the tests that failed 3 times or more are counted as
    contributing nothing to the bound (so this is a lower bound on the coverage of B), by
    enumerating (never failed, failed once, failed twice) with the multinomial law in floating
    point (log-gamma); and the coverage of the old bound (sum u_i <= log(1/(1-c)) / n).
"""
import csv
import math
import random
import sys
from decimal import Decimal as D, getcontext
from fractions import Fraction as F

getcontext().prec = 50
VERSION = f"Python {sys.version.split()[0]} fractions, decimal 50 digits"

# the mixture, as docs/statistics.md sec. 9 states it
Y = ["0.999", "0.97", "0.9", "0.75", "0.55", "0.4", "0.28", "0.2", "0.14", "0.1", "0.07",
     "0.05", "0.03"]
W = ["0.30", "0.20", "0.15", "0.10", "0.07", "0.05", "0.04", "0.03", "0.02", "0.015", "0.01",
     "0.01", "0.005"]
assert sum(F(w) for w in W) == 1


def lemma_deficit(n, lam, p):
    y = F(lam, n)
    e = F(0)
    for k in range(n + 1):
        pk = math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if k == 0:
            e += pk * ((1 - p) ** -lam if p < 1 else 0)
        else:
            e += pk * (1 - y**k)
    return 1 - e


def bound(c, tests):
    n_min = min(n for _, n in tests)
    target = 1 / (1 - D(c))
    terms = []
    for y, w in zip(Y, W):
        lam = D(y) * n_min
        logk = D(0)
        for k, n in tests:
            if k > 0:
                logk += (1 - (lam / n) ** k).ln()
        terms.append((D(w), lam, logk))

    def mix(s):
        return sum(w * (lam * s + logk).exp() for w, lam, logk in terms)

    lo, hi = D(0), D(1) / n_min
    while mix(hi) < target:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if mix(mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def lbinom(m, k, p):
    if p == 0:
        return 0.0 if k == 0 else -math.inf
    if p == 1:
        return 0.0 if k == m else -math.inf
    return (math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1) + k * math.log(p)
            + (m - k) * math.log1p(-p))


def coverage(m, p, n, c):
    u = -math.log1p(-p)
    target = math.log(1 / (1 - c))
    p0 = (1 - p) ** n
    p1 = n * p * (1 - p) ** (n - 1)
    p2 = n * (n - 1) / 2 * p * p * (1 - p) ** (n - 2)
    a1 = p1 / (1 - p0)
    a2 = p2 / (1 - p0 - p1)
    miss = 0.0
    for q in range(1, m + 1):
        lq = lbinom(m, q, p0)
        s, r = q * u, m - q
        for n1 in range(r + 1):
            l1 = lq + lbinom(r, n1, a1)
            if l1 < -80:
                continue
            for n2 in range(r - n1 + 1):
                l2 = l1 + lbinom(r - n1, n2, a2)
                if l2 < -80:
                    continue
                mix = sum(float(w) * math.exp(float(y) * n * s + n1 * math.log1p(-float(y))
                                              + n2 * math.log1p(-float(y) ** 2))
                          for y, w in zip(Y, W))
                if math.log(mix) > target:
                    miss += math.exp(l2)
    old = sum(math.exp(lbinom(m, q, p0)) for q in range(m + 1) if q * u <= target / n)
    return 1 - miss, old


def main():
    with open("pool_lemma_py.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["n", "lambda", "p_num", "p_den", "deficit", "version=" + VERSION])
        for n in (1, 2, 5, 20, 100):
            for lam in sorted({1, n // 2, n - 1} - {0}):
                if lam >= n:
                    continue
                for p in (F(0), F(1, 1000), F(1, 100), F(1, n), F(1, 2), F(9, 10), F(1)):
                    d = lemma_deficit(n, lam, p)
                    assert d >= 0
                    out.writerow([n, lam, p.numerator, p.denominator, repr(float(d))])
    rng = random.Random(20261122)
    suites = [
        (0.95, [(0, 120)]),
        (0.95, [(0, 120), (0, 120)]),
        (0.95, [(0, 120), (1, 120)]),
        (0.95, [(0, 120), (0, 120), (34, 120), (16, 120), (5, 120)]),
        (0.9, [(0, 575)] * 5 + [(1, 575)] * 5 + [(2, 575)] * 2),
        (0.99, [(0, 20), (1, 2000), (2, 100), (0, 1000)]),
        (0.5, [(0, 50), (3, 50)]),
        (0.95, [(1, 100), (50, 100)]),
        (0.95, [(0, 10**12), (1, 10**12)]),
    ]
    for _ in range(20):
        m = rng.randint(1, 12)
        tests = []
        for _ in range(m):
            n = rng.choice((20, 100, 120, 575, 2000, rng.randint(1, 3000)))
            k = rng.choice((0, 0, 0, 1, 1, 2, rng.randint(0, n)))
            tests.append((min(k, n), n))
        suites.append((rng.choice((0.9, 0.95, 0.99)), tests))
    with open("pool_bound_py.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["c", "bound", "m", "k_1,n_1,...", "version=" + VERSION])
        for c, tests in suites:
            b = bound(c, tests) if any(k == 0 for k, _ in tests) else D(0)
            out.writerow([c, repr(float(b)), len(tests)] + [x for t in tests for x in t])
    with open("pool_coverage_py.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["m", "p", "n", "c", "coverage_lower", "old_coverage", "version=" + VERSION])
        for m, p, n in ((5, 0.01, 100), (20, 0.015, 100), (30, 0.01, 100), (3, 0.02, 50),
                        (10, 0.001, 1000)):
            new, old = coverage(m, p, n, 0.95)
            out.writerow([m, p, n, 0.95, repr(new), repr(old)])


main()
