#!/usr/bin/env python3
"""Fault loops in SQLite's style (issue 14; docs/reliability.md, "Fault loops").

Runs real flakemeter commands under tests/faults/fm_faultshim.c (LD_PRELOAD) with the Nth call
of one fault site failing -- allocation, fork, posix_spawn, pipe, exec, any new descriptor,
a write (ENOSPC) or a read (EIO) on the named file -- for N = 1, 2, 3, ... until a run meets no
fault.  Every ending is judged:

  - exit status 1 with exactly one line on stderr (no libxml2 or SQLite text, no second line;
    ingest, by its contract, names each file it rejects and then counts them: 2 lines),
    or exit status 0 with the same answer as the run without faults (the fault was absorbed);
    never a signal, never exit status 2 (a fault is not bad input), never a hang (30 s);
  - every store in the folder: PRAGMA integrity_check is ok, no foreign key is broken, the
    campaigns' counts (`show --list --json`) agree with the runs table, the campaign being
    written holds run indices 0..k-1 with no gap, and the CI history holds whole files only;
  - a re-run without faults completes (exit 0) and ends where a clean run ends: `run --resume`
    adds its runs to what was committed, `ingest`, `merge` and `export` give the clean result;
  - no process is left: none carries the loop's tag in its name or environment (the tool runs
    as a link named after the tag, the command as another);
  - no file is left beside a target but the target itself (and SQLite's -wal/-shm).

Sampling: a run without faults counts each site's calls (C).  N takes every value up to
DENSE, then evenly spaced values up to C (at most SAMPLES per scenario and site in all), then
C+1, C+2, ... until a run meets no fault.  `--every` tries every N (tools/fault_loops.sh
runs that by hand, for longer).  Usage:

  fault_loops.py FLAKEMETER SHIM FIXTURES [--every] [--persist] [--only NAME] [--table FILE]
  fault_loops.py FLAKEMETER --skip REASON   (a sanitizer build: exit 77, saying why)
"""
import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

SITES = ["alloc", "fork", "spawn", "pipe", "exec", "fd", "write", "read"]
TIMEOUT = 30
DENSE = 20
SAMPLES = 45


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- the shim's state file --------------------------------------------------------------------

def read_state(path):
    with open(path, "rb") as f:
        data = f.read(4096)
    v = struct.unpack("16q", data[:128])
    where = data[128:384].split(b"\0")[0].decode(errors="replace")
    return dict(zip(SITES, v[:8])), dict(zip(SITES, v[8:])), where


# ---- scenarios ---------------------------------------------------------------------------------

