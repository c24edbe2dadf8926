#!/usr/bin/env python3
"""Run conditions and `flakemeter sweep` end to end (issue 7).

usage: test_sweep.py FLAKEMETER FM_STRESS

1. stress_recurse publish=late window=100 (the built-in workload: the main thread busy-waits
   100 us between starting the thread and publishing its stack limit) under cpus=1 and cpus=2,
   3000 runs each, one at a time: the rates differ significantly (exact p < 1e-3) and, as
   upstream reports, pinned to one CPU it fails less (the new thread must start at once on
   another core).  Measured on the 2-core development VM on a quiet machine, per 1000: 91, 85,
   29 and 50 against 528, 540, 535 and 138 (docs/design.md, "Launching").  Sizing
   (tests/launch/size_sweep_test.R, exact sum over both binomials of R's fisher.test): if the
   true rates are at least 12 % (cpus=2) and at most 6 % (cpus=1), the check fails with
   probability 4.7e-7.
   Those rates hold only on a quiet machine: other processes on the CPUs preempt the main
   thread, and then the pinned cell fails more (one sweep beside a QEMU benchmark: 452 against
   276 of 1000).  So meson runs this test alone (is_parallel: false), the check is skipped
   when the machine is more than 30 % busy in the second before it, and it is reported as
   inconclusive, not failed, when processes other than this test's used more than 10 % of the
   CPUs during the sweep (/proc/stat minus this test's children's CPU time).  Under ASan or
   TSan only the difference is checked: the sanitizer's slow pthread_create reverses it (0 of
   1000 at cpus=2 against 358 of 1000 at cpus=1 in the ASan build).  The unpinned rate also
   swings over minutes on the VM (14 % to 97 %, and a few % in some stretches with nothing else
   running), so a pilot of 300 runs per cell comes first, and when fewer than 15 % crash (the
   unpinned cell in a plain build, either cell under a sanitizer, where it was once 26 and 13
   of 1000) the race is dormant and the check is skipped, saying so.
2. bernoulli p=0.2 over cpus x load: outcomes are a pure function of (seed, run index), so the
   counts are deterministic and equal fm-stress run alone at the cell's run indices (c mod 4);
   the exact homogeneity p-value is then a fixed number, and it is above 0.05 (no dependence).
   The false positive rate over many such sweeps is tests/test_stats_homog.c's job.
3. Leftovers: after a normal end, a SIGINT and a SIGKILL of flakemeter, no spinner (fm-load)
   and no run is alive, and the quota cgroup is gone (after SIGKILL: removed by the next start).
4. Conditions that cannot be applied: exit 2, one line, no store created.
5. JSON contract of sweep, `show` with conditions, a label continued under other conditions.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

FM, STRESS = sys.argv[1], sys.argv[2]
SANITIZED = len(sys.argv) > 3 and sys.argv[3] not in ("", "none")
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args, env=None, timeout=300):
    return subprocess.run([FM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, env=env)


def run_json_quiet(*args):
    r = run(args[0], "--json", "--quiet", *args[1:])
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        check(False, f"{args}: not JSON: {r.stdout!r} {r.stderr!r}")
        return {}


def sweep_json(*args):
    r = run("sweep", "--json", "--quiet", *args)
    check(r.returncode == 0, f"sweep {args}: exit {r.returncode}: {r.stderr.strip()}")
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        check(False, f"sweep {args}: not JSON: {r.stdout!r}")
        return {}


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def children(pid):
    """Direct children of pid (all its threads)."""
    out = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.update(int(x) for x in f.read().split())
    except OSError:
        pass
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def quota_works(tmp):
    r = run("run", "--db", os.path.join(tmp, "probe.db"), "-n", "1", "--quiet", "--quota",
            "0.5", "--", "true")
    return r.returncode == 0


def cgroups_of(pid):
    """Directories named flakemeter-PID below the cgroup mounts."""
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        for d in dirs:
            if d == f"flakemeter-{pid}":
                found.append(os.path.join(root, d))
        if root.count("/") > 6:
            dirs[:] = []
    return found


def busy_fraction(seconds=1.0):
    """Fraction of all CPUs' time spent busy over the next `seconds` (from /proc/stat)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)


