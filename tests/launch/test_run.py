#!/usr/bin/env python3
"""`flakemeter run` and `show` end to end: outcomes, timeouts, retries, resume, signals, store.

usage: test_run.py FLAKEMETER FM_STRESS
The store is read back with Python's own sqlite3 module, an independent reader.  Workloads are
the seeded calibration ones (bernoulli, markov), whose outcome is a pure function of (seed, run,
attempt), so every count below is deterministic; fm-stress run standalone is the reference.
Nothing here asserts on timing beyond generous upper bounds on how long a hung run may last.
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
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args, timeout=120):
    return subprocess.run([FM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def run_json(*args):
    extra = ["--json", "--quiet"] if args[0] == "run" else ["--json"]
    r = run(args[0], *extra, *args[1:])
    check(r.returncode == 0, f"{args}: exit {r.returncode}: {r.stderr.strip()}")
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        check(False, f"{args}: not JSON: {r.stdout!r}")
        return {}


def rows(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def standalone_failures(workload, n, seed=0):
    """How many of runs 0..n-1 fail when fm-stress runs them one by one."""
    fails = 0
    for i in range(n):
        r = subprocess.run([STRESS, *workload, "--seed", str(seed), "--run", str(i)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fails += r.returncode != 0
    return fails


def test_bernoulli_counts_and_resume(tmp):
    db = os.path.join(tmp, "b.db")
    o = run_json("run", "--db", db, "-n", "300", "-j", "2", "bernoulli", "p=0.2")
    keys = {"runs", "passed", "failed", "crashed", "timed_out", "errors", "estimate", "lower",
            "upper", "attempts", "durations", "wall_seconds"}
    check(keys <= set(o), f"verdict keys: missing {keys - set(o)}")
    check({"point", "conservative", "bayes"} <= set(o.get("attempts", {})), f"attempts {o}")
    want = standalone_failures(["bernoulli", "p=0.2"], 300)
    check(o.get("runs") == 300 and o.get("failed") == want and o.get("passed") == 300 - want,
          f"runner counted {o.get('failed')} failures of 300, fm-stress alone {want}")
    check(o.get("lower", 1) <= 0.2 <= o.get("upper", 0), f"CI covers p = 0.2: {o}")
    # Resume (asked for): the same campaign continues with fresh run indices.
    o = run_json("run", "--db", db, "-n", "100", "-j", "2", "--resume", "bernoulli", "p=0.2")
    idx = rows(db, "SELECT run_index FROM runs ORDER BY run_index")
    check(o.get("runs") == 400 and [i for (i,) in idx] == list(range(400)),
          f"resume: {o.get('runs')} runs, indices 0..399 each once")
    s = run_json("show", "--db", db)
    check(s.get("runs") == 400 and s.get("failed") == o.get("failed"), f"show agrees: {s}")


def test_timeout_kills_group(tmp):
    db = os.path.join(tmp, "t.db")
    script = f"sleep 60 & echo $! > {tmp}/pid.$FLAKEMETER_RUN; wait"
    t0 = time.monotonic()
    o = run_json("run", "--db", db, "-n", "2", "-j", "2", "--timeout", "0.5", "--grace", "0.5",
                 "--", "sh", "-c", script)
    took = time.monotonic() - t0
    check(o.get("timed_out") == 2 and took < 30, f"2 timeouts, took {took:.1f}s: {o}")
    for i in range(2):
        pid = int(open(os.path.join(tmp, f"pid.{i}")).read())
        alive = os.path.exists(f"/proc/{pid}") and \
            open(f"/proc/{pid}/stat").read().split(") ")[1][0] != "Z"
        check(not alive, f"grandchild {pid} of run {i} outlived its run")


def test_crash_and_errors(tmp):
    db = os.path.join(tmp, "c.db")
    o = run_json("run", "--db", db, "-n", "3", "-j", "2", "--", "sh", "-c", "kill -SEGV $$")
    check(o.get("crashed") == 3, f"3 crashes: {o}")
    sig = rows(db, "SELECT DISTINCT signal FROM runs")
    check(sig == [(11,)], f"signal recorded: {sig}")
    text = run("run", "--db", db, "-n", "1", "--quiet", "--resume", "--", "sh", "-c",
               "kill -SEGV $$").stdout
    check("crashed 4" in text, f"text names crashes: {text!r}")
    # A command that does not exist: one error line, one error row, exit 2.
    db2 = os.path.join(tmp, "e.db")
    r = run("run", "--db", db2, "-n", "50", "--quiet", "--", "/nonexistent/flaky-test")
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "cannot start" in lines[0],
          f"missing command: exit {r.returncode}, stderr {r.stderr!r}")
    n = rows(db2, "SELECT count(*), min(outcome) FROM runs")
    check(n[0][0] == 1, f"one error recorded, not 50: {n}")
    # A script whose interpreter is missing is found, so it fails only at exec, after the fork:
    # still one line and exit 2, with at most one error row per parallel slot, by either launch.
    bad = os.path.join(tmp, "bad-interp.sh")
    with open(bad, "w") as f:
        f.write("#!/nonexistent/interpreter\necho hi\n")
    os.chmod(bad, 0o755)
    for launch in ("fork", "spawn"):
        db3 = os.path.join(tmp, f"i-{launch}.db")
        r = run("run", "--db", db3, "-n", "20", "-j", "2", "--quiet", "--launch", launch, "--", bad)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and "cannot start" in lines[0],
              f"exec failure, launch={launch}: exit {r.returncode}, stderr {r.stderr!r}")
        n = rows(db3, "SELECT count(*), min(outcome), max(outcome) FROM runs")
        check(1 <= n[0][0] <= 2 and n[0][1] == n[0][2] == 4, f"error rows only: {n}")
        c = rows(db3, "SELECT conditions FROM campaigns")
        check(c == [(f'{{"launch":"{launch}"}}',)], f"launch stored: {c}")
    r = run("run", "--db", db3, "-n", "1", "--launch", "vfork", "--", "true")
    check(r.returncode == 2 and "launch: 'vfork' is not clone, fork, spawn or shell" in r.stderr,
          f"bad launch: {r.returncode} {r.stderr!r}")


def test_regex_and_keep(tmp):
    db = os.path.join(tmp, "r.db")
    o = run_json("run", "--db", db, "-n", "4", "-j", "2", "--ignore-regex", "known b[o]+m",
                 "--", "sh", "-c", "echo known boom; exit 1")
    check(o.get("passed") == 4 and o.get("failed") == 0, f"ignored failures pass: {o}")
    o = run_json("run", "--db", db, "-n", "4", "-j", "2", "--fail-regex", "ASSERT",
                 "--label", "fail-regex", "--", "sh", "-c", "echo other; exit 1")
    check(o.get("passed") == 4, f"--fail-regex without a match: {o}")
    keep = os.path.join(tmp, "kept")
    o = run_json("run", "--db", db, "-n", "3", "-j", "1", "--keep-output", keep, "--label", "k",
                 "--", "sh", "-c", "echo out-$FLAKEMETER_RUN; exit 3")
    files = sorted(os.listdir(keep)) if os.path.isdir(keep) else []
    check(len(files) == 3 and "out-0" in open(os.path.join(keep, files[0])).read(),
          f"kept output files: {files}")


def test_retries(tmp):
    db = os.path.join(tmp, "x.db")
    # First attempts fail, retries pass: every chain passes on its second attempt.
    o = run_json("run", "--db", db, "-n", "10", "-j", "2", "--retries", "2", "--", "sh", "-c",
                 'test "$FLAKEMETER_ATTEMPT" = 1 && exit 1; exit 0')
    ch = o.get("chains", {})
    check(o.get("failed") == 10 and ch.get("passed_on_retry") == 10 and ch.get("retries") == 10
          and ch.get("chains_failed") == 0, f"retry chains: {o}")
    att = rows(db, "SELECT attempt, count(*) FROM runs GROUP BY attempt ORDER BY attempt")
    check(att == [(1, 10), (2, 10)], f"attempts stored: {att}")
    # markov: retries after a failure fail with q = 0.9; the stored chains must recover it.
    db = os.path.join(tmp, "m.db")
    o = run_json("run", "--db", db, "-n", "600", "-j", "2", "--retries", "3", "markov",
                 "p=0.3", "q=0.9")
    ch = o.get("chains", {})
    ci = json.loads(run("interval", "-k", str(ch.get("retries_failed", 0)), "-n",
                        str(max(ch.get("retries", 1), 1)), "--confidence", "0.999",
                        "--json").stdout)
    check(ci["lower"] <= 0.9 <= ci["upper"], f"q = 0.9 inside 99.9% CI of retries: {ch} {ci}")


def test_until_decided_and_correlated(tmp):
    # True count for p = 0.08, target 1e-6: 0.08^5 = 3.3e-6 > 1e-6 >= 0.08^6 = 2.6e-7 -> 6.
    # Right: 6, or 7 when it stopped between two neighbouring counts (the larger, the safe side).
    # p = 0.1 sits exactly on a step (0.1^6 = 1e-6): it must decide too, 6 or 7 (indifferent).
    for p, right in (("0.08", 6), ("0.1", 6)):
        db = os.path.join(tmp, f"d{p}.db")
        o = run_json("run", "--db", db, "--until-decided", "-t", "1e-6", "-n", "100000",
                     "bernoulli", f"p={p}")
        got = {k: o.get(k) for k in ("decided", "decided_attempts", "decided_indifferent",
                                       "stop", "runs")}
        check(o.get("decided") is True and o.get("stop") == "decided" and
              (o.get("decided_attempts") == right or
               (o.get("decided_attempts") == right + 1 and o.get("decided_indifferent"))) and
              o.get("runs", 10**6) < 100000, f"until-decided p={p}: {got}")
    # Stopped by the run cap before deciding: it says so, and how many runs would decide.
    db = os.path.join(tmp, "cap.db")
    o = run_json("run", "--db", db, "--until-decided", "-t", "1e-6", "-n", "50", "--seed", "3",
                 "bernoulli", "p=0.05")
    check(o.get("decided") is False and o.get("stop") == "runs" and
          (o.get("runs_to_decide") or 0) > 50, f"cap: {o.get('decided')} {o.get('runs_to_decide')}")
    r = subprocess.run([FM, "run", "--db", db + "2", "--until-decided", "-t", "1e-6", "-n", "50",
                        "-q", "bernoulli", "p=0.05"], capture_output=True, text=True)
    check("not decided within 50 runs (-n; 100000 without it): about" in r.stdout,
          f"cap message: {r.stdout!r}")
    db = os.path.join(tmp, "q.db")
    o = run_json("run", "--db", db, "-n", "600", "--retries", "3", "markov", "p=0.3", "q=0.9")
    cor = o.get("attempts", {}).get("correlated", {})
    q = cor.get("q", {})
    check(q.get("lower", 1) <= 0.9 <= q.get("upper", 0) and cor.get("independence_p", 1) < 1e-6,
          f"correlated model recovers q = 0.9 and rejects independence: {cor}")
    check(cor.get("point", 0) > o["attempts"]["point"]["attempts"],
          f"correlated retries need more attempts than independent ones: {cor}")


def test_shards_merge(tmp):
    whole = run_json("run", "--db", os.path.join(tmp, "w.db"), "-n", "200", "bernoulli", "p=0.3")
    for i in range(2):
        run_json("run", "--db", os.path.join(tmp, f"s{i}.db"), "-n", "100", "--shard", f"{i}/2",
                 "bernoulli", "p=0.3")
    out = os.path.join(tmp, "all.db")
    r = run("merge", os.path.join(tmp, "s0.db"), os.path.join(tmp, "s1.db"), "-o", out)
    check(r.returncode == 0, f"merge: {r.stderr}")
    merged = run_json("show", "--db", out)
    check(all(merged.get(k) == whole.get(k) for k in ("runs", "passed", "failed", "lower")),
          f"shards merged == unsharded: {merged.get('failed')} vs {whole.get('failed')}")
    r = run("merge", os.path.join(tmp, "s0.db"), os.path.join(tmp, "s1.db"), "-o", out)
    check(run_json("show", "--db", out).get("runs") == 200, "merging again adds nothing")


def wait_rows(db, n, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            if rows(db, "SELECT count(*) FROM runs")[0][0] >= n:
                return True
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    return False


def test_signals(tmp):
    # SIGHUP (a closed terminal, issue 13 item 3) stops like SIGTERM, with the summary.
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129),
                      (signal.SIGKILL, -9)):
        db = os.path.join(tmp, f"s{int(sig)}.db")
        p = subprocess.Popen([FM, "run", "--db", db, "-j", "2", "--quiet", "--json",
                              "bernoulli", "p=0.1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        check(wait_rows(db, 300), f"{sig.name}: rows committed while running")
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)
        check(p.returncode == code, f"{sig.name}: exit {p.returncode}, want {code}: {err}")
        ok = rows(db, "PRAGMA integrity_check")
        n = rows(db, "SELECT count(*) FROM runs")[0][0]
        check(ok == [("ok",)] and n >= 300, f"{sig.name}: store intact with {n} rows")
        if code > 0:
            o = json.loads(out) if out else {}
            check(o.get("runs") == n, f"{sig.name}: summary printed, {o.get('runs')} == {n}")
        s = run_json("show", "--db", db)
        check(s.get("runs") == n, f"{sig.name}: show reads the store: {s.get('runs')} vs {n}")


BAD = [
    (["run", "-n", "5", "nosuchworkload"], "nosuchworkload"),
    (["run", "-n", "5", "bernoulli", "p=2"], "p"),
    (["run", "-n", "5", "bernoulli", "colour=red"], "colour"),
    (["run", "--shard", "2/2", "bernoulli"], "--shard"),
    (["run", "--jobs", "0", "bernoulli"], "--jobs"),
    (["run", "--timeout", "-1", "bernoulli"], "--timeout"),
    (["run", "--fail-regex", "(", "bernoulli"], "--fail-regex"),
    (["run", "-n", "5"], "nothing to run"),
    (["show", "--db", "/nonexistent/x.db"], "--db"),
]


def test_bad_input(tmp):
    for args, name in BAD:
        r = run(*args, "--db", os.path.join(tmp, "bad.db")) if "--db" not in args else run(*args)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and name in lines[0],
              f"{args}: exit {r.returncode}, stderr {r.stderr!r}")
    # A store of another program is refused and left alone.
    db = os.path.join(tmp, "other.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    before = open(db, "rb").read()
    r = run("run", "--db", db, "-n", "3", "bernoulli")
    check(r.returncode == 2 and open(db, "rb").read() == before,
          f"foreign store: exit {r.returncode}, untouched")
    r = run("run", "--db", os.path.join(tmp, "b.db"), "-n", "3", "--label", "bernoulli p=0.2",
            "bernoulli", "p=0.3")
    check(r.returncode == 2 and "label" in r.stderr, f"label conflict: {r.stderr!r}")


def test_refusals_leave_nothing(tmp):
    """A refused run creates neither its store nor its --keep-output directory."""
    d = os.path.join(tmp, "refuse")
    os.mkdir(d)
    db, keep = os.path.join(d, "r.db"), os.path.join(d, "keep")
    open(os.path.join(d, "file"), "w").close()
    for extra, name in ((["--output", "null", "--keep-output", keep], "--output"),
                        (["--keep-output", os.path.join(d, "file")], "not a directory"),
                        (["--keep-output", os.path.join(d, "no", "x")], "cannot create")):
        r = run("run", "--db", db, "-n", "2", *extra, "--", "false")
        check(r.returncode == 2 and name in r.stderr and len(r.stderr.splitlines()) == 1,
              f"{extra}: exit {r.returncode}, {r.stderr!r}")
        check(sorted(os.listdir(d)) == ["file"], f"{extra}: left {sorted(os.listdir(d))}")
    # --cgroup require where no cgroup can be made (an unprivileged user): exit 1, no store.
    if os.geteuid() != 0 or subprocess.run(["which", "runuser"],
                                           stdout=subprocess.DEVNULL).returncode != 0:
        print("test_run: --cgroup require refusal not checked (needs root and runuser)")
        return
    u = tempfile.mkdtemp(prefix="fm-nobody-")
    try:
        os.chmod(u, 0o777)
        r = subprocess.run(["runuser", "-u", "nobody", "--", FM, "run", "--db",
                            os.path.join(u, "n.db"), "--cgroup", "require", "-n", "2", "--",
                            "true"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        if r.returncode == 0:
            print("test_run: nobody can make cgroups here; --cgroup require refusal not checked")
        else:
            check(r.returncode == 1 and "--cgroup require" in r.stderr,
                  f"--cgroup require as nobody: exit {r.returncode}, {r.stderr!r}")
            check(os.listdir(u) == [], f"--cgroup require refused: left {os.listdir(u)}")
    finally:
        subprocess.run(["rm", "-rf", u])


def test_show_list(tmp):
    """show --list: one entry per campaign, in creation order, with the counts `show` gives."""
    db = os.path.join(tmp, "l.db")
    run("run", "--db", db, "-n", "60", "--quiet", "bernoulli", "p=0.2")
    run("run", "--db", db, "-n", "7", "--quiet", "--nice", "1", "--", "sh", "-c", "exit 1")
    r = run("show", "--db", db, "--list", "--json")
    lst = json.loads(r.stdout) if r.returncode == 0 else []
    check(len(lst) == 2, f"two campaigns listed: {lst}")
    for entry in lst:
        one = json.loads(run("show", "--db", db, "--json", entry["label"]).stdout)
        check(entry["runs"] == one["runs"] and entry["failures"] == one["failed"] +
              one["crashed"] + one["timed_out"], f"list agrees with show: {entry} {one}")
        check(abs(entry["lower"] - one["lower"]) < 1e-15 and abs(entry["upper"] - one["upper"])
              < 1e-15, f"interval as show's: {entry}")
    if len(lst) == 2:
        check(lst[0]["label"] == "bernoulli p=0.2" and lst[1]["conditions"] == {"nice": 1}
              and lst[1]["failures"] == 7, f"order and conditions: {lst}")
    text = run("show", "--db", db, "--list").stdout.splitlines()
    check(len(text) == 4 and text[0].startswith("2 campaigns") and "nice=1" in text[3],
          f"table: {text}")
    r = run("show", "--db", db, "--list", "bernoulli p=0.2")
    check(r.returncode == 2 and "--list" in r.stderr, f"--list with a label: {r.returncode}")


def children(pid, name):
    """Processes whose parent is pid and whose command name is name."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
            if comm == name and int(rest.split()[1]) == pid:
                found.append(int(d))
    return found