class Ctx:
    """What every scenario shares: the tool (as a link named after the tag), the command."""

    def __init__(self, flakemeter, shim, fixtures, root):
        self.root = root
        self.shim = shim
        self.fixtures = fixtures
        self.tag = "fmf%05d" % (os.getpid() % 100000)
        bindir = os.path.join(root, "bin")
        os.mkdir(bindir)
        self.tool = os.path.join(bindir, self.tag)
        os.symlink(os.path.abspath(flakemeter), self.tool)
        # the command: a shell under the tag's name; fails every third run, says which
        self.cmd = os.path.join(bindir, self.tag + "c")
        os.symlink(shutil.which("sh") or "/bin/sh", self.cmd)
        self.cmd_argv = [self.cmd, "-c",
                         'echo "run $FLAKEMETER_RUN"; exit $(( FLAKEMETER_RUN % 3 == 1 ))']
        self.env_base = dict(os.environ, FM_FAULT_TAG=self.tag, LC_ALL="C")
        self.env_base.pop("LD_PRELOAD", None)
        self.n = 0

    def fresh_dir(self):
        self.n += 1
        d = os.path.join(self.root, "w%d" % self.n)
        os.mkdir(d)
        return d

    def run(self, cwd, args, fault=None, path=None, state=None):
        env = dict(self.env_base)
        if fault is not None:
            env.update(LD_PRELOAD=self.shim, FM_FAULT=fault, FM_FAULT_STATE=state)
            if path:
                env["FM_FAULT_PATH"] = path
        try:
            r = subprocess.run([self.tool] + args, cwd=cwd, env=env, capture_output=True,
                               timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return None
        return r


def q(db, sql):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def store_facts(db):
    """What a store holds, in a form that compares: rows per table."""
    tables = [r[0] for r in q(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                  "ORDER BY name")]
    return {t: q(db, "SELECT count(*) FROM \"%s\"" % t)[0][0] for t in tables}


def check_store(ctx, d, db, label=None):
    """Integrity, keys, counts as the tool reports them against the runs table, no gaps."""
    path = os.path.join(d, db)
    if not os.path.exists(path):
        return None
    if os.path.getsize(path) == 0:
        return "%s is an empty file" % db
    try:
        ic = q(path, "PRAGMA integrity_check")
        if ic != [("ok",)]:
            return "%s: integrity_check says %r" % (db, ic[:3])
        fk = q(path, "PRAGMA foreign_key_check")
        if fk:
            return "%s: broken foreign keys %r" % (db, fk[:3])
        tables = {r[0] for r in q(path, "SELECT name FROM sqlite_master WHERE type='table'")}
        if "runs" not in tables:
            return None  # created empty: nothing committed
        runs = dict(q(path, "SELECT c.label, count(r.campaign) FROM campaigns c "
                            "LEFT JOIN runs r ON r.campaign = c.id GROUP BY c.id"))
        if label is not None and label in runs:
            idx = [r[0] for r in q(path, "SELECT DISTINCT run_index FROM runs r JOIN campaigns "
                                         "c ON r.campaign = c.id WHERE c.label = '%s' ORDER BY "
                                         "run_index" % label)]
            if idx != list(range(len(idx))):
                return "%s: campaign %s has run indices %r (a gap)" % (db, label, idx)
        files = q(path, "SELECT count(*) FROM ci_files f WHERE NOT EXISTS (SELECT 1 FROM "
                        "ci_results r WHERE r.ci_run = f.ci_run) AND f.testcases > f.skipped")
        if files[0][0]:
            return "%s: %d ingested files have no results" % (db, files[0][0])
    except sqlite3.DatabaseError as e:
        return "%s: %s" % (db, e)
    r = ctx.run(d, ["show", "--list", "--json", "--db", db])
    if r is None or r.returncode != 0:
        return "%s: show --list fails after the fault: %r" % (
            db, r.stderr.decode(errors="replace") if r else "timeout")
    listed = {c["label"]: c["runs"] for c in json.loads(r.stdout or b"[]")}
    firsts = dict(q(path, "SELECT c.label, count(r.campaign) FROM campaigns c LEFT JOIN runs r "
                          "ON r.campaign = c.id AND r.attempt = 1 AND r.outcome NOT IN (4, 5) "
                          "GROUP BY c.id"))
    if set(listed) != set(runs):
        return "%s: show --list has campaigns %r, the table %r" % (db, sorted(listed),
                                                                  sorted(runs))
    for lab, n in listed.items():
        if n != firsts[lab]:
            return "%s: campaign %r: show --list says %d runs, the table holds %d" % (
                db, lab, n, firsts[lab])
    return None


def leaked(ctx, wait=3.0):
    """Processes of this loop still alive after the tool ended (waits for them a little)."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open("/proc/%s/comm" % p) as f:
                    comm = f.read().strip()
                with open("/proc/%s/environ" % p, "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if comm.startswith(ctx.tag) or (b"FM_FAULT_TAG=" + ctx.tag.encode()) in env:
                with open("/proc/%s/stat" % p) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue  # a zombie of a process of ours that is still ending
                found.append("%s (%s)" % (p, comm))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def leftovers(d, expected):
    """Files in d beyond the expected names (and SQLite's -wal/-shm beside them)."""
    extra = []
    for name in os.listdir(d):
        base = name[:-4] if name.endswith(("-wal", "-shm")) else name
        if name not in expected and base not in expected:
            extra.append(name)
    return sorted(extra)


def norm(out):
    """Output without what varies between identical runs: times and durations."""
    lines = []
    for line in out.decode(errors="replace").splitlines():
        if line.strip().startswith("durations:"):
            continue
        lines.append(line.split(" (")[0] if " s) in " in line else line)
    return lines


class Scenario:
    """One command under faults.  prepare(d) sets the folder up; args is the command;
    targets are the files it may write (checked and re-run); sites: (site, errno, path)."""

    def __init__(self, name, prepare, args, sites, stores=(), label=None, keep=None,
                 rerun=None, outputs=(), expected=(), rejects=False):
        self.name, self.prepare, self.args, self.sites = name, prepare, args, sites
        self.stores, self.label, self.keep, self.rerun = stores, label, keep, rerun
        self.outputs, self.expected, self.rejects = outputs, set(expected), rejects


def runs_of(d, db, label):
    path = os.path.join(d, db)
    if not os.path.exists(path):
        return 0
    try:
        r = q(path, "SELECT count(*) FROM runs r JOIN campaigns c ON r.campaign = c.id WHERE "
                    "c.label = '%s'" % label)
        return r[0][0]
    except sqlite3.DatabaseError:
        return 0


def exists_campaign(d, db, label):
    path = os.path.join(d, db)
    try:
        return bool(q(path, "SELECT 1 FROM campaigns WHERE label = '%s'" % label))
    except sqlite3.DatabaseError:
        return False


def rerun_run(ctx, sc, d, base_args):
    """After a fault in `run`: resume the campaign (or start it) and add 2 runs."""
    db, label = sc.stores[0], sc.label
    before = runs_of(d, db, label)
    args = list(base_args)
    i = args.index("-n")
    args[i + 1] = "2"
    if exists_campaign(d, db, label):
        args = ["run", "--resume"] + args[1:]
    r = ctx.run(d, args)
    if r is None or r.returncode != 0:
        return "the run after the fault failed: %r" % (
            r.stderr.decode(errors="replace").strip() if r else "timeout")
    after = runs_of(d, db, label)
    if after != before + 2:
        return "the run after the fault went from %d to %d runs, not +2" % (before, after)
    return None


def rerun_same(ctx, sc, d, ref):
    """After a fault: the same command without faults ends where a clean run ends."""
    r = ctx.run(d, sc.args)
    if r is None or r.returncode != 0:
        return "the same command after the fault failed: %r" % (
            r.stderr.decode(errors="replace").strip() if r else "timeout")
    return compare_result(sc, d, ref, "after a re-run")


def result_of(sc, d):
    res = {}
    for db in sc.stores:
        p = os.path.join(d, db)
        res[db] = store_facts(p) if os.path.exists(p) else None
    if sc.label is not None:
        # the campaign as stored (but its time) and what its runs ended as
        p = os.path.join(d, sc.stores[0])
        try:
            camp = q(p, "SELECT label, kind, command, params, host, arch, version, conditions, "
                        "fingerprint FROM campaigns WHERE label = '%s'" % sc.label)
            runs = q(p, "SELECT run_index, attempt, seed, outcome, exit_code, signal FROM runs r "
                        "JOIN campaigns c ON r.campaign = c.id WHERE c.label = '%s' ORDER BY "
                        "run_index, attempt" % sc.label)
        except sqlite3.DatabaseError as e:
            camp, runs = str(e), None
        res["campaign"] = (camp, runs)
    for o in sc.outputs:
        p = os.path.join(d, o)
        res[o] = open(p, "rb").read() if os.path.exists(p) else None
    if sc.keep:
        k = os.path.join(d, sc.keep)
        res[sc.keep] = sorted((n, open(os.path.join(k, n), "rb").read())
                              for n in os.listdir(k)) if os.path.isdir(k) else None
    return res


def compare_result(sc, d, ref, when):
    got = result_of(sc, d)
    for k in ref:
        if k in sc.stores and sc.label is None and got[k] != ref[k]:
            return "%s: %s holds %r, a clean run %r" % (when, k, got[k], ref[k])
        if k in sc.outputs and got[k] != ref[k]:
            return "%s: %s differs from a clean run's" % (when, k)
        if k == "campaign" and got[k] != ref[k]:
            return "%s: campaign %s is %r, after a clean run %r" % (when, sc.label, got[k],
                                                                    ref[k])
        if k == sc.keep and got[k] != ref[k]:
            return "%s: --keep-output holds %r, a clean run %r" % (
                when, [n for n, _ in got[k] or []], [n for n, _ in ref[k] or []])
    return None


def judge(ctx, sc, d, r, ref, state):
    """Everything that must hold after one run under a fault; a list of what did not."""
    bad = []
    if r is None:
        return ["hang: no end within %d s" % TIMEOUT]
    err = r.stderr.decode(errors="replace")
    if r.returncode < 0:
        bad.append("killed by %s" % signal.Signals(-r.returncode).name)
    elif r.returncode == 1:
        lines = err.splitlines()
        m = re.fullmatch(r"flakemeter ingest: (\d+) of \d+ files? rejected", lines[-1]) \
            if sc.rejects and len(lines) >= 2 else None
        if m and int(m.group(1)) == len(lines) - 1 and all(
                line.startswith("flakemeter ingest: " + sc.rejects) for line in lines[:-1]):
            lines = lines[:1]  # ingest's contract: each file rejected, then the count
        if len(lines) != 1 or not err.endswith("\n") or not lines[0].strip():
            bad.append("%d lines on stderr: %r" % (len(lines), err[:600]))
    elif r.returncode == 0:
        if err:
            bad.append("exit 0 with stderr %r" % err[:300])
        elif norm(r.stdout) != ref["stdout"]:
            bad.append("exit 0 but another answer: %r" % r.stdout.decode(errors="replace")[:400])
        else:
            why = compare_result(sc, d, ref["result"], "exit 0")
            if why:
                bad.append(why)
    else:
        bad.append("exit status %d: %r" % (r.returncode, err[:300]))
    found = leaked(ctx)
    if found:
        bad.append("processes left: %s" % ", ".join(found))
        for p in found:
            try:
                os.kill(int(p.split()[0]), signal.SIGKILL)
            except OSError:
                pass
    extra = leftovers(d, sc.expected | set(sc.stores) | set(sc.outputs) | {sc.keep, "st"})
    if extra:
        bad.append("files left beside the targets: %r" % extra)
    if sc.keep and os.path.isdir(os.path.join(d, sc.keep)):
        names = set(n for n, _ in ref["result"][sc.keep] or [])
        k = os.path.join(d, sc.keep)
        for n in os.listdir(k):
            if n not in names:
                bad.append("--keep-output holds %s, a clean run never writes it" % n)
            elif open(os.path.join(k, n), "rb").read() != dict(ref["result"][sc.keep])[n]:
                bad.append("--keep-output holds a partial %s" % n)
    for db in sc.stores:
        why = check_store(ctx, d, db, sc.label)
        if why:
            bad.append(why)
    if not bad:
        why = sc.rerun(ctx, sc, d, ref) if sc.rerun else None
        if why:
            bad.append(why)
    return bad


def setup(ctx, sc):
    """A fresh folder holding a copy of the scenario's prepared files (byte for byte the same
    inputs every time, so outputs compare exactly)."""
    d = ctx.fresh_dir()
    for name in os.listdir(sc.template):
        src = os.path.join(sc.template, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(d, name))
        else:
            shutil.copy2(src, os.path.join(d, name))
    return d


def reference(ctx, sc):
    sc.template = ctx.fresh_dir()
    sc.prepare(ctx, sc.template)
    d = setup(ctx, sc)
    state = os.path.join(d, "st")
    with open(state, "wb") as f:
        f.write(b"\0" * 4096)
    r = ctx.run(d, sc.args, fault="alloc:0", state=state)
    if r is None or r.returncode not in (0,):
        fail("%s: the run without faults failed: %r" % (
            sc.name, r.stderr.decode(errors="replace") if r else "timeout"))
    calls, _, _ = read_state(state)
    ref = {"stdout": norm(r.stdout), "result": result_of(sc, d), "calls_all": calls}
    # the counts of a path filter: once per distinct filter
    ref["calls"] = {}
    for site, eno, path in sc.sites:
        if (site, path) in ref["calls"]:
            continue
        d2 = setup(ctx, sc)
        st2 = os.path.join(d2, "st")
        with open(st2, "wb") as f:
            f.write(b"\0" * 4096)
        ctx.run(d2, sc.args, fault=site + ":0", path=path, state=st2)
        ref["calls"][(site, path)] = read_state(st2)[0][site]
        shutil.rmtree(d2)
    shutil.rmtree(d)
    return ref


def plan(total, every):
    """The N to try: every one up to DENSE, then evenly spaced to total (SAMPLES in all)."""
    if every or total <= SAMPLES:
        return list(range(1, total + 1))
    dense = list(range(1, DENSE + 1))
    rest = SAMPLES - DENSE
    span = total - DENSE
    return dense + sorted({DENSE + 1 + (span - 1) * i // (rest - 1) for i in range(rest)})


def loop(ctx, sc, site, eno, path, ref, opts, persist, table):
    total = ref["calls"][(site, path)]
    spec_tail = (":" + eno if eno else "") + (":persist" if persist else "")
    ns = plan(total, opts.every)
    injected = survived = absorbed = 0
    failures = []
    n_iter = 0
    extra = 0
    i = 0
    while True:
        if i < len(ns):
            n = ns[i]
        else:
            n = total + 1 + extra
            extra += 1
        i += 1
        d = setup(ctx, sc)
        state = os.path.join(d, "st")
        with open(state, "wb") as f:
            f.write(b"\0" * 4096)
        r = ctx.run(d, sc.args, fault="%s:%d%s" % (site, n, spec_tail), path=path, state=state)
        _, inj, where = read_state(state)
        n_iter += 1
        if inj[site] == 0:
            if r is not None and r.returncode == 0 and i > len(ns):
                shutil.rmtree(d)
                break  # past the last call: the loop is over
            if i > len(ns) and extra > 50:
                failures.append("N=%d: no run without faults within 50 past the count" % n)
                break
            if r is None or r.returncode != 0:
                failures.append("N=%d: no fault hit, yet exit %s: %r" % (
                    n, r.returncode if r else "hang",
                    r.stderr.decode(errors="replace")[:300] if r else ""))
            shutil.rmtree(d)
            continue
        injected += 1
        if opts.keep_failed:
            kept = os.path.join(opts.keep_failed, "%s-%s-%d" % (sc.name.replace(" ", "_"), site,
                                                                  n))
            shutil.copytree(d, kept)  # before the judge's re-run changes it
        bad = judge(ctx, sc, d, r, ref, state)
        if bad:
            failures.append("N=%d (%s): %s" % (n, where, "; ".join(bad)))
            if opts.keep_failed:
                with open(os.path.join(kept, "REPRO"), "w") as f:
                    f.write("cd %s && LD_PRELOAD=%s FM_FAULT=%s:%d%s FM_FAULT_PATH=%s "
                            "FM_FAULT_STATE=st %s %s\n" % (
                                kept, ctx.shim, site, n, spec_tail, path or "", os.path.realpath(ctx.tool),
                                " ".join("'%s'" % a for a in sc.args)))
        else:
            survived += 1
            absorbed += r.returncode == 0
            if opts.keep_failed:
                shutil.rmtree(kept)
        shutil.rmtree(d)
    name = "%s %s%s%s" % (sc.name, site, "(" + path + ")" if path else "",
                          " persistent" if persist else "")
    print("%-46s calls %5d  tried %4d  injected %4d  survived %4d  (absorbed %d)" % (
        name, total, n_iter, injected, survived, absorbed))
    for f in failures[:8]:
        print("    " + f)
    if len(failures) > 8:
        print("    ... %d more" % (len(failures) - 8))
    table.append({"scenario": sc.name, "site": site, "errno": eno or "", "path": path or "",
                  "persist": persist, "calls": total, "tried": n_iter, "injected": injected,
                  "survived": survived, "absorbed": absorbed, "failures": len(failures)})
    return failures


# ---- the scenarios -----------------------------------------------------------------------------

def prep_store(ctx, d):
    """A store with one committed campaign before the command under faults runs."""
    r = ctx.run(d, ["run", "-q", "-n", "3", "-j", "1", "--db", "s.db", "--label", "base",
                    "bernoulli", "p=0.5"])
    if r is None or r.returncode != 0:
        fail("preparing a store failed: %r" % (r.stderr if r else "timeout"))


def prep_two(ctx, d):
    prep_store(ctx, d)
    r = ctx.run(d, ["run", "-q", "-n", "4", "-j", "1", "--db", "b.db", "--label", "other",
                    "--"] + ctx.cmd_argv)
    if r is None or r.returncode != 0:
        fail("preparing a second store failed: %r" % (r.stderr if r else "timeout"))


def prep_history(ctx, d):
    r = ctx.run(d, ["ingest", "--db", "h.db", ctx.fixtures])
    if r is None or r.returncode != 0:
        fail("preparing a history failed: %r" % (r.stderr if r else "timeout"))


def prep_none(ctx, d):
    pass


def scenarios(ctx):
    fx = ctx.fixtures
    wl = ["run", "-q", "-n", "6", "-j", "1", "--db", "s.db", "--label", "L", "bernoulli",
          "p=0.5"]
    cmd = ["run", "-q", "-n", "6", "-j", "1", "--db", "s.db", "--label", "L", "--"] + ctx.cmd_argv
    spawn = cmd[:-len(ctx.cmd_argv) - 1] + ["--launch", "spawn", "--"] + ctx.cmd_argv
    # without a cgroup, launch=spawn is posix_spawnp (with one, clone3 with CLONE_VFORK)
    spawn_off = cmd[:-len(ctx.cmd_argv) - 1] + ["--launch", "spawn", "--cgroup", "off",
                                               "--"] + ctx.cmd_argv
    keep = cmd[:-len(ctx.cmd_argv) - 1] + ["--keep-output", "K", "--"] + ctx.cmd_argv
    mk = lambda wargs: (lambda ctx_, sc, d, ref: rerun_run(ctx_, sc, d, wargs))

    def prep_keep(ctx_, d):
        prep_store(ctx_, d)
        os.mkdir(os.path.join(d, "K"))

    common_run = [("alloc", None, None), ("fork", "EAGAIN", None), ("pipe", "EMFILE", None),
                  ("fd", "EMFILE", None), ("write", "ENOSPC", "s.db"), ("read", "EIO", "s.db")]
    return [
        Scenario("run workload", prep_store, wl, common_run, stores=["s.db"], label="L",
                 rerun=mk(wl)),
        Scenario("run command", prep_store, cmd, common_run + [("exec", "EAGAIN", None)],
                 stores=["s.db"], label="L", rerun=mk(cmd)),
        Scenario("run --launch spawn", prep_store, spawn,
                 [("spawn", "EAGAIN", None), ("pipe", "EMFILE", None), ("exec", "EAGAIN", None)],
                 stores=["s.db"], label="L", rerun=mk(spawn)),
        Scenario("run --launch spawn --cgroup off", prep_store, spawn_off,
                 [("spawn", "EAGAIN", None), ("exec", "EAGAIN", None)],
                 stores=["s.db"], label="L", rerun=mk(spawn_off)),
        Scenario("run --keep-output", prep_keep, keep,
                 [("write", "ENOSPC", "/K/"), ("fd", "EMFILE", "/K/"), ("alloc", None, None)],
                 stores=["s.db"], label="L", keep="K", rerun=mk(keep)),
        Scenario("ingest", prep_none, ["ingest", "--db", "h.db", fx],
                 [("alloc", None, None), ("read", "EIO", "/fixtures/"),
                  ("fd", "EMFILE", None), ("write", "ENOSPC", "h.db")],
                 stores=["h.db"], rerun=rerun_same, rejects=fx + "/"),
        Scenario("merge", prep_two, ["merge", "-o", "m.db", "s.db", "b.db"],
                 [("alloc", None, None), ("write", "ENOSPC", "m.db"), ("fd", "EMFILE", None),
                  ("read", "EIO", "b.db")],
                 stores=["m.db"], expected=["s.db", "b.db"], rerun=rerun_same),
        Scenario("export json", prep_two, ["export", "--db", "b.db", "-o", "o.json"],
                 [("alloc", None, None), ("write", "ENOSPC", "o.json"), ("fd", "EMFILE", None)],
                 outputs=["o.json"], expected=["s.db", "b.db"], rerun=rerun_same),
        Scenario("export junit", prep_two, ["export", "--db", "b.db", "-f", "junit", "-o",
                                            "o.xml"],
                 [("alloc", None, None), ("write", "ENOSPC", "o.xml")],
                 outputs=["o.xml"], expected=["s.db", "b.db"], rerun=rerun_same),
        Scenario("export csv", prep_two, ["export", "--db", "b.db", "-f", "csv", "-o", "o.csv"],
                 [("alloc", None, None), ("write", "ENOSPC", "o.csv")],
                 outputs=["o.csv"], expected=["s.db", "b.db"], rerun=rerun_same),
        Scenario("export --history", prep_history, ["export", "--history", "--db", "h.db",
                                                    "-o", "o.json"],
                 [("alloc", None, None), ("write", "ENOSPC", "o.json")],
                 outputs=["o.json"], expected=["h.db"], rerun=rerun_same),
        Scenario("show", prep_two, ["show", "--db", "b.db", "other"],
                 [("alloc", None, None), ("read", "EIO", "b.db"), ("fd", "EMFILE", None)],
                 stores=["b.db"], expected=["s.db"], rerun=rerun_same),
    ]


def markdown(table, opts):
    """The figures as docs/reliability.md shows them."""
    out = ["| command | fault site | errno | calls | N tried | faults injected | survived "
           "| of them absorbed |", "|---|---|---|--:|--:|--:|--:|--:|"]
    for t in table:
        site = t["site"] + (" on `%s`" % t["path"].strip("/") if t["path"] else "")
        site += " (persistent)" if t["persist"] else ""
        out.append("| `%s` | %s | %s | %d | %d | %d | %d | %d |" % (
            t["scenario"], site, t["errno"] or "ENOMEM", t["calls"], t["tried"],
            t["injected"], t["survived"], t["absorbed"]))
    inj = sum(t["injected"] for t in table)
    surv = sum(t["survived"] for t in table)
    out.append("| **all** | | | | %d | %d | %d | %d |" % (
        sum(t["tried"] for t in table), inj, surv, sum(t["absorbed"] for t in table)))
    return "\n".join(out) + "\n"


def main():
    if "--skip" in sys.argv[:-1]:  # before the parse: meson puts it between the operands
        print("SKIP: " + sys.argv[sys.argv.index("--skip") + 1])
        sys.exit(77)
    ap = argparse.ArgumentParser()
    ap.add_argument("flakemeter")
    ap.add_argument("shim", nargs="?")
    ap.add_argument("fixtures", nargs="?")
    ap.add_argument("--skip")
    ap.add_argument("--every", action="store_true", help="every N, not a sample")
    ap.add_argument("--persist", action="store_true", help="also persistent faults")
    ap.add_argument("--only", help="scenarios whose name contains this")
    ap.add_argument("--site", help="only this fault site")
    ap.add_argument("--table", help="write the figures as JSON here")
    ap.add_argument("--markdown", help="write the figures as a Markdown table here")
    ap.add_argument("--keep-failed", help="copy the folder of each failed case here, with a "
                                          "REPRO line (the folder as it was before the checks)")
    opts = ap.parse_args()
    if opts.skip:
        print("SKIP: " + opts.skip)
        sys.exit(77)
    if not sys.platform.startswith("linux") or not os.path.exists("/proc/self/environ"):
        print("SKIP: the fault loops need Linux /proc")
        sys.exit(77)
    t0 = time.monotonic()
    root = tempfile.mkdtemp(prefix="fm-faults-")
    table, failures = [], []
    try:
        ctx = Ctx(opts.flakemeter, os.path.abspath(opts.shim), os.path.abspath(opts.fixtures),
                  root)
        for sc in scenarios(ctx):
            if opts.only and opts.only not in sc.name:
                continue
            ref = reference(ctx, sc)
            for site, eno, path in sc.sites:
                if opts.site and site != opts.site:
                    continue
                for persist in ([False, True] if opts.persist else [False]):
                    failures += loop(ctx, sc, site, eno, path, ref, opts, persist, table)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    tot = sum(t["injected"] for t in table)
    surv = sum(t["survived"] for t in table)
    print("fault loops: %d faults injected, %d survived, %d failures (%.1f s)" % (
        tot, surv, len(failures), time.monotonic() - t0))
    if opts.table:
        with open(opts.table, "w") as f:
            json.dump(table, f, indent=1)
    if opts.markdown:
        with open(opts.markdown, "w") as f:
            f.write(markdown(table, opts))
    if tot == 0:
        fail("no fault was injected: the shim is not working")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
