#!/usr/bin/env python3
"""bench_budget.py - `budget` at 10^6 (and 5x10^6) CI results, two builds interleaved (issue 19).

    python3 bench/bench_budget.py BASELINE_BUILD BUILD [--runs 1000,5000] [--rounds 5]

For each number of CI runs: a store of 1000 tests (20 flaky) made as bench_scale.py makes it
(same seed), then `budget --target 0.01 --db DB` of the baseline and of the build in turn,
--rounds times in alternating order; prints the medians of CPU seconds (user + sys of the child)
and peak RSS, their ratios, and whether the two outputs (text and --json) are the same.
Standard library only (resource usage from wait4).
"""
import os, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_scale  # noqa: E402


def measure(cmd):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def main():
    base, new = sys.argv[1], sys.argv[2]
    args = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    runs = [int(x) for x in args.get("--runs", "1000,5000").split(",") if x]
    rounds = int(args.get("--rounds", "5"))
    fms = {"baseline": os.path.join(base, "cli", "flakemeter"),
           "build": os.path.join(new, "cli", "flakemeter")}
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as d:
        for n in runs:
            db = f"{d}/h{n}.db"
            bench_scale.history(fms["build"], db, runs=n)
            outs = {}
            for k, fm in fms.items():
                outs[k] = [subprocess.run([fm, "budget", "--target", "0.01", "--db", db] + j,
                                          check=True, capture_output=True).stdout
                           for j in ([], ["--json"])]
            same = outs["baseline"] == outs["build"]
            cpu = {k: [] for k in fms}
            rss = {k: [] for k in fms}
            for r in range(rounds):
                order = list(fms) if r % 2 == 0 else list(reversed(fms))
                for k in order:
                    c, m = measure([fms[k], "budget", "--target", "0.01", "--db", db])
                    cpu[k].append(c)
                    rss[k].append(m)
            mc = {k: statistics.median(v) for k, v in cpu.items()}
            mr = {k: statistics.median(v) for k, v in rss.items()}
            print(f"budget, 1000 tests (20 flaky) x {n} CI runs ({n * 1000:.0e} results), "
                  f"medians of {rounds}: baseline {mc['baseline']:.2f} s CPU / "
                  f"{mr['baseline']:.1f} MiB, build {mc['build']:.2f} s CPU / "
                  f"{mr['build']:.1f} MiB; CPU ratio {mc['build'] / mc['baseline']:.3f}, "
                  f"RSS ratio {mr['build'] / mr['baseline']:.3f}; same output: {same}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
