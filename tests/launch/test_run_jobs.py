#!/usr/bin/env python3
"""`flakemeter run` never runs more attempts at once than its conditions allow CPUs (issue 18).

usage: test_run_jobs.py FLAKEMETER

`run -j 2 --cpus 1` used to run two attempts on one CPU: they preempt each other, and the rate
measured so is one of preemption, not of placement.  `run` now follows sweep's rule
(fm_cond_fit_jobs, launch/fm_cond.c): -j is lowered to the CPUs the conditions allow, with one
line on stderr, unless --allow-oversubscribe.  PROBE records (monotonic start, end, CPUs in its
affinity) of every attempt and sleeps 150 ms, so attempts that may run two at a time overlap
(8 attempts started two at a time, each sleeping 150 ms, overlap unless the engine serialises
them; the probe's start-up is far shorter than the sleep).  Checked:
  --cpus 1 -j 2                  no two attempts overlap; the note says "-j lowered to 1 for
                                 cpus=1" and names --allow-oversubscribe, on one line
  --pin 0 -j 2                   the same for pin=0
  --cpus 1 -j 2 --allow-oversubscribe   attempts overlap; the note says "-j 2 kept"
  --cpus 2 -j 2, --cpus 1 -j 1   nothing to say: no note
Needs 2 CPUs this process may use (else exit 77).
"""
import os
import subprocess
import sys
import tempfile

FM = sys.argv[1]
failures = checks = 0

PROBE = r'''
import os, sys, time
n = len(os.sched_getaffinity(0))
start = time.monotonic_ns()
time.sleep(0.15)
end = time.monotonic_ns()
with open(sys.argv[1], "a") as f:
    f.write(f"{start} {end} {n}\n")
'''


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run_probe(tmp, name, *opts):
    log = os.path.join(tmp, f"{name}.log")
    r = subprocess.run([FM, "run", "--db", os.path.join(tmp, f"{name}.db"), "-n", "8", "--quiet",
                        *opts, "--", sys.executable, os.path.join(tmp, "probe.py"), log],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    with open(log) if os.path.exists(log) else open(os.devnull) as f:
        iv = [tuple(int(x) for x in line.split()) for line in f if line.strip()]
    check(r.returncode == 0 and len(iv) == 8, f"{name}: exit {r.returncode}, {len(iv)} attempts, "
                                              f"stderr {r.stderr!r}")
    overlaps = sum(1 for i, a in enumerate(iv) for b in iv[i + 1:] if a[0] < b[1] and b[0] < a[1])
    return iv, overlaps, r.stderr


def main():
    if len(os.sched_getaffinity(0)) < 2:
        print("SKIP: needs 2 CPUs this process may use")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "probe.py"), "w") as f:
            f.write(PROBE)
        cpu0 = str(min(os.sched_getaffinity(0)))
        for name, opts, what in (("cpus1", ["--cpus", "1"], "cpus=1"),
                                 ("pin0", ["--pin", cpu0], f"pin={cpu0}")):
            iv, ov, err = run_probe(tmp, name, "-j", "2", *opts)
            check(ov == 0 and all(x[2] == 1 for x in iv),
                  f"{name} -j 2: {ov} overlapping pairs, affinities {[x[2] for x in iv]}")
            check(f"-j lowered to 1 for {what}:" in err and "--allow-oversubscribe" in err
                  and len(err.strip().splitlines()) == 1, f"{name} -j 2: one note line: {err!r}")
            print(f"  {' '.join(opts)} -j 2: {len(iv)} attempts, none overlapping; note: "
                  f"{err.strip()}")
        iv, ov, err = run_probe(tmp, "allow", "-j", "2", "--cpus", "1", "--allow-oversubscribe")
        check(ov > 0, f"--allow-oversubscribe: attempts overlap ({ov} pairs)")
        check("-j 2 kept for cpus=1 (--allow-oversubscribe)" in err
              and len(err.strip().splitlines()) == 1, f"--allow-oversubscribe: note {err!r}")
        print(f"  --cpus 1 -j 2 --allow-oversubscribe: {ov} overlapping pairs; note: "
              f"{err.strip()}")
        iv, ov, err = run_probe(tmp, "cpus2", "-j", "2", "--cpus", "2")
        check(err.strip() == "" and ov > 0, f"--cpus 2 -j 2: no note ({err!r}), attempts overlap "
                                            f"({ov} pairs)")
        iv, ov, err = run_probe(tmp, "j1", "-j", "1", "--cpus", "1")
        check(err.strip() == "" and ov == 0, f"--cpus 1 -j 1: no note ({err!r}), {ov} overlaps")
    print(f"{checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
