#!/usr/bin/env python3
"""emu_ratio.py - wall-time and CPU-time slowdown under QEMU user mode of the real MicroPython
tests and of the ports, side by side (issue 18; not run in CI).

usage: bench/fidelity/emu_ratio.py [--reps N] [--seed S] [--json OUT] \
           LABEL '=' NATIVE COMMAND '::' EMULATED COMMAND  [';;' LABEL '=' ...]

Each case is a label, its native command and its emulated command (e.g. `qemu-aarch64
build-cross-aarch64/workloads/fm-stress stress_aes wait=poll`).  Every repetition runs every
command once, in an order drawn from --seed, output to /dev/null; wall time (monotonic clock)
and CPU time (user + system of the child, from wait4) are recorded, and a run's exit status too.
Prints per case the median native and emulated wall and CPU seconds and the ratios of the
medians (emulated / native), and the load average before and after.
"""
import json
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


def main():
    args = sys.argv[1:]
    reps, seed, out = 5, 18, None
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
        native, emulated = rest.split(" :: ")
        cases.append((label.strip(), native.split(), emulated.split()))
    rng = random.Random(seed)
    load0 = os.getloadavg()[0]
    res = {c[0]: {"native": [], "emulated": []} for c in cases}
    for _ in range(reps):
        order = [(c, k) for c in cases for k in ("native", "emulated")]
        rng.shuffle(order)
        for (label, native, emulated), kind in order:
            res[label][kind].append(run(native if kind == "native" else emulated))
    load1 = os.getloadavg()[0]
    print(f"load average {load0:.1f} before, {load1:.1f} after; {reps} repetitions")
    print(f"{'case':40s} {'wall n':>8s} {'wall e':>8s} {'ratio':>6s} {'cpu n':>8s} {'cpu e':>8s} "
          f"{'ratio':>6s}  exits")
    for label, _, _ in cases:
        n, e = res[label]["native"], res[label]["emulated"]
        wn, we = statistics.median(x[0] for x in n), statistics.median(x[0] for x in e)
        cn, ce = statistics.median(x[1] for x in n), statistics.median(x[1] for x in e)
        exits = sorted(set(x[2] for x in n + e))
        print(f"{label:40s} {wn:8.3f} {we:8.3f} {we / wn:6.2f} {cn:8.3f} {ce:8.3f} "
              f"{ce / cn if cn else float('nan'):6.2f}  {exits}")
    if out:
        with open(out, "w") as f:
            json.dump({"load": [load0, load1], "results": res}, f, indent=1)


if __name__ == "__main__":
    main()
