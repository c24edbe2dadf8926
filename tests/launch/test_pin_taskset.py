#!/usr/bin/env python3
"""`flakemeter run --pin 0` places and schedules a command as `taskset -c 0` does (issue 18).

usage: test_pin_taskset.py FLAKEMETER

A probe (Python, the same interpreter for both) records what the kernel says about itself:
sched_getaffinity and Cpus_allowed_list (/proc/self/status), the scheduling policy and its
priority, the nice value, the timer slack (/proc/self/timerslack_ns), the cgroup, the autogroup,
and then, over 300 ms of alternating busy loops and 1 ms sleeps (each wake-up a chance to be
placed elsewhere), the CPU it ran on (field 39 of /proc/self/stat, sampled 3000 times) and
se.nr_migrations of /proc/self/sched before and after.  It runs 3 times under
`flakemeter run --pin 0 -j 1` for each launch mode this flakemeter takes (fork, spawn; shell
and clone when they exist) and 3
times under `taskset -c 0`, interleaved.  Every field must be the same under both, every sample
on CPU 0, and no migration while the probe runs.  Without /proc/self/sched (a kernel without
CONFIG_SCHED_DEBUG) the migration part is skipped, saying so; without CPU 0 in this process's
affinity, or without taskset, the whole test exits 77.  Deterministic: pinned to one CPU the
kernel cannot run the probe elsewhere, so any difference is flakemeter's own doing.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

FM = sys.argv[1]
failures = checks = 0

PROBE = r'''
import json, os, sys, time
def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
def migrations():
    s = read("/proc/self/sched")
    if s is None:
        return None
    for line in s.splitlines():
        if line.startswith("se.nr_migrations"):
            return int(line.split(":")[1])
    return None
def cpu():
    s = read("/proc/self/stat")
    return int(s[s.rindex(")") + 2:].split()[36])
status = read("/proc/self/status")
allowed = [l.split(":", 1)[1].strip() for l in status.splitlines() if l.startswith("Cpus_allowed_list")][0]
m0 = migrations()
cpus = set()
deadline = time.monotonic() + 0.3
n = 0
while time.monotonic() < deadline or n < 3000:
    for _ in range(200):
        pass
    cpus.add(cpu())
    n += 1
    if n % 100 == 0:
        time.sleep(0.001)
m1 = migrations()
out = {
    "affinity": sorted(os.sched_getaffinity(0)),
    "cpus_allowed_list": allowed,
    "policy": os.sched_getscheduler(0),
    "sched_priority": os.sched_getparam(0).sched_priority,
    "nice": os.getpriority(os.PRIO_PROCESS, 0),
    "timerslack_ns": (read("/proc/self/timerslack_ns") or "").strip(),
    "cgroup": (read("/proc/self/cgroup") or "").strip(),
    "autogroup": (read("/proc/self/autogroup") or "").split(" nice ")[-1].strip(),
    "ran_on": sorted(cpus),
    "samples": n,
    "migrations": None if m0 is None or m1 is None else m1 - m0,
}
with open(os.path.join(sys.argv[1], f"{sys.argv[2]}-{os.getpid()}.json"), "w") as f:
    json.dump(out, f)
'''

SAME = ("affinity", "cpus_allowed_list", "policy", "sched_priority", "nice", "timerslack_ns",
        "cgroup", "autogroup")


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def launch_modes(tmp):
    """The launch modes this flakemeter takes (fork and spawn; shell, clone once they exist)."""
    modes = []
    for mode in ("fork", "spawn", "shell", "clone"):
        r = subprocess.run([FM, "run", "--db", os.path.join(tmp, "modes.db"), "-n", "1",
                            "--quiet", "--launch", mode, "--", "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode == 2 and "--launch" in r.stderr:
            continue
        check(r.returncode == 0, f"--launch {mode} -- true: {r.stderr!r}")
        modes.append(mode)
    check("fork" in modes, f"launch modes: {modes}")
    return modes


def load(d, tag):
    out = []
    for name in sorted(os.listdir(d)):
        if name.startswith(tag + "-"):
            with open(os.path.join(d, name)) as f:
                out.append(json.load(f))
    return out


def main():
    if 0 not in os.sched_getaffinity(0) or shutil.which("taskset") is None:
        print("skip: needs CPU 0 in this process's affinity and taskset (util-linux)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        modes = launch_modes(tmp)
        probe = os.path.join(tmp, "probe.py")
        with open(probe, "w") as f:
            f.write(PROBE)
        for i in range(3):
            r = subprocess.run(["taskset", "-c", "0", sys.executable, probe, tmp, "taskset"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            check(r.returncode == 0, f"taskset probe: {r.stderr!r}")
            for mode in modes:
                r = subprocess.run([FM, "run", "--db", os.path.join(tmp, f"{mode}.db"),
                                    # like for like: taskset puts its child in no cgroup of
                                    # its own, so flakemeter's per-attempt cgroup is off here
                                    "--pin", "0", "-j", "1", "-n", "1", "--launch", mode,
                                    "--cgroup", "off",
                                    "--quiet", "--", sys.executable, probe, tmp, f"fm_{mode}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                check(r.returncode == 0, f"flakemeter --launch {mode} probe: {r.stderr!r}")
        ref = load(tmp, "taskset")
        check(len(ref) == 3, f"3 taskset probes: {len(ref)}")
        no_sched = any(x["migrations"] is None for x in ref)
        if no_sched:
            print("  (no /proc/self/sched: CONFIG_SCHED_DEBUG off; migrations not compared)")
        for x in ref:
            check(x["ran_on"] == [0] and x["affinity"] == [0] and x["cpus_allowed_list"] == "0",
                  f"taskset -c 0 itself: {x}")
        for mode in modes:
            got = load(tmp, f"fm_{mode}")
            check(len(got) == 3, f"3 flakemeter --launch {mode} probes: {len(got)}")
            for x in got:
                for key in SAME:
                    check(x[key] == ref[0][key],
                          f"--launch {mode} --pin 0: {key} {x[key]!r}, taskset -c 0 {ref[0][key]!r}")
                check(x["ran_on"] == [0], f"--launch {mode}: ran on CPUs {x['ran_on']}")
                if not no_sched:
                    check(x["migrations"] == 0, f"--launch {mode}: {x['migrations']} migrations")
            if not got:
                continue
            print(f"  --launch {mode} --pin 0 vs taskset -c 0: "
                  + ", ".join(f"{k}={got[0][k]!r}" for k in ("cpus_allowed_list", "policy",
                                                              "nice", "timerslack_ns",
                                                              "ran_on", "migrations")))
    print(f"pin vs taskset: {checks} checks, {failures} failed")
    sys.exit(1 if failures else 0)


main()
