#!/usr/bin/env python3
"""probe_create.py - when does stress_recurse crash?  The first pthread_create of the real
MicroPython and of the port, observed with an LD_PRELOAD probe (probe_create.c), pinned
(`taskset -c 0`) and unpinned, in randomised blocks (issue 18).  Not run in CI.

usage: bench/fidelity/probe_create.py --fm-stress BUILD/workloads/fm-stress
           --micropython PATH/micropython --tests PATH/tests/thread [--runs N] [--seed S]
           [--program NAME=ARGS ...] [--bins US] [--json OUT]

Each run: fork + exec from this runner (as factors.py's `base`), output to /dev/null, the
probe preloaded.  Per program and placement it prints the crashes (non-zero exit or signal),
how often the new thread entered its start routine before pthread_create had returned in its
creator ("thread first") and the crashes among those and among the others, whether the thread
ran on its creator's CPU, and the quartiles of the creator's CPU time at the creation (since
its fork) and of its own start-up (from the end of the dynamic loader to the creation).  With
--bins, the crash rate by CPU time at the creation, per placement, over all programs.
The probe adds an open and an mmap to the creator before the creation, so its rates are not
the rates of factors.py; compare programs within one run.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile

FMT = "qqqqqiiiiQ"  # struct probe_record in probe_create.c


def quartiles(xs):
    return [round(q) for q in statistics.quantiles(xs, n=4)] if len(xs) >= 2 else xs


def run_once(argv, off, pinned, so, out, devnull, call=1):
    with open(out, "wb") as f:
        f.write(b"\0" * 4096)
    env = dict(os.environ, LD_PRELOAD=so, PROBE_OUT=out, PROBE_OFF=str(off), PROBE_CALL=str(call))
    if pinned:
        argv = [shutil.which("taskset"), "-c", "0"] + argv
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    _, st = os.waitpid(pid, 0)
    crashed = not (os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0)
    with open(out, "rb") as f:
        r = struct.unpack(FMT, f.read(struct.calcsize(FMT)))
    keys = ("cpu_at_create", "t_before", "t_after", "t_thread", "cpu_at_ctor", "cpu_before",
            "cpu_after", "cpu_thread", "created", "word_read")
    return dict(zip(keys, r), crashed=crashed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fm-stress", required=True)
    ap.add_argument("--micropython", required=True)
    ap.add_argument("--tests", required=True)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--program", action="append", default=[],
                    help="NAME=ARGS: a port variant, fm-stress ARGS")
    ap.add_argument("--command", action="append", default=[],
                    help="NAME=ARGV: a whole command line; under qemu-user (a dynamically linked "
                         "QEMU) the probe wraps QEMU's host pthread_create, and --qemu-call says "
                         "which one is the guest's clone")
    ap.add_argument("--qemu-call", type=int, default=2,
                    help="for --command: which pthread_create to record (QEMU 7.2: 2, after its "
                         "RCU thread)")
    ap.add_argument("--bins", type=int, default=0, help="bin width in us for the hazard table")
    ap.add_argument("--json")
    a = ap.parse_args()
    progs = {"real": ([os.path.abspath(a.micropython),
                       os.path.join(a.tests, "stress_recurse.py")], 16, 1),
             "port": ([os.path.abspath(a.fm_stress), "stress_recurse", "publish=late"], 0, 1)}
    for spec in a.program:
        name, args = spec.split("=", 1)
        progs[name] = ([os.path.abspath(a.fm_stress)] + args.split(), 0, 1)
    for spec in a.command:
        name, args = spec.split("=", 1)
        argv = [shutil.which(w) or w if i == 0 else w for i, w in enumerate(args.split())]
        progs[name] = (argv, -1, a.qemu_call)
    rng = random.Random(a.seed)
    devnull = os.open(os.devnull, os.O_WRONLY)
    res = {(p, c): [] for p in progs for c in ("unpinned", "pinned")}
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        so = os.path.join(tmp, "probe_create.so")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe_create.c")
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", so, src, "-ldl"], check=True)
        out = os.path.join(tmp, "record")
        for _ in range(a.runs // a.batch):
            order = list(res)
            rng.shuffle(order)
            for p, c in order:
                argv, off, call = progs[p]
                for _ in range(a.batch):
                    res[(p, c)].append(run_once(argv, off, c == "pinned", so, out, devnull, call))
    print(f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}; {a.runs} runs per cell")
    for (p, c), v in res.items():
        first = [x for x in v if x["t_thread"] and (not x["t_after"] or x["t_thread"] < x["t_after"])]
        later = [x for x in v if x not in first]
        same = sum(1 for x in v if x["t_thread"] and x["cpu_thread"] == x["cpu_before"])
        ran = sum(1 for x in v if x["t_thread"])
        print(f"{p:8s} {c:9s} crashed {sum(x['crashed'] for x in v):3d}/{len(v)}; thread first "
              f"{len(first):3d} (crashed {sum(x['crashed'] for x in first)}), later "
              f"{len(later):3d} (crashed {sum(x['crashed'] for x in later)}); thread on the "
              f"creator's CPU {same}/{ran}")
        print(f"{'':18s} CPU at creation (us) {quartiles([x['cpu_at_create'] / 1e3 for x in v])}, "
              f"own start-up {quartiles([(x['cpu_at_create'] - x['cpu_at_ctor']) / 1e3 for x in v])}")
    if a.bins:
        for c in ("unpinned", "pinned"):
            bins = {}
            for (p, cc), v in res.items():
                if cc == c:
                    for x in v:
                        b = bins.setdefault(int(x["cpu_at_create"] / 1e3 // a.bins), [0, 0])
                        b[0] += 1
                        b[1] += x["crashed"]
            print(f"{c}: crash rate by CPU time at creation")
            for b in sorted(bins):
                print(f"  {b * a.bins:6d}-{(b + 1) * a.bins:<6d} us {bins[b][1]:4d}/{bins[b][0]:<4d}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({f"{p}|{c}": v for (p, c), v in res.items()}, f)


if __name__ == "__main__":
    sys.exit(main())
