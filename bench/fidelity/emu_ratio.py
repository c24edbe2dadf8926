#!/usr/bin/env python3
"""emu_ratio.py - wall-time and CPU-time slowdown under QEMU user mode of the real MicroPython
tests and of the ports, side by side and per arch (issue 18; not run in CI).

usage: bench/fidelity/emu_ratio.py [--reps N] [--seed S] [--json OUT] \
           LABEL '=' NATIVE COMMAND '::' EMULATED COMMAND ['::' EMULATED COMMAND ...] \
           [';;' LABEL '=' ...]
       bench/fidelity/emu_ratio.py --summary OUT.json    (the table of a saved, maybe stopped, run)

Each case is a label, its native command and one or more emulated commands (e.g. `qemu-riscv64
build-cross-riscv64/workloads/fm-stress stress_aes wait=poll :: qemu-arm
build-cross-armhf/workloads/fm-stress stress_aes wait=poll`); an emulated command is named by
its first word (`qemu-riscv64`), so one case can carry several arches against the same native
series.  Every repetition runs every command of every case once, in an order drawn from --seed,
output to /dev/null, one at a time; wall time (monotonic clock) and CPU time (user + system of
the child, from wait4) are recorded, and each run's exit status.

Prints per case and emulator the median native and emulated wall and CPU seconds, the ratio of
the medians (emulated / native), and the geometric mean of the paired ratios (the native and
emulated runs of one repetition are a pair) with its 95 % log-scale t interval
exp(mean ± t * sd / sqrt(n)) (docs/statistics.md sec. 11, as `flakemeter bench emu`; with
fewer than 2 repetitions no interval); the load average before and after.  --json writes every
run's (wall, cpu, exit) per case and command name, after every repetition (so a stopped run
keeps what it finished; "reps" says how many).
"""
import json
import math
import os
import random
import statistics
import sys
import time


def run(argv):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    return time.monotonic() - t0, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def betainc(a, b, x):
    """Regularised incomplete beta I_x(a, b) by its continued fraction (modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - betainc(b, a, 1.0 - x)
    front = math.exp(a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a)
                     - math.lgamma(b)) / a
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 + num * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + num / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(1.0 - c * d) < 1e-14:
            break
    return front * (f - 1.0)


def t_quantile(p, df):
    """Student t quantile for p > 0.5 by bisection on its CDF (no scipy on the bench host)."""
    def cdf(t):
        return 1.0 - 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    lo, hi = 0.0, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def paired(native, emulated, idx):
    """Geometric mean of emulated/native over the pairs (field idx), 95 % log-t interval."""
    logs = [math.log(e[idx] / n[idx])
            for n, e in zip(native, emulated) if n[idx] > 0 and e[idx] > 0]
    if not logs:
        return float("nan"), float("nan"), float("nan")
    m = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(m), float("nan"), float("nan")
    h = t_quantile(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(m), math.exp(m - h), math.exp(m + h)


def main():
    args = sys.argv[1:]
    reps, seed, out = 5, 18, None
    if args[:1] == ["--summary"] and len(args) == 2:
        with open(args[1]) as f:
            saved = json.load(f)
        cases = [(label, c["native"], {k: v for k, v in c.items() if k != "native"})
                 for label, c in saved["commands"].items()]
        print(f"load average {saved['load'][0]:.1f} before, {saved['load'][1]:.1f} after; "
              f"{saved['reps']} repetitions, seed {saved['seed']}")
        report(cases, saved["results"])
        return
    while args and args[0].startswith("--"):
        if args[0] == "--reps":
            reps = int(args[1])
        elif args[0] == "--seed":
            seed = int(args[1])
        elif args[0] == "--json":
            out = args[1]
        args = args[2:]
    cases = []
    for chunk in " ".join(args).split(" ;; "):
        label, rest = chunk.split(" = ", 1)
        native, *emulated = rest.split(" :: ")
        named = {}
        for cmd in emulated:
            argv = cmd.split()
            name = os.path.basename(argv[0])
            while name in named or name == "native":
                name += "'"
            named[name] = argv
        cases.append((label.strip(), native.split(), named))
    rng = random.Random(seed)
    load0 = os.getloadavg()[0]
    res = {label: {k: [] for k in ["native", *named]} for label, _, named in cases}
    t0 = time.monotonic()
    for r in range(reps):
        order = [(label, "native", native) for label, native, _ in cases]
        order += [(label, k, argv) for label, _, named in cases for k, argv in named.items()]
        rng.shuffle(order)
        for label, kind, argv in order:
            res[label][kind].append(run(argv))
        print(f"repetition {r + 1}/{reps} ({time.monotonic() - t0:.0f} s, load "
              f"{os.getloadavg()[0]:.1f})", file=sys.stderr)
        if out:  # what is done so far, in case a long run is stopped
            save(out, [load0, os.getloadavg()[0]], r + 1, seed, cases, res)
    load1 = os.getloadavg()[0]
    print(f"load average {load0:.1f} before, {load1:.1f} after; {reps} repetitions, "
          f"{time.monotonic() - t0:.0f} s")
    report(cases, res)
    if out:
        save(out, [load0, load1], reps, seed, cases, res)


def report(cases, res):
    print(f"{'case':44s} {'emulator':14s} {'wall n':>7s} {'wall e':>7s} {'ratio':>6s} "
          f"{'paired (95 %)':>19s} {'cpu n':>7s} {'cpu e':>7s} {'ratio':>6s} "
          f"{'paired (95 %)':>19s}  exits")
    for label, _, named in cases:
        n = res[label]["native"]
        wn, cn = statistics.median(x[0] for x in n), statistics.median(x[1] for x in n)
        for k in named:
            e = res[label][k]
            we, ce = statistics.median(x[0] for x in e), statistics.median(x[1] for x in e)
            pw, pc = paired(n, e, 0), paired(n, e, 1)
            exits = sorted(set(x[2] for x in n + e))
            print(f"{label:44s} {k:14s} {wn:7.3f} {we:7.3f} {we / wn:6.2f} "
                  f"{pw[0]:6.2f} ({pw[1]:5.2f}-{pw[2]:5.2f}) {cn:7.3f} {ce:7.3f} "
                  f"{ce / cn if cn else float('nan'):6.2f} {pc[0]:6.2f} ({pc[1]:5.2f}-{pc[2]:5.2f})"
                  f"  {exits}")


def save(out, load, reps, seed, cases, res):
    with open(out, "w") as f:
        json.dump({"load": load, "reps": reps, "seed": seed,
                   "commands": {label: {"native": native, **named}
                                for label, native, named in cases},
                   "results": res}, f, indent=1)


if __name__ == "__main__":
    main()
