#!/usr/bin/env python3
"""Runner speed and memory, as ratios against baselines measured in the same run.

usage: bench/bench_runner.py BUILD_DIR [--runs N] [--rounds R] [--big N] [--json FILE]

1. /bin/true at -j 2: runs per second of `flakemeter run` (its default fork + exec launch, and
   `--launch spawn`, posix_spawn) against a bare posix_spawn+wait loop
   (bench/spawn_loop.c, the ceiling), Go's stress (Debian golang-stress), GNU parallel,
   `xargs -P 2`, hyperfine and a shell loop (the last two run one at a time).
2. A built-in workload through the fork path against the same workload through `fm-stress`
   exec: `flakemeter run bernoulli` vs `flakemeter run -- fm-stress bernoulli`.
3. Peak RSS of `flakemeter run` at 10^4 and at --big runs (default 10^6).
Every tool is run in each round, in turn (interleaved), so drift on a shared machine hits all
of them alike; we report the median rate over the rounds and its ratio to the baseline's.
Tools that are not installed are reported as missing, not as zero.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd, **kw):
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, **kw)
    return time.monotonic() - t0


def go_stress_rate(seconds=10.5):
    """golang-stress has no run count and no clean stop: read its 5-second status lines from a
    file, then kill it."""
    with tempfile.TemporaryFile("w+") as log:
        p = subprocess.Popen(["golang-stress", "-p", "2", "/bin/true"], stdout=log,
                             stderr=subprocess.STDOUT)
        time.sleep(seconds)
        p.kill()
        p.wait()
        log.seek(0)
        out = log.read()
    best = None
    for m in re.finditer(r"(\d+)s: (\d+) runs so far", out):
        best = (int(m.group(1)), int(m.group(2)))
    return best[1] / best[0] if best else None


def tools(build, n, tmp):
    fm = os.path.join(build, "cli", "flakemeter")
    loop = os.path.join(build, "bench", "spawn_loop")
    seq = "\n".join(str(i) for i in range(n)) + "\n"
    db = os.path.join(tmp, "bench.db")

    def flakemeter(*launch):
        if os.path.exists(db):
            os.remove(db)
        return n / timed([fm, "run", "-n", str(n), "-j", "2", "--quiet", "--db", db, *launch,
                          "--", "/bin/true"])

    t = {
        "spawn_loop (baseline)": lambda: n / timed([loop, str(n), "2", "/bin/true"]),
        "flakemeter run (fork + exec)": flakemeter,
        "flakemeter run --launch spawn": lambda: flakemeter("--launch", "spawn"),
        "xargs -P 2": lambda: n / timed(["xargs", "-P", "2", "-I{}", "/bin/true"],
                                        input=seq.encode()),
        "shell loop (-j 1)": lambda: n / timed(["sh", "-c", f"i=0; while [ $i -lt {n} ]; do "
                                                "/bin/true; i=$((i+1)); done"]),
    }
    if shutil.which("parallel"):
        m = max(n // 10, 50)  # GNU parallel is ~100x slower per job; fewer runs, same rate
        t["GNU parallel -j 2"] = lambda: m / timed(
            ["parallel", "-j", "2", "/bin/true", ":::"] + [str(i) for i in range(m)])
    if shutil.which("hyperfine"):
        m = max(n // 4, 50)
        t["hyperfine -N (-j 1)"] = lambda: m / timed(
            ["hyperfine", "-N", "--runs", str(m), "--warmup", "0", "/bin/true"])
    if shutil.which("golang-stress"):
        t["golang-stress -p 2"] = go_stress_rate
    return t


def workload_tools(build, n, tmp):
    fm = os.path.join(build, "cli", "flakemeter")
    stress = os.path.join(build, "workloads", "fm-stress")
    db = os.path.join(tmp, "wl.db")

    def go(cmd):
        if os.path.exists(db):
            os.remove(db)
        return n / timed([fm, "run", "-n", str(n), "-j", "2", "--quiet", "--db", db] + cmd)

    return {
        "fm-stress via exec": lambda: go(["--", stress, "bernoulli", "p=0.1"]),
        "workload via fork": lambda: go(["bernoulli", "p=0.1"]),
    }


def interleave(table, rounds):
    rates = {name: [] for name in table}
    for _ in range(rounds):
        for name, fn in table.items():
            r = fn()
            if r is not None:
                rates[name].append(r)
    return {name: statistics.median(v) if v else None for name, v in rates.items()}


def peak_rss_kb(build, n, tmp):
    fm = os.path.join(build, "cli", "flakemeter")
    db = os.path.join(tmp, f"rss{n}.db")
    t0 = time.monotonic()
    p = subprocess.Popen([fm, "run", "-n", str(n), "-j", "2", "--quiet", "--db", db,
                          "bernoulli", "p=0.1"], stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return ru.ru_maxrss, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big", type=int, default=10**6)
    ap.add_argument("--json")
    a = ap.parse_args()
    out = {"runs": a.runs, "rounds": a.rounds, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        rates = interleave(tools(a.build, a.runs, tmp), a.rounds)
        base = rates["spawn_loop (baseline)"]
        print(f"/bin/true, -j 2, {a.runs} runs, median of {a.rounds} interleaved rounds")
        print(f"  {'tool':28} {'runs/s':>10} {'vs baseline':>12}")
        for name, r in rates.items():
            print(f"  {name:28} {r:10.0f} {r / base:12.3f}" if r else f"  {name:28} missing")
        out["true"] = {k: v for k, v in rates.items()}
        wl = interleave(workload_tools(a.build, a.runs, tmp), a.rounds)
        ratio = wl["workload via fork"] / wl["fm-stress via exec"]
        print(f"bernoulli p=0.1: fork {wl['workload via fork']:.0f} runs/s, exec "
              f"{wl['fm-stress via exec']:.0f} runs/s: fork/exec = {ratio:.2f}")
        out["workload"] = wl
        out["fork_over_exec"] = ratio
        rss = {}
        for n in (10**4, a.big):
            kb, secs = peak_rss_kb(a.build, n, tmp)
            rss[n] = kb
            print(f"peak RSS over {n} runs: {kb / 1024:.1f} MiB ({secs:.0f} s)")
        out["peak_rss_kb"] = rss
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