def test_interrupted(tmp):
    """Issue 13 item 3, as written: `run -- sleep 5`, Ctrl-C twice, then `run -n 2 -- sleep 5`
    must not print "crashed 2 ... 50.0 %"; the killed runs are stored as interrupted."""
    db = os.path.join(tmp, "int.db")
    p = subprocess.Popen([FM, "run", "--db", db, "-j", "2", "--quiet", "--json", "--",
                          "sleep", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 30
    while len(children(p.pid, "sleep")) < 2 and time.monotonic() < end:
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    o = json.loads(out) if out.strip() else {}
    check(p.returncode == 130 and o.get("interrupted") == 2 and o.get("crashed") == 0 and
          o.get("estimate", 0) is None, f"Ctrl-C twice: exit {p.returncode}, {o}, {err!r}")
    got = rows(db, "SELECT outcome, signal FROM runs")
    check(got == [(5, 9), (5, 9)], f"stored as interrupted (5) with SIGKILL: {got}")
    r = run("run", "--db", db, "-n", "2", "--quiet", "--", "sleep", "5")
    check(r.returncode == 0 and "crashed 2" not in r.stdout and "50.0%" not in r.stdout and
          "passed 2, failed 0, crashed 0" in r.stdout, f"the next run: {r.stdout!r}")
    # Continued explicitly, the campaign counts the interrupted runs apart, not as failures.
    r = run("run", "--db", db, "-n", "2", "--resume", "--label", "sleep 5", "--quiet", "--json",
            "--", "sleep", "5")
    o = json.loads(r.stdout) if r.returncode == 0 else {}
    check(o.get("runs") == 4 and o.get("interrupted") == 2 and o.get("passed") == 2 and
          o.get("estimate") == 0.0 and o.get("runs_this_invocation") == 2,
          f"resumed: {o} {r.stderr!r}")
    text = run("show", "--db", db, "sleep 5").stdout
    check("interrupted 2" in text and "crashed 0" in text, f"show names them: {text!r}")


def test_campaign_identity(tmp):
    """Issue 13 items 1 and 2, as written: a script that fails 25 % of the time gets -n 100, is
    fixed, and runs again: the report must be of the new 100 runs, not of 200; a third run of a
    continued campaign says this invocation's runs and the campaign's total apart."""
    db = os.path.join(tmp, "id.db")
    script = os.path.join(tmp, "t.sh")
    with open(script, "w") as f:
        f.write('#!/bin/sh\ntest $((FLAKEMETER_RUN % 4)) = 0 && exit 1\nexit 0\n')
    os.chmod(script, 0o755)
    o = run_json("run", "--db", db, "-n", "100", "--", script)
    check(o.get("runs") == 100 and o.get("failed") == 25, f"before the fix: {o.get('failed')}")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    r = run("run", "--db", db, "-n", "100", "--quiet", "--", script)
    check(r.returncode == 0 and "100 runs in this invocation; campaign total 100" in r.stdout and
          "failed 0" in r.stdout and "200" not in r.stdout, f"after the fix: {r.stdout!r}")
    labels = [l for (l,) in rows(db, "SELECT label FROM campaigns ORDER BY id")]
    check(labels == [script, f"{script} #2"], f"a new campaign, labelled apart: {labels}")
    # The executable changed since campaign 1: --resume refuses (one line, exit 2) unless --force.
    r = run("run", "--db", db, "-n", "1", "--resume", "--label", script, "--", script)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "changed" in lines[0] and "--force" in lines[0],
          f"resume after a change: {r.returncode} {r.stderr!r}")
    o = run_json("run", "--db", db, "-n", "1", "--resume", "--force", "--label", script, "--",
                 script)
    check(o.get("runs") == 101, f"--force continues: {o.get('runs')}")
    fp = json.loads(rows(db, "SELECT fingerprint FROM campaigns WHERE label = ?", script)[0][0])
    check(fp.get("path") == script and len(fp.get("sha256", "")) == 64 and fp.get("size", 0) > 0,
          f"fingerprint of a script: {fp}")
    fp = json.loads(rows(db, "SELECT fingerprint FROM campaigns WHERE label = 'k'")[0][0]) \
        if run("run", "--db", db, "-n", "1", "-q", "--label", "k", "--", "true").returncode == 0 \
        else {}
    check(fp.get("path", "").endswith("/true") and len(fp.get("build_id", "x")) >= 16,
          f"fingerprint of an ELF binary found in PATH: {fp}")
    # An explicit label that exists, without --resume: one line, exit 2, naming --resume.
    r = run("run", "--db", db, "-n", "1", "--label", "k", "--", "true")
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "--resume" in lines[0],
          f"existing label: {r.returncode} {r.stderr!r}")
    # Item 2: the third continued invocation of 3 runs says 3 here, 9 in all.
    for i in range(3):
        r = run("run", "--db", db, "-n", "3", "--quiet", "--resume", "--", "echo", "x")
    check("3 runs in this invocation; campaign total 9" in r.stdout, f"third: {r.stdout!r}")
    o = run_json("run", "--db", db, "-n", "3", "--resume", "--", "echo", "x")
    check(o.get("runs_this_invocation") == 3 and o.get("runs") == 12, f"JSON: {o}")
    # show: one campaign at a time, never pooled.
    s = run_json("show", "--db", db, script)
    check(s.get("runs") == 101, f"show {script}: {s.get('runs')}")


