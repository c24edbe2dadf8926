#!/usr/bin/env python3
"""Reference values for the boundary tests' evidence (fm_stats_seq_log_evidence), computed with
exact rational arithmetic (Python's fractions), independently of the C code (which sums the
terms in log space with log and log1p).

    cd tests/reference && python3 gen_seq_boundary.py     (writes seq_evidence_py.csv)

E_n = (1/G) sum_{i=1..G} (q_i/theta)^k ((1-q_i)/(1-theta))^(n-k),  q_i = lo + (i - 1/2)(hi - lo)/G,
G = 16 (FM_STATS_SEQ_GRID).  theta, lo and hi are doubles; Fraction(float) is their exact value,
and q_i is formed exactly as the C code forms it in double (h = (hi - lo)/G, lo + (i + 0.5) h,
each step rounded to double) so that both evaluate the same points; everything after that is
exact.  ln E is then the log of a ratio of big integers, to double precision.
"""
import csv
import math
import sys
from fractions import Fraction

G = 16


def points(lo, hi):
    h = (hi - lo) / G  # the same double operations as the C code
    return [lo + (i + 0.5) * h for i in range(G)]


def log_frac(x):
    """ln of a positive Fraction, to double precision, however big its parts."""
    return math.log(x.numerator) - math.log(x.denominator)


def log_evidence(k, n, theta, lo, hi):
    t = Fraction(theta)
    total = Fraction(0)
    for q in points(lo, hi):
        fq = Fraction(q)
        total += (fq / t) ** k * ((1 - fq) / (1 - t)) ** (n - k)
    return log_frac(total / G)


def windows(target):
    """b_j and the windows of fm_stats_seq_boundary for the first few j (doubles as C makes them)"""
    lt = math.log(target)
    b = lambda j: 0.0 if j == 0 else math.exp(lt / j)
    out = []
    for j in range(1, 9):
        bj = b(j)
        spread = 0.25 * bj * (1 - bj)
        out.append((bj, max(0.0, min(b(j - 1), bj - spread)), min(max(b(j + 1), bj + spread), 1.0)))
    return out


def main():
    rows = []
    cases = [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (0, 100), (1, 100), (8, 100), (30, 100),
             (0, 1000), (5, 1000), (80, 1000), (100, 1000), (250, 1000), (3, 3000), (200, 2500)]
    windows_used = [(0.1, 0.063, 0.1), (0.1, 0.1, 0.139), (1e-3, 1e-6, 1e-3), (1e-3, 1e-3, 0.01),
                    (0.5, 0.4375, 0.5), (0.5, 0.5, 0.5625), (0.9, 0.8775, 0.9), (0.9, 0.9, 0.92)]
    windows_used += [(b, lo, b) for b, lo, hi in windows(1e-6)[:7]]
    windows_used += [(b, b, hi) for b, lo, hi in windows(1e-3)[:5]]
    for k, n in cases:
        for theta, lo, hi in windows_used:
            rows.append((k, n, theta, lo, hi, log_evidence(k, n, theta, lo, hi)))
    w = csv.writer(sys.stdout if len(sys.argv) > 1 and sys.argv[1] == "-" else
                   open("seq_evidence_py.csv", "w", newline=""), lineterminator="\n")
    w.writerow(["k", "n", "theta", "lo", "hi", "log_evidence", "source"])
    src = "Python %d.%d.%d fractions" % sys.version_info[:3]
    for k, n, theta, lo, hi, e in rows:
        w.writerow([k, n, repr(theta), repr(lo), repr(hi), repr(e), src])


if __name__ == "__main__":
    main()
