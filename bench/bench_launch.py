#!/usr/bin/env python3
"""Launch throughput against a bare posix_spawn loop measured in the same rounds (issue 19).

usage: bench/bench_launch.py BUILD_DIR [--runs N] [--rounds R] [--old OLD_BUILD] [--json FILE]
                             [--cgroups-only]

1. /bin/true at -j 2: every launcher runs once per round, in turn (interleaved, the order
   rotated each round), and its rate is divided by the rate of bench/spawn_loop.c (posix_spawn +
   waitpid, J in flight, output to /dev/null: the ceiling) of the same round.  Reported: the
   median ratio over the rounds with its interquartile range, and the median rate.  Launchers:
   flakemeter's default (clone) and --launch spawn|fork|shell, --output file|null, xargs -P 2, a
   bash loop (one at a time), GNU parallel -j 2, hyperfine -N (one at a time) and Go's stress
   (Debian golang-golang-x-tools: golang-stress) where installed.  The default is `--cgroup auto`:
   as root (or with a delegated cgroup) every attempt runs in a cgroup of its own, and its row
   names the containment `run --json` reports; `--cgroup off` is the same launch without one.
3. Containment (issue 19 against issue 14's per-attempt cgroups), its own interleaved rounds:
   spawn_loop, the default (cgroups), `--cgroup off` and `--launch spawn` of this build and,
   with --old, of the old one.  --cgroups-only runs just this table.
2. With --old (a build of the code before this change, e.g. of `git archive main`): in the same
   rounds, the built-in workload path (`run bernoulli p=0.1`, a fork per run without exec) of
   the old and the new flakemeter, and the start rate of the old and the new fm-stress exec'd by
   spawn_loop (the new one no longer maps libcrypto).  Also the runner's mappings
   (/proc/PID/maps) during a run, old and new.
The load average before and after is printed; the machine is shared, so only same-round ratios
mean anything.
"""
import argparse
import json
import os
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
    """golang-stress has no run count: read its 5-second status lines, then kill it."""
    with tempfile.TemporaryFile("w+") as log:
        p = subprocess.Popen(["golang-stress", "-p", "2", "/bin/true"], stdout=log,
                             stderr=subprocess.STDOUT)
        time.sleep(seconds)
        p.kill()
        p.wait()
        log.seek(0)
        out = log.read()
    import re
    best = None
    for m in re.finditer(r"(\d+)s: (\d+) runs so far", out):
        best = (int(m.group(1)), int(m.group(2)))
    return best[1] / best[0] if best else None