def test_evidence(tmp):
    """Issue 13 item 4: failures by exit code and signal, their output, usage errors, wrappers."""
    db = os.path.join(tmp, "ev.db")
    cmd = ['sh', '-c', 'echo "line of run $FLAKEMETER_RUN"; case $((FLAKEMETER_RUN % 4)) in '
           '1) exit 3;; 2) kill -SEGV $$;; esac; exit 0']
    o = run_json("run", "--db", db, "-n", "20", "-j", "2", "--", *cmd)
    causes = {(c["outcome"], c["exit_code"], c["signal"]): c["count"] for c in o.get("causes", [])}
    check(causes == {("fail", 3, None): 5, ("crash", None, 11): 5}, f"causes: {causes}")
    r = run("show", "--db", db, "--failures", "--json")
    ev = json.loads(r.stdout).get("failures", []) if r.returncode == 0 else []
    check(len(ev) == 6 and all(e["tail"].startswith("line of run ") for e in ev),
          f"3 tails per cause: {ev}")
    text = run("run", "--db", db, "-n", "4", "--resume", "--quiet", "--", *cmd).stdout
    check("by cause: exit 3 x" in text and "SIGSEGV x" in text and "show --failures" in text and
          "--keep-output" in text, f"the verdict points at the evidence: {text!r}")
    text = run("show", "--db", db, "--failures").stdout
    check("run 1 attempt 1: fail, exit code 3" in text and "| line of run 1" in text,
          f"show --failures: {text!r}")
    # A long output: the tail is its last 4 KiB.
    o = run_json("run", "--db", db, "-n", "1", "--label", "long", "--", "sh", "-c",
                 "seq 1 100000; echo LAST; exit 1")
    t = json.loads(run("show", "--db", db, "--failures", "--json", "long").stdout)["failures"]
    check(len(t) == 1 and t[0]["tail"].endswith("LAST\n") and len(t[0]["tail"]) == 4096 and
          t[0]["output_bytes"] > 500000, f"tail of a long output: {len(t[0]['tail']) if t else t}")
    # --error-exit: pytest's exit 4 (a mistyped node id) is a usage error, not a 100 % failure.
    r = run("run", "--db", db, "-n", "50", "-j", "2", "--quiet", "--error-exit", "4", "--label",
            "usage", "--", "sh", "-c", "echo 'ERROR: not found: test_x.py::test_nosuch'; exit 4")
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and "--error-exit" in lines[0] and
          "100" not in r.stdout, f"usage error: {r.returncode} {r.stderr!r} {r.stdout!r}")
    n = rows(db, "SELECT count(*), min(outcome), max(outcome), min(exit_code) FROM runs r JOIN "
             "campaigns c ON c.id = r.campaign WHERE c.label = 'usage'")[0]
    check(3 <= n[0] <= 4 and n[1] == n[2] == 4 and n[3] == 4, f"stopped early, errors: {n}")
    text = run("show", "--db", db, "--failures", "usage").stdout
    check("not found: test_x.py::test_nosuch" in text, f"its output is kept: {text!r}")
    r = run("run", "--db", db, "-n", "1", "--error-exit", "0", "--", "true")
    check(r.returncode == 2 and "--error-exit" in r.stderr, f"bad --error-exit: {r.stderr!r}")
    # merge (schema 3) carries the evidence, the interrupted outcome and the fingerprint along.
    out = os.path.join(tmp, "ev-merged.db")
    r = run("merge", db, "-o", out)
    m = json.loads(run("show", "--db", out, "--failures", "--json", "usage").stdout or "{}")
    check(r.returncode == 0 and len(m.get("failures", [])) == 3, f"merged evidence: {m}")
    fp = rows(out, "SELECT count(*) FROM campaigns WHERE fingerprint <> '{}'")[0][0]
    check(fp == rows(db, "SELECT count(*) FROM campaigns")[0][0], f"fingerprints merged: {fp}")
    # --fail-if-output: a wrapper that exits 0 on ignored failures (MicroPython's run-tests.py).
    o = run_json("run", "--db", db, "-n", "6", "--fail-if-output", "^FAIL", "--label", "wrap",
                 "--", "sh", "-c", 'test $((FLAKEMETER_RUN % 2)) = 0 && echo "FAIL  thread/x.py";'
                 ' echo "3 tests passed"; exit 0')
    check(o.get("failed") == 3 and o.get("passed") == 3, f"--fail-if-output: {o}")


