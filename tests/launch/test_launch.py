#!/usr/bin/env python3
"""Every launch (clone, the default; fork; spawn; shell) and output (pipe, file, null) path.

usage: test_launch.py FLAKEMETER [LAUNCHES]
For each launch: a timeout kills the attempt's whole process group; a missing command is one
error row and exit 2; a command whose exec fails (a missing interpreter) gives at most one error
row per parallel slot and its errno; the run's child has every condition applied (process group
of its own, affinity, nice, the quota cgroup where one can be made, stdin /dev/null, an empty
signal mask, SIGPIPE/SIGINT at default although the runner ignores them, the attempt's
environment, and where `run` contains attempts in cgroup v2: born in the attempt's own cgroup,
below the quota's); its output arrives through pipe and file, and nothing through null.  Each
attempt is alone in its cgroup although a slot's cgroup is reused while empty, and one that held
an escaped process is not reused (test_cgroup_reuse).  Then the
runner's file descriptors and mappings stay flat over LAUNCHES (default 20000; the 1e5 of
bench/README.md by hand: FM_TEST_LAUNCHES=100000) launches of /bin/true: sampled while it runs,
they may differ only by what the runs in flight hold.  Nothing here asserts on timing.
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

FM = sys.argv[1]
LAUNCHES = int(os.environ.get("FM_TEST_LAUNCHES", sys.argv[2] if len(sys.argv) > 2 else 20000))
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args, timeout=300, **kw):
    return subprocess.run([FM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, **kw)


def rows(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def quota_works(tmp):
    r = run("run", "--db", os.path.join(tmp, "q.db"), "-n", "1", "--quiet", "--quota", "1", "--",
            "true")
    return r.returncode == 0


def test_group_kill(tmp, launch):
    """A timeout kills the whole group: the background sleeps die with their attempt."""
    db = os.path.join(tmp, f"g-{launch}.db")
    pids = os.path.join(tmp, f"pids-{launch}")
    os.makedirs(pids, exist_ok=True)
    script = f'sleep 300 & echo $! > {pids}/$FLAKEMETER_RUN; sleep 300'
    r = run("run", "--db", db, "-n", "4", "-j", "2", "--quiet", "--timeout", "0.5", "--grace",
            "0.2", "--launch", launch, "--", "sh", "-c", script)
    check(r.returncode == 0, f"{launch}: group kill run: exit {r.returncode}: {r.stderr}")
    got = rows(db, "SELECT count(*) FROM runs WHERE outcome = 3")[0][0]
    check(got == 4, f"{launch}: 4 timeouts, got {got}")
    left = []
    for name in os.listdir(pids):
        with open(os.path.join(pids, name)) as f:
            pid = int(f.read())
        deadline = time.monotonic() + 5
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if alive(pid):
            left.append(pid)
            os.kill(pid, signal.SIGKILL)
    check(len(os.listdir(pids)) == 4 and not left,
          f"{launch}: background processes of timed-out attempts left: {left}")


def test_missing(tmp, launch):
    """A missing command: one error row, exit 2, one line; an exec that fails: at most one error
    row per slot, the errno in the line."""
    db = os.path.join(tmp, f"m-{launch}.db")
    r = run("run", "--db", db, "-n", "50", "-j", "2", "--quiet", "--launch", launch, "--",
            os.path.join(tmp, "no-such-command"))
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "No such file" in lines[0],
          f"{launch}: missing command: exit {r.returncode}, {r.stderr!r}")
    n = rows(db, "SELECT count(*), min(outcome), max(outcome) FROM runs")[0]
    check(n == (1, 4, 4), f"{launch}: one error row for a missing command, got {n}")
    if launch == "shell":
        return  # the shell reports its exec failure as exit 127, as a CI step sees it
    bad = os.path.join(tmp, "bad-interpreter")
    with open(bad, "w") as f:
        f.write("#!/no/such/interpreter\nexit 0\n")
    os.chmod(bad, 0o755)
    db = os.path.join(tmp, f"x-{launch}.db")
    r = run("run", "--db", db, "-n", "50", "-j", "2", "--quiet", "--launch", launch, "--", bad)
    check(r.returncode == 2 and "No such file or directory" in r.stderr,
          f"{launch}: failed exec: exit {r.returncode}, {r.stderr!r}")
    n = rows(db, "SELECT count(*), min(outcome) FROM runs WHERE outcome = 4")[0]
    total = rows(db, "SELECT count(*) FROM runs")[0][0]
    check(1 <= n[0] <= 2 and total <= 2, f"{launch}: failed exec: errors {n}, rows {total}")


# The shell's own mask and ignored set are read first and with builtins only: dash blocks every
# signal while it forks, so a child reading /proc/$$/status later could see that.
PROBE = r'''
while read -r k v; do
  case $k in SigBlk:|SigIgn:|Cpus_allowed_list:) echo "$k $v";; esac
done < /proc/self/status
echo "pgrp_is_self=$( [ "$(cut -d' ' -f5 /proc/$$/stat)" = "$$" ] && echo y || echo n)"
echo "pgrp=$(cut -d' ' -f5 /proc/$$/stat)"
echo "nice=$(cut -d' ' -f19 /proc/$$/stat)"
echo "stdin=$(readlink /proc/$$/fd/0)"
echo "cgroup=$(cat /proc/$$/cgroup | tr '\n' ' ')"
echo "env=$FLAKEMETER_SEED/$FLAKEMETER_RUN/$FLAKEMETER_ATTEMPT/${FLAKEMETER_RUNNER:+set}"
exit 1
'''


def parse_probe(text):
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=") if "=" in line and ":" not in line.split("=")[0] \
            else line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def test_conditions(tmp, launch, quota):
    db = os.path.join(tmp, f"c-{launch}.db")
    probe = run("run", "--db", os.path.join(tmp, f"p-{launch}.db"), "-n", "1", "--quiet",
                "--json", *(["--quota", "1"] if quota else []), "--", "true")
    contained_v2 = probe.returncode == 0 and json.loads(probe.stdout).get(
        "containment", "").startswith("cgroup v2")
    cpus = sorted(os.sched_getaffinity(0))
    extra = ["--quota", "1"] if quota else []
    # Python ignores SIGPIPE; restore_signals=False hands that (and SIGXFSZ) to flakemeter.
    r = subprocess.run([FM, "run", "--db", db, "-n", "3", "-j", "1", "--quiet", "--seed", "7",
                        "--pin", str(cpus[-1]), "--nice", "3", *extra, "--launch", launch,
                        "--", "sh", "-c", PROBE], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120, restore_signals=False)
    check(r.returncode == 0, f"{launch}: conditions run: exit {r.returncode}: {r.stderr}")
    tails = rows(db, "SELECT run_index, tail FROM evidence ORDER BY run_index")
    check(len(tails) == 3, f"{launch}: evidence of 3 runs, got {len(tails)}")
    me = os.getpgrp()
    for idx, tail in tails:
        p = parse_probe(bytes(tail).decode())
        if launch != "shell":  # through the shell, the shell leads the group
            check(p.get("pgrp_is_self") == "y", f"{launch}: own process group: {p}")
        check(p.get("pgrp") and int(p["pgrp"]) != me, f"{launch}: not in the test's group: {p}")
        check(p.get("nice") == "3", f"{launch}: nice 3: {p.get('nice')}")
        check(p.get("Cpus_allowed_list") == str(cpus[-1]),
              f"{launch}: pinned to {cpus[-1]}: {p.get('Cpus_allowed_list')}")
        check(p.get("SigBlk") == "0000000000000000", f"{launch}: empty mask: {p.get('SigBlk')}")
        ign = int(p.get("SigIgn", "f"), 16)
        for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            check(not ign & (1 << (sig - 1)), f"{launch}: {sig.name} not ignored: {p}")
        check(p.get("stdin") == "/dev/null", f"{launch}: stdin {p.get('stdin')}")
        check(p.get("env") == f"7/{idx}/1/set", f"{launch}: environment {p.get('env')}")
        if quota:
            check("flakemeter-" in p.get("cgroup", ""), f"{launch}: in the quota cgroup: {p}")
        v2 = [c for c in p.get("cgroup", "").split() if c.startswith("0::")]
        if contained_v2:
            # the quota's cgroup "flakemeter-PID": v2 (the attempt's is below it) or v1 cpu
            check(v2 and "/flakemeter-run-" in v2[0] and (not quota or any(
                  "/flakemeter-" + d in p["cgroup"] for d in "0123456789")),
                  f"{launch}: in its attempt's cgroup (and the quota's): {p.get('cgroup')}")


def test_outputs(tmp, launch):
    """The same output through pipe and file; none through null; regexes refused with null."""
    script = 'printf "line1\\n"; printf "err2\\n" >&2; head -c 100000 /dev/zero | tr "\\0" x; ' \
             'printf "\\nend\\n"; exit 1'
    for out in ("pipe", "file", "null"):
        db = os.path.join(tmp, f"o-{launch}-{out}.db")
        r = run("run", "--db", db, "-n", "2", "-j", "2", "--quiet", "--launch", launch,
                "--output", out, "--", "sh", "-c", script)
        check(r.returncode == 0, f"{launch}/{out}: exit {r.returncode}: {r.stderr}")
        ev = rows(db, "SELECT output_bytes, tail FROM evidence")
        check(len(ev) == 2, f"{launch}/{out}: 2 evidence rows, got {len(ev)}")
        for nbytes, tail in ev:
            if out == "null":
                check(nbytes == 0 and len(tail) == 0, f"{launch}/null: no output: {nbytes}")
            else:
                check(nbytes == 6 + 5 + 100000 + 5 and bytes(tail).endswith(b"x\nend\n"),
                      f"{launch}/{out}: output {nbytes} bytes, tail {bytes(tail)[-12:]!r}")
    db = os.path.join(tmp, f"o-{launch}-regex.db")
    kk = os.path.join(tmp, "kept")
    r = run("run", "--db", db, "-n", "3", "--output", "null", "--fail-regex", "x", "--", "true")
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and
          "output=null" in r.stderr and not os.path.exists(db),
          f"output=null with --fail-regex: exit {r.returncode}, {r.stderr!r}")


# Each attempt alone in its cgroup, though a slot's cgroup is reused while empty (fm_cgroup.h):
# every process listed in the attempt's v2 cgroup carries the attempt's own FLAKEMETER_RUN.  With
# ESCAPE set, even runs leave an escaped sleeper behind (setsid: not killed with the group), which
# must die with its attempt and never be found by a later attempt in its cgroup; without, the
# two slots' cgroups take every attempt.
CG_PROBE = r'''
rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
echo "cg=$rel"
for p in $(cat "$CGMNT$rel/cgroup.procs"); do
  tr '\0' '\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^FLAKEMETER_RUN=/run=/p'
done
if [ -n "$ESCAPE" ] && [ $((FLAKEMETER_RUN % 2)) = 0 ]; then
  setsid "$SLEEPER" 30 >/dev/null 2>&1 &
fi
exit 1
'''


def v2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"]:
                return left.split()[4]
    return None


def test_cgroup_reuse(tmp, launch, escape):
    mnt = v2_mount()
    launch_tag = launch
    launch = launch + ("-escape" if escape else "")
    db = os.path.join(tmp, f"cg-{launch}.db")
    sleeper = os.path.join(tmp, f"fmcg{os.getpid()}-{launch}")  # a name only this test uses
    if not os.path.exists(sleeper):
        os.symlink(subprocess.run(["sh", "-c", "command -v sleep"], stdout=subprocess.PIPE,
                                  text=True).stdout.strip(), sleeper)
    kept = os.path.join(tmp, f"cg-{launch}")  # every output (the store keeps 3 per cause)
    os.makedirs(kept, exist_ok=True)
    r = subprocess.run([FM, "run", "--db", db, "-n", "12", "-j", "2", "--quiet", "--json",
                        "--keep-output", kept, "--cgroup", "v2", "--launch", launch_tag, "--", "sh",
                        "-c", CG_PROBE],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                       env=dict(os.environ, CGMNT=mnt or "", SLEEPER=sleeper,
                                ESCAPE="1" if escape else ""))
    if mnt is None or r.returncode == 2 and "--cgroup v2" in r.stderr:
        print(f"  {launch}: no usable cgroup v2 here: reuse not checked ({r.stderr.strip()})")
        return
    check(r.returncode == 0, f"{launch}: cgroup run: exit {r.returncode}: {r.stderr}")
    used = set()
    check(len(os.listdir(kept)) == 12, f"{launch}: 12 outputs kept: {os.listdir(kept)}")
    for name in sorted(os.listdir(kept)):
        idx = int(name.split("-")[1])
        with open(os.path.join(kept, name)) as f:
            text = f.read()
        cg = [ln[3:] for ln in text.splitlines() if ln.startswith("cg=")]
        runs = {ln[4:] for ln in text.splitlines() if ln.startswith("run=")}
        check(len(cg) == 1 and "/flakemeter-run-" in cg[0],
              f"{launch}: run {idx} in an attempt cgroup: {text!r}")
        check(runs == {str(idx)}, f"{launch}: run {idx}: its cgroup holds runs {runs}")
        used.update(cg)
    # 2 slots; a cgroup that held an escaped sleeper is retired, so at most one new per even run
    most = 2 + 6 if escape else 2
    check(1 <= len(used) <= most, f"{launch}: {len(used)} attempt cgroups for 12 runs at -j 2")
    left = subprocess.run(["pgrep", "-f", "^" + sleeper], stdout=subprocess.PIPE, text=True)
    mine = [int(p) for p in left.stdout.split()]
    check(not mine, f"{launch}: escaped sleepers outlived the campaign: {mine}")
    print(f"  {launch}: 12 attempts in {len(used)} cgroups, each alone in its own")


def counts(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/maps") as f:
        maps = sum(1 for _ in f)
    return fds, maps


def test_no_leaks(tmp, launch):
    db = os.path.join(tmp, f"leak-{launch}.db")
    p = subprocess.Popen([FM, "run", "--db", db, "-n", str(LAUNCHES), "-j", "2", "--quiet",
                          "--launch", launch, "--", "/bin/true"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    samples = []
    libs = set()
    mnt = v2_mount()
    own = ""
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                own = line[3:].strip()
    cg_most = -1  # the most attempt cgroups below the runner's set at once (-1: none seen)
    while p.poll() is None:
        try:
            done = rows(db, "SELECT count(*) FROM runs")[0][0] if os.path.exists(db) else 0
            if 1000 <= done <= LAUNCHES - 200:  # store, WAL and launch areas are in place
                c = counts(p.pid)
                if p.poll() is None and c[0] > 0:  # not exiting
                    samples.append((done, *c))
                    with open(f"/proc/{p.pid}/maps") as f:
                        libs |= {ln.split()[-1].rsplit("/", 1)[-1] for ln in f if ".so" in ln}
                    parent = (mnt or "") + own
                    for d in (os.listdir(parent) if mnt else []):
                        if d.startswith(f"flakemeter-run-{p.pid}-"):
                            cg_most = max(cg_most, sum(e.startswith("a") for e in os.listdir(
                                os.path.join(parent, d))))
        except (OSError, sqlite3.Error):
            pass
        time.sleep(0.05)
    err = p.stderr.read()
    check(p.returncode == 0, f"{launch}: {LAUNCHES} launches: exit {p.returncode}: {err}")
    n = rows(db, "SELECT count(*) FROM runs WHERE outcome = 0")[0][0]
    check(n == LAUNCHES, f"{launch}: {LAUNCHES} passes, got {n}")
    heavy = ("libxml2", "libicu", "libcrypto", "liblzma")
    if not any(x.startswith(("libasan", "libtsan")) for x in libs):  # they bring libstdc++
        heavy += ("libstdc++",)
    if any(x.startswith("libpq") for x in libs):
        # a build with the PostgreSQL store (-Dpostgresql) links libpq, which needs libssl and
        # libcrypto: mapped, though a SQLite run never calls them (docs/design.md, Launching)
        heavy = tuple(h for h in heavy if h != "libcrypto")
    heavy = sorted(x for x in libs if x.startswith(heavy))
    check(libs and not heavy, f"{launch}: the runner maps {heavy} (issue 19: run maps no XML or "
          "crypto library)")
    if len(samples) < 5:
        print(f"  {launch}: only {len(samples)} samples of the runner's fds and maps")
        return
    fds = [s[1] for s in samples]
    maps = [s[2] for s in samples]
    # in flight: per slot an output pipe and a set-up pipe (2 ends each while starting)
    check(max(fds) - min(fds) <= 8, f"{launch}: fds grew: {samples[0]} .. {samples[-1]}")
    # A leaked stack is a mapping (two with its guard page) per launch: thousands over the
    # samples' span.  Sanitizer allocators map new regions as they go (363 -> 371 seen under
    # ASan over 1600 launches), so there the bound is 32; plain builds stay within 4.
    sanitized = any(x.startswith(("libasan", "libtsan")) for x in libs)
    bound = 32 if sanitized else 4
    check(max(maps) - min(maps) <= bound,
          f"{launch}: mappings grew: {samples[0]} .. {samples[-1]} (bound {bound})")
    # a cgroup per slot, reused (nothing escapes /bin/true): never a cgroup per attempt
    check(cg_most <= 2, f"{launch}: {cg_most} attempt cgroups at once for 2 slots")
    print(f"  {launch}: {LAUNCHES} launches, fds {min(fds)}..{max(fds)}, "
          f"maps {min(maps)}..{max(maps)}, attempt cgroups at most "
          f"{cg_most if cg_most >= 0 else 'none (no cgroup v2 set)'} over {len(samples)} samples "
          f"(runs {samples[0][0]}..{samples[-1][0]})")


def main():
    launches = ["clone", "fork", "spawn", "shell"]
    with tempfile.TemporaryDirectory() as tmp:
        quota = quota_works(tmp)
        if not quota:
            print("  (no usable cgroup here: conditions checked without --quota)")
        for launch in launches:
            test_group_kill(tmp, launch)
            test_missing(tmp, launch)
            test_conditions(tmp, launch, quota)
            test_outputs(tmp, launch)
            test_cgroup_reuse(tmp, launch, False)
            test_cgroup_reuse(tmp, launch, True)
        for launch in ("clone", "fork"):
            test_no_leaks(tmp, launch)
    print(f"test_launch: {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