def cpu_jiffies():
    """(busy, total) jiffies of all CPUs so far (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def test_recurse_cpus(tmp):
    busy = busy_fraction()
    if busy > 0.3:
        # Other processes preempt the main thread and move both cells; measuring it on a busy
        # machine would test the neighbours, not flakemeter.
        print(f"  (machine {busy:.0%} busy before the test: the stress_recurse cpus check is "
              "skipped)")
        return
    db = os.path.join(tmp, "r.db")
    # A pilot (its own runs, not counted below): on this VM the unpinned rate swings over
    # minutes (14 % to 97 %, and a few % in some stretches, with nothing else running), and
    # when the race is dormant there is nothing to compare.
    # Both cells: under the sanitizers the race shows pinned rather than unpinned (358 vs 0 of
    # 1000 once), and it can be dormant in both (26 vs 13 of 1000 once, in an ASan build).
    rates = {}
    for cpus in ("1", "2"):
        pilot = run_json_quiet("run", "--db", os.path.join(tmp, f"pilot{cpus}.db"), "-n", "300",
                               "-j", "1", "--cpus", cpus, "stress_recurse", "publish=late",
                               "window=100")
        rates[cpus] = pilot.get("crashed", 0) / 300
    if rates["2"] < 0.15 and not SANITIZED or max(rates.values()) < 0.15:
        print(f"  (pilot: only {rates['1']:.0%} pinned and {rates['2']:.0%} unpinned runs crashed, "
              "the race is dormant on this machine now: the stress_recurse cpus check is skipped)")
        return
    hz = os.sysconf("SC_CLK_TCK")
    b0, t0, c0 = *cpu_jiffies(), os.times()
    n = 1000 if SANITIZED else 3000
    o = sweep_json("--db", db, "-n", str(n), "-j", "1", "--vary", "cpus=1,2", "stress_recurse",
                   "publish=late", "window=100")
    b1, t1, c1 = *cpu_jiffies(), os.times()
    ours = (c1.children_user + c1.children_system - c0.children_user - c0.children_system) * hz
    others = max(0.0, (b1 - b0) - ours) / max(t1 - t0, 1)
    c = {e.get("cpus"): e for e in o.get("conditions", [])}
    one, two = c.get(1, {}), c.get(2, {})
    print(f"  stress_recurse window=100, -j 1: cpus=1 {one.get('failures')}/{one.get('runs')}"
          f", cpus=2 {two.get('failures')}/{two.get('runs')}, exact p = "
          f"{o.get('homogeneity_p')}, trend p = {o.get('trend_p')}; other processes used "
          f"{others:.0%} of the CPUs meanwhile")
    check(one.get("runs") == n and two.get("runs") == n, f"{n} runs each: {o}")
    if others > 0.10:
        print("  (other processes were busy during the sweep: the direction is not checked)")
        return
    check(o.get("homogeneity_test") == "exact" and o.get("homogeneity_p", 1) < 1e-3,
          f"cpus=1 vs cpus=2 differ significantly: p = {o.get('homogeneity_p')}")
    if SANITIZED:
        # A sanitizer's pthread_create takes so long that unpinned the thread never reads first
        # (measured under ASan: 0 of 1000 at cpus=2 against 358 of 1000 at cpus=1): only the
        # difference is checked there.
        print("  (sanitized build: the direction is not checked)")
        return
    check(one.get("estimate", 1) < two.get("estimate", 0),
          f"pinned to one CPU it fails less: {one.get('estimate')} vs {two.get('estimate')}")
    check(o.get("trend_variable") == "cpus" and o.get("trend_p") is not None
          and o.get("trend_z", 0) > 0, f"trend over cpus: {o}")


def standalone_fails(indices, p):
    fails = 0
    for i in indices:
        r = subprocess.run([STRESS, "bernoulli", f"p={p}", "--run", str(i)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fails += r.returncode != 0
    return fails


def test_bernoulli_sweep(tmp):
    db = os.path.join(tmp, "b.db")
    o = sweep_json("--db", db, "-n", "150", "-j", "2", "--rounds", "5", "--vary", "cpus=1,2",
                   "--vary", "load=0,1", "bernoulli", "p=0.2")
    keys = {"label", "varied", "conditions", "homogeneity_test", "homogeneity_p",
            "trend_variable", "trend_z", "trend_p", "confidence", "most", "least", "stop"}
    check(keys <= set(o), f"sweep keys: missing {keys - set(o)}")
    cells = o.get("conditions", [])
    check(len(cells) == 4 and o.get("varied") == ["cpus", "load"], f"4 cells: {cells}")
    for i, e in enumerate(cells):
        ckeys = {"cpus", "load", "runs", "failures", "estimate", "lower", "upper"}
        check(ckeys <= set(e), f"cell keys: missing {ckeys - set(e)}")
        want = standalone_fails(range(i, 4 * 150, 4), 0.2)
        check(e.get("runs") == 150 and e.get("failures") == want,
              f"cell {i}: {e.get('failures')} failures, fm-stress alone {want}")
        check(e.get("lower", 1) <= e.get("estimate", -1) <= e.get("upper", 0), f"CI {e}")
    print(f"  bernoulli p=0.2 over cpus x load: exact p = {o.get('homogeneity_p')}")
    check(o.get("homogeneity_p", 0) > 0.05, f"no dependence detected: {o.get('homogeneity_p')}")
    check(o.get("trend_p", 0) is None, "no trend test with two variables")
    # The store: one campaign per cell with its conditions, keys in the fixed order.
    con = sqlite3.connect(db)
    conds = sorted(c for (c,) in con.execute("SELECT conditions FROM campaigns"))
    con.close()
    check(conds == ['{"cpus":1,"load":0}', '{"cpus":1,"load":1}', '{"cpus":2,"load":0}',
                    '{"cpus":2,"load":1}'], f"stored conditions: {conds}")
    # Text output names the best and worst cells and the test.
    r = run("sweep", "--db", db, "-n", "10", "--quiet", "--vary", "cpus=1,2", "--vary",
            "load=0,1", "bernoulli", "p=0.2")
    check(r.returncode == 0 and "fails most with" in r.stdout and "homogeneity" in r.stdout,
          f"text: {r.stdout!r} {r.stderr!r}")
    # Workload parameters vary like conditions; show prints a cell's conditions.
    o = sweep_json("--db", db, "-n", "20", "--vary", "p=0.1,0.5", "bernoulli")
    check([e.get("p") for e in o.get("conditions", [])] == [0.1, 0.5], f"vary p: {o}")
    s = run("show", "--db", db, "bernoulli p=0.2 [cpus=2 load=1]")
    check(s.returncode == 0 and "conditions: cpus=2 load=1" in s.stdout, f"show: {s.stdout!r}")


def test_plot(tmp):
    png = os.path.join(tmp, "sweep.png")
    r = run("sweep", "--db", os.path.join(tmp, "p.db"), "-n", "50", "--quiet", "--vary",
            "p=0.05,0.2,0.5", "--plot", png, "bernoulli")
    if "gnuplot not found" in r.stderr:
        print("  (gnuplot missing: plot not checked)")
        return
    with open(png, "rb") as f:
        check(r.returncode == 0 and f.read(8) == b"\x89PNG\r\n\x1a\n", f"PNG: {r.stderr}")


def start_and_find(args, want_spinners):
    """Start flakemeter, wait until its spinners (fm-load) and a run are up."""
    p = subprocess.Popen([FM, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    spinners, runs = set(), set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kids = children(p.pid)
        spinners |= {k for k in kids if comm(k) == "fm-load"}
        # a spinner is "flakemeter" until it names itself, and so is a run until its exec
        runs |= {k for k in kids if comm(k) not in ("fm-load", "flakemeter")}
        if len(spinners) >= want_spinners and runs:
            break
        time.sleep(0.02)
    return p, spinners, runs


def wait_gone(pids, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(q) for q in pids):
        time.sleep(0.02)
    return [q for q in pids if alive(q)]


def test_leftovers(tmp):
    quota = quota_works(tmp)
    extra = ["--quota", "1"] if quota else []
    if not quota:
        print("  (no usable cgroup here: leftovers checked without --quota)")
    for how in ("end", "sigint", "sigkill"):
        db = os.path.join(tmp, f"l-{how}.db")
        n = "20" if how == "end" else "100000"
        p, spinners, runs = start_and_find(
            ["run", "--db", db, "-n", n, "-j", "2", "--quiet", "--load", "2", *extra, "--",
             "sleep", "0.05"], 2)
        check(len(spinners) == 2 and runs, f"{how}: saw spinners {spinners} and runs {runs}")
        groups = cgroups_of(p.pid) if quota else []
        check(not quota or groups, f"{how}: the campaign cgroup exists while running")
        if how == "sigint":
            p.send_signal(signal.SIGINT)
        elif how == "sigkill":
            p.send_signal(signal.SIGKILL)
        rc = p.wait(timeout=60)
        left = wait_gone(spinners | runs)
        check(not left, f"{how}: still alive after flakemeter ended: {left}")
        if how == "sigint":
            check(rc == 130, f"SIGINT: exit {rc}")
        if how != "sigkill":
            check(all(not os.path.exists(g) for g in groups), f"{how}: cgroup left: {groups}")
        elif quota:
            check(any(os.path.exists(g) for g in groups) or not groups,
                  "SIGKILL: the cgroup stays until the next start")
            run("run", "--db", db + "2", "-n", "1", "--quiet", "--quota", "1", "--", "true")
            check(all(not os.path.exists(g) for g in groups),
                  f"SIGKILL: the next start removed the stale cgroup: {groups}")


def test_bad_conditions(tmp):
    cases = [
        (["run", "--cpus", "64", "bernoulli"], "cpus=64"),
        (["run", "--pin", "0,4000", "bernoulli"], "CPU 4000"),
        (["run", "--emulator", "nosucharch", "bernoulli"], "not an emulated architecture"),
        (["run", "--cpus", "1", "--pin", "0", "bernoulli"], "exclude"),
        (["run", "--emulator", "aarch64", "--", "true"], "--emulator"),
        (["sweep", "--vary", "cpus=1,64", "bernoulli"], "cpus=64"),
        (["sweep", "--vary", "bogus=1,2", "bernoulli"], "bogus"),
        (["sweep", "--cpus", "1", "--vary", "cpus=1,2", "bernoulli"], "also given"),
        (["sweep", "--vary", "load=1,x", "bernoulli"], "load"),
        (["sweep", "--vary", "load=1,1", "bernoulli"], "twice"),
    ]
    env = dict(os.environ, FLAKEMETER_CGROUP=tmp)
    for args, word in cases + [(["run", "--quota", "0.5", "bernoulli"], "quota")]:
        db = os.path.join(tmp, "never.db")
        r = run(args[0], "--db", db, "-n", "5", *args[1:], env=env)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and word in lines[0],
              f"{args}: exit {r.returncode}, stderr {r.stderr!r}")
        check(not os.path.exists(db), f"{args}: a store was created")
    # Another label's conditions: continuing a campaign under other conditions is refused.
    db = os.path.join(tmp, "c.db")
    run("run", "--db", db, "-n", "5", "--quiet", "--label", "x", "--cpus", "1", "bernoulli")
    r = run("run", "--db", db, "-n", "5", "--quiet", "--label", "x", "--resume", "--cpus", "2", "bernoulli")
    check(r.returncode == 2 and "conditions" in r.stderr, f"conflict: {r.stderr!r}")


def test_long_values(tmp):
    """Two --vary values of 300+ characters (valid: leading zeros): once overflowed the cell's
    texts (ASan WRITE); now a clean result or one line and exit 2, nothing stored."""
    for n in (300, 1500):
        zeros = "0" * n
        for target in (["--", "true"], ["bernoulli"]):
            db = os.path.join(tmp, f"long{n}.db")
            r = run("sweep", "--db", db, "-n", "2", "--quiet", "--vary", f"nice={zeros},{zeros}1",
                    "--vary", f"load={zeros},{zeros}1", *target)
            lines = r.stderr.strip().splitlines()
            clean = r.returncode == 0 and "ERROR" not in r.stderr
            refused = (r.returncode == 2 and len(lines) == 1 and "too long" in lines[0]
                       and not os.path.exists(db))
            check(clean or refused, f"--vary of {n} characters {target}: exit {r.returncode}, "
                  f"stderr {r.stderr[:300]!r}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for t in (test_long_values, test_bad_conditions, test_bernoulli_sweep, test_plot, test_leftovers,
                  test_recurse_cpus):
            t(tmp)
    print(f"sweep end to end: {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