def test_emulated_arch(tmp):
    """Issue 13 item 5: `-- qemu-aarch64 ...` is stored as aarch64, not the host's arch."""
    bindir = os.path.join(tmp, "fakebin")
    os.makedirs(bindir, exist_ok=True)
    for name in ("qemu-aarch64", "qemu-riscv64-static"):
        path = os.path.join(bindir, name)
        with open(path, "w") as f:
            f.write('#!/bin/sh\nexec "$@"\n')
        os.chmod(path, 0o755)
    db = os.path.join(tmp, "arch.db")
    env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
    for qemu, arch in (("qemu-aarch64", "aarch64"), (os.path.join(bindir, "qemu-riscv64-static"),
                                                     "riscv64")):
        r = subprocess.run([FM, "run", "--db", db, "-n", "1", "--quiet", "--", qemu, "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        check(r.returncode == 0, f"{qemu}: {r.stderr}")
    got = [a for (a,) in rows(db, "SELECT arch FROM campaigns ORDER BY id")]
    check(got == ["aarch64", "riscv64"], f"emulated arch stored: {got}")
    r = run("show", "--db", db, "--list", "--json")
    check([c["arch"] for c in json.loads(r.stdout)] == ["aarch64", "riscv64"], "show --list")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for test in (test_bernoulli_counts_and_resume, test_timeout_kills_group,
                     test_crash_and_errors, test_regex_and_keep, test_retries, test_signals,
                     test_until_decided_and_correlated, test_shards_merge, test_bad_input,
                     test_refusals_leave_nothing, test_show_list, test_interrupted,
                     test_campaign_identity, test_evidence, test_emulated_arch):
            test(tmp)
    print(f"test_run: {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
