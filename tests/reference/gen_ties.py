#!/usr/bin/python3
"""Attempt counts at and around ties, decided exactly (issue 12, "ties only ever round to the
safe side"); Python standard library only:
    /usr/bin/python3 gen_ties.py      # writes ties_py.csv
Produced with Python 3.11.2 (Debian bookworm).

ties_py.csv - p1, q, target (each the repr of a double: the exact binary value is meant) and the
    smallest A >= 1 with p1 q^(A-1) <= target, where
      * the comparison is exact on the binary values of the doubles (fractions.Fraction(float)),
      * except that a power equal to the target exactly in the shortest decimals of the three
        doubles (Decimal(repr(x)): 0.1^6 = 1e-6) also meets it.
    Targets: decimal ties (p^A typed as a decimal), the same moved by 5e-13 and 1e-15 relative
    (the old 1e-12 tie rule accepted those), and the doubles just above, at and below the exact
    binary power p^A rounded to a double (where only exact arithmetic decides).
bayes_astronomic_py.txt is not produced here: the Bayesian count for 10 failures in 10 runs at
    1e-6 (docs/statistics.md sec. 2) was checked with mpmath 1.3.0 at 50 digits,
    E[p^A] = Gamma(a+A) Gamma(a+b) / (Gamma(a) Gamma(a+b+A)), a = 10.5, b = 0.5: the smallest A
    is 10253044720142 (test_small_defects.py checks the tool is at or above it, within 1e-11).
"""
import csv
import math
from decimal import Decimal
from fractions import Fraction as F

LIMIT = 3000


def dec(x):
    return F(Decimal(repr(x)))


def meets(p1, q, m, t):
    if F(p1) * F(q) ** m <= F(t):
        return True
    return dec(p1) * dec(q) ** m == dec(t)


def smallest(p1, q, t):
    for m in range(0, LIMIT):
        if meets(p1, q, m, t):
            return m + 1
    return None


def rows():
    seen = set()
    pairs = [("0.1", "0.1"), ("0.5", "0.5"), ("0.2", "0.2"), ("0.3", "0.3"), ("0.01", "0.01"),
             ("0.05", "0.05"), ("0.25", "0.25"), ("0.9", "0.9"), ("0.7", "0.7"), ("0.1", "0.5"),
             ("0.3", "0.6"), ("0.02", "0.9"), ("0.123", "0.123"), ("0.75", "0.75"),
             ("0.999", "0.999")]
    for p1s, qs in pairs:
        p1, q = float(p1s), float(qs)
        for m in (1, 2, 3, 5, 6, 9, 17):
            exact_dec = Decimal(p1s) * Decimal(qs) ** m
            if exact_dec < Decimal("1e-300"):
                continue
            t_dec = float(exact_dec)
            binary = float(F(p1) * F(q) ** m)
            targets = [t_dec, t_dec * (1 - 5e-13), t_dec * (1 + 5e-13), t_dec * (1 - 1e-15),
                       t_dec * (1 + 1e-15), binary, math.nextafter(binary, 0),
                       math.nextafter(binary, 1)]
            for t in targets:
                if not 0 < t < 1 or (p1, q, t) in seen:
                    continue
                seen.add((p1, q, t))
                a = smallest(p1, q, t)
                if a is not None:
                    yield [repr(p1), repr(q), repr(t), a]


def main():
    with open("ties_py.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["p1", "q", "target", "attempts"])
        w.writerows(rows())


if __name__ == "__main__":
    main()