def launchers(build, n, tmp):
    fm = os.path.join(build, "cli", "flakemeter")
    loop = os.path.join(build, "bench", "spawn_loop")
    db = os.path.join(tmp, "bench.db")
    seq = "\n".join(str(i) for i in range(n)) + "\n"

    def flakemeter(*opts):
        def go():
            if os.path.exists(db):
                os.remove(db)
            return n / timed([fm, "run", "-n", str(n), "-j", "2", "--quiet", "--db", db, *opts,
                              "--", "/bin/true"])
        return go

    t = {
        "spawn_loop (baseline)": lambda: n / timed([loop, str(n), "2", "/bin/true"]),
        f"flakemeter (default: clone, {containment(fm, tmp)})": flakemeter(),
        "flakemeter --cgroup off": flakemeter("--cgroup", "off"),
        "flakemeter --launch spawn": flakemeter("--launch", "spawn"),
        "flakemeter --launch fork": flakemeter("--launch", "fork"),
        "flakemeter --launch shell": flakemeter("--launch", "shell"),
        "flakemeter --output null": flakemeter("--output", "null"),
        "flakemeter --output file": flakemeter("--output", "file"),
        "xargs -P 2": lambda: n / timed(["xargs", "-P", "2", "-I{}", "/bin/true"],
                                        input=seq.encode()),
        "bash loop (-j 1)": lambda: n / timed(["bash", "-c", f"for ((i=0;i<{n};i++)); do "
                                               "/bin/true; done"]),
    }
    if shutil.which("parallel"):
        m = max(n // 10, 50)  # about 100x slower per job: fewer runs, same rate
        t["GNU parallel -j 2"] = lambda: m / timed(
            ["parallel", "-j", "2", "/bin/true", ":::"] + [str(i) for i in range(m)])
    if shutil.which("hyperfine"):
        m = max(n // 4, 50)
        t["hyperfine -N (-j 1)"] = lambda: m / timed(
            ["hyperfine", "-N", "--runs", str(m), "--warmup", "0", "/bin/true"])
    if shutil.which("golang-stress"):
        t["golang-stress -p 2"] = go_stress_rate
    return t


def containment(fm, tmp):
    """What `run` contains an attempt in here by default ("cgroup v2", "sweep", ...)."""
    db = os.path.join(tmp, "probe.db")
    r = subprocess.run([fm, "run", "-n", "1", "--quiet", "--json", "--db", db, "--", "/bin/true"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    os.remove(db)
    try:
        return json.loads(r.stdout).get("containment", "?")
    except ValueError:
        return "?"


def contain_rows(build, old, n, tmp):
    loop = os.path.join(build, "bench", "spawn_loop")
    t = {"spawn_loop (baseline)": lambda: n / timed([loop, str(n), "2", "/bin/true"])}
    for tag, b in (("new", build), ("old", old)):
        if b is None:
            continue
        fm = os.path.join(b, "cli", "flakemeter")
        db = os.path.join(tmp, f"c-{tag}.db")

        def row(*opts, fm=fm, db=db):
            def go():
                if os.path.exists(db):
                    os.remove(db)
                return n / timed([fm, "run", "-n", str(n), "-j", "2", "--quiet", "--db", db, *opts,
                                  "--", "/bin/true"])
            return go
        t[f"{tag}: default ({containment(fm, tmp)})"] = row()
        t[f"{tag}: --cgroup off"] = row("--cgroup", "off")
        t[f"{tag}: --launch spawn ({containment(fm, tmp)})"] = row("--launch", "spawn")
    return t


def old_new(build, old, n, tmp):
    loop = os.path.join(build, "bench", "spawn_loop")
    t = {"spawn_loop (baseline)": lambda: n / timed([loop, str(n), "2", "/bin/true"])}
    for tag, b in (("old", old), ("new", build)):
        fm = os.path.join(b, "cli", "flakemeter")
        stress = os.path.join(b, "workloads", "fm-stress")
        db = os.path.join(tmp, f"wl-{tag}.db")

        def wl(fm=fm, db=db):
            if os.path.exists(db):
                os.remove(db)
            return n / timed([fm, "run", "-n", str(n), "-j", "2", "--quiet", "--db", db,
                              "bernoulli", "p=0.1"])
        t[f"built-in bernoulli, {tag} flakemeter"] = wl
        t[f"fm-stress exec'd by spawn_loop, {tag}"] = (
            lambda stress=stress: n / timed([loop, str(n), "2", stress, "bernoulli", "p=0.1"]))
    return t


def interleave(table, rounds):
    """Per round: every tool once (order rotated), its rate and its ratio to the baseline."""
    names = list(table)
    rates = {k: [] for k in names}
    ratios = {k: [] for k in names}
    for r in range(rounds):
        got = {}
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            got[name] = table[name]()
        base = got["spawn_loop (baseline)"]
        for name, v in got.items():
            if v is not None:
                rates[name].append(v)
                ratios[name].append(v / base)
    return rates, ratios


def summary(rates, ratios):
    out = {}
    for name in rates:
        if not ratios[name]:
            out[name] = None
            continue
        q = statistics.quantiles(ratios[name], n=4) if len(ratios[name]) > 1 else [ratios[name][0]] * 3
        out[name] = {"rate": statistics.median(rates[name]), "ratio": statistics.median(ratios[name]),
                     "q1": q[0], "q3": q[2]}
    return out


def show(title, s):
    print(title)
    print(f"  {'launcher':40} {'runs/s':>8} {'ratio':>7}  IQR")
    for name, v in s.items():
        if v is None:
            print(f"  {name:40} missing")
        else:
            print(f"  {name:40} {v['rate']:8.0f} {v['ratio']:7.3f}  {v['q1']:.3f}-{v['q3']:.3f}")


def maps_of(build, tmp, tag):
    fm = os.path.join(build, "cli", "flakemeter")
    db = os.path.join(tmp, f"maps-{tag}.db")
    p = subprocess.Popen([fm, "run", "-n", "1000000", "-j", "2", "--quiet", "--db", db,
                          "bernoulli", "p=0.1"], stdout=subprocess.DEVNULL)
    time.sleep(2)
    with open(f"/proc/{p.pid}/maps") as f:
        lines = f.read().splitlines()
    p.kill()
    p.wait()
    libs = sorted({ln.split()[-1].rsplit("/", 1)[-1] for ln in lines if ".so" in ln})
    return len(lines), libs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--old")
    ap.add_argument("--json")
    ap.add_argument("--cgroups-only", action="store_true")
    a = ap.parse_args()
    out = {"runs": a.runs, "rounds": a.rounds, "load_before": os.getloadavg()}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        s = summary(*interleave(contain_rows(a.build, a.old, a.runs, tmp), a.rounds))
        show(f"containment: /bin/true, -j 2, {a.runs} runs, {a.rounds} interleaved rounds", s)
        out["contain"] = s
        if not a.cgroups_only:
            s = summary(*interleave(launchers(a.build, a.runs, tmp), a.rounds))
            show(f"/bin/true, -j 2, {a.runs} runs, {a.rounds} interleaved rounds "
                 "(ratio: median of the per-round ratios to spawn_loop)", s)
            out["true"] = s
        if a.old and not a.cgroups_only:
            s = summary(*interleave(old_new(a.build, a.old, a.runs, tmp), a.rounds))
            show("old against new (same rounds)", s)
            out["old_new"] = s
            for tag, b in (("old", a.old), ("new", a.build)):
                n, libs = maps_of(b, tmp, tag)
                print(f"  {tag} runner: {n} mappings; libraries: {' '.join(libs)}")
                out[f"maps_{tag}"] = {"count": n, "libs": libs}
    out["load_after"] = os.getloadavg()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
