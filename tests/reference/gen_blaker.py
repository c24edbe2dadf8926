#!/usr/bin/python3
"""Reference values for Blaker's exact two-sided interval (blaker_py.csv), independent of
flakemeter's C code.

Blaker (2000, Can. J. Statist. 28:783-798): for k failures in n runs, X ~ Binomial(n, p),
    gamma(x) = min(P(X <= x), P(X >= x)),   acceptability(p) = P_p(gamma(X) <= gamma(k)),
and the interval is the hull of {p : acceptability(p) > 1 - c}.

This script uses only the Python standard library and decimal arithmetic at 60 digits.  It
does NOT use the tail-sum shortcut or the piecewise analysis of the C code: acceptability is
computed by enumerating the whole distribution (every x with a probability above 1e-55 of the
mode's; the rest cannot move a 60-digit sum at 1e-10), forming every gamma(x) and summing the
probabilities of the outcomes whose gamma is at most gamma(k) (ties: within 1e-40 relative).
The lower end is found as Blaker's own S-PLUS routine does, but without its fixed step: scan
from the Clopper-Pearson lower end (found by bisection on the enumerated tail) towards k/n on a
grid of 400 points, then bisect (200 halvings) between the last grid point that is not
acceptable and the first that is.  The upper end is 1 - (lower end for n - k), in 60 digits.

Run:  cd tests/reference && /usr/bin/python3 gen_blaker.py > blaker_py.csv
(Python 3.11, standard library only; a few minutes on one core.)
"""
import sys
from decimal import Decimal, getcontext

getcontext().prec = 60
ONE, ZERO = Decimal(1), Decimal(0)
CUT = Decimal("1e-55")
TIE = Decimal("1e-40")


def pmf_window(n, p):
    """(lo, probs): P(X = lo + i) for the x whose probability is above CUT of the mode's,
    normalised to sum to 1 over that window."""
    q = ONE - p
    mode = min(n, max(0, int((n + 1) * p)))
    r = p / q if q > 0 else None
    # walk up from the mode
    up = [ONE]
    x, t = mode, ONE
    while x < n:
        t = t * (n - x) / (x + 1) * r
        if t < CUT:
            break
        up.append(t)
        x += 1
    down = []
    x, t = mode, ONE
    while x > 0:
        t = t * x / ((n - x + 1) * r)
        if t < CUT:
            break
        down.append(t)
        x -= 1
    probs = down[::-1] + up
    lo = mode - len(down)
    total = sum(probs)
    return lo, [v / total for v in probs]


def edge_probs(n, p):
    if p == 0:
        return 0, [ONE]
    if p == 1:
        return n, [ONE]
    return pmf_window(n, p)


def acceptability(k, n, p):
    lo, probs = edge_probs(n, p)
    m = len(probs)
    le, acc = [], ZERO
    for v in probs:
        acc += v
        le.append(acc)
    ge, acc = [ZERO] * m, ZERO
    for i in range(m - 1, -1, -1):
        acc += probs[i]
        ge[i] = acc

    def gamma(x):
        i = x - lo
        if i < 0:
            return ZERO  # far left: P(X <= x) ~ 0
        if i >= m:
            return ZERO
        return min(le[i], ge[i])

    gk = gamma(k)
    if gk == 0:
        return ZERO
    limit = gk * (ONE + TIE)
    return sum((probs[i] for i in range(m) if min(le[i], ge[i]) <= limit), ZERO)


def upper_tail(k, n, p):
    """P(X >= k)."""
    lo, probs = edge_probs(n, p)
    return sum((v for i, v in enumerate(probs) if lo + i >= k), ZERO)


def bisect(pred, a, b, steps=200):
    """pred(a) false, pred(b) true: the switching point."""
    for _ in range(steps):
        mid = (a + b) / 2
        if pred(mid):
            b = mid
        else:
            a = mid
    return (a + b) / 2


def lower_end(k, n, alpha):
    if k == 0:
        return ZERO
    # Clopper-Pearson lower end: P(X >= k) = alpha/2
    cp = bisect(lambda p: upper_tail(k, n, p) >= alpha / 2, ZERO, Decimal(k) / n)
    top = Decimal(k) / n
    grid = [cp + (top - cp) * Decimal(i) / 400 for i in range(401)]
    ok = lambda p: acceptability(k, n, p) > alpha
    prev = grid[0]
    assert not ok(prev)
    for g in grid[1:]:
        if ok(g):
            return bisect(ok, prev, g)
        prev = g
    raise RuntimeError("no acceptable p below k/n")


def blaker(k, n, c):
    alpha = ONE - Decimal(c)  # the double c exactly, as the C code forms 1 - c
    lo = lower_end(k, n, alpha)
    up = ONE - lower_end(n - k, n, alpha)
    return lo, up


CASES = []
for n in (1, 2, 3, 4, 5, 7, 10, 20, 30, 50, 100):
    for k in sorted(set([0, 1, 2, n // 3, n // 2, n - 1, n])):
        if 0 <= k <= n:
            for c in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
                CASES.append((k, n, c))
for (k, n) in ((3, 100), (0, 1000), (1, 1000), (5, 1000), (37, 1000), (500, 1000), (999, 1000),
               (0, 10000), (2, 10000), (150, 10000)):
    for c in (0.9, 0.95, 0.999999):
        CASES.append((k, n, c))
for (k, n, c) in ((0, 1000000, 0.95), (3, 1000000, 0.95), (3, 1000000, 0.99),
                  (999997, 1000000, 0.95), (1000000, 1000000, 0.9)):
    CASES.append((k, n, c))


def main():
    only = sys.argv[1:]  # optional "k,n,c" filters for spot checks
    print("k,n,confidence,lower,upper,source")
    for k, n, c in CASES:
        if only and f"{k},{n},{c}" not in only:
            continue
        lo, up = blaker(k, n, c)
        print(f"{k},{n},{c!r},{float(lo)!r},{float(up)!r},"
              f"python3 decimal-60 enumeration (gen_blaker.py)", flush=True)


if __name__ == "__main__":
    main()
