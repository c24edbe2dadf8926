#!/usr/bin/env python3
"""The PostgreSQL shared store against a real server (issue 17, docs/scale.md).

The test starts its own PostgreSQL (tests/pg/pg_server.py: initdb + pg_ctl in a temp folder,
Unix socket only, as 'nobody' when run as root) and stops it at the end, also on failure.  It
skips (77) when the server binaries are missing or flakemeter was built without libpq.

Checks, each able to fail:
  1. 8 runners at once on one campaign: every runner exits 0 and makes its -n runs; the runs
     table holds 8 x N rows with 8 x N distinct run indices (no collision: a duplicate would
     have failed a runner's commit), and the campaign's counts are the sum of the runners'.
  2. The same campaign in SQLite (same seed: bernoulli draws from (seed, run, attempt)): every
     run index the runners made has the same outcome as in SQLite, so the counts over those
     indices are identical.
  3. A runner killed with SIGKILL loses no committed run: the runs it had committed before the
     kill are all there after it, and its runners row (counts, in flight) matches its rows, as
     the one-transaction rule says.  Its in-flight count stays in the combined counts.
  4. Cluster-wide --until-decided: 4 runners stop together; the decision is recorded once and
     every runner exits within 2 s of it (decision time in the database vs each exit time).
  5. merge both ways: PostgreSQL -> SQLite and SQLite -> PostgreSQL keep the counts, and a second
     merge adds nothing.
  6. Refusals: a newer schema is exit 2 and untouched; a command without PostgreSQL support
     (ingest) says so with exit 2.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pg_server  # noqa: E402

FM = sys.argv[1]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def fm(*args, **kw):
    return subprocess.run([FM] + list(args), capture_output=True, text=True, **kw)


def summary(db, label):
    r = fm("show", "--json", "--db", db, label)
    if r.returncode != 0:
        raise RuntimeError("show failed: " + r.stderr)
    j = json.loads(r.stdout)
    j["failures"] = j["runs"] - j["passed"]  # counted first attempts that did not pass
    return j


def outcomes(db, label):
    r = fm("export", "--format", "json", "--db", db, label)
    if r.returncode != 0:
        raise RuntimeError("export failed: " + r.stderr)
    data = json.loads(r.stdout)
    camp = data["campaigns"][0]
    return {(x["run_index"], x["attempt"]): x["outcome"] for x in camp["runs"]}


def test_concurrent(srv, url, tmp):
    n, runners = 150, 8
    procs = [subprocess.Popen([FM, "run", "-q", "-n", str(n), "-j", "2", "--label", "c8",
                               "--resume", "--db", url, "bernoulli", "p=0.1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(runners)]
    outs = [p.communicate(timeout=120) for p in procs]
    check(all(p.returncode == 0 for p in procs),
          "8 concurrent runners all exit 0 (%s)" % [(p.returncode, o[1][-200:])
                                                    for p, o in zip(procs, outs)
                                                    if p.returncode])
    check(all(("%d runs in this invocation" % n) in o[0] for o in outs),
          "every runner made its %d runs" % n)
    rows, distinct = srv.psql("postgres", "SELECT count(*), count(DISTINCT run_index) FROM "
                              "flakemeter.runs r JOIN flakemeter.campaigns c ON c.id = "
                              "r.campaign WHERE c.label = 'c8'").split("|")
    check(int(rows) == n * runners and int(distinct) == n * runners,
          "runs table: %s rows, %s distinct run indices (want %d each)" % (rows, distinct,
                                                                          n * runners))
    per = srv.psql("postgres", "SELECT counted, failed FROM flakemeter.runners r JOIN "
                   "flakemeter.campaigns c ON c.id = r.campaign WHERE c.label = 'c8'")
    per = [tuple(map(int, line.split("|"))) for line in per.splitlines()]
    s = summary(url, "c8")
    check(len(per) == runners and all(c == n for c, _ in per),
          "8 runner rows, each counting its %d runs: %s" % (n, per))
    check(sum(c for c, _ in per) == s["runs"] and sum(f for _, f in per) == s["failures"],
          "campaign counts (%d runs, %d failures) = sum over runners (%d, %d)"
          % (s["runs"], s["failures"], sum(c for c, _ in per), sum(f for _, f in per)))
    return s


def test_same_as_sqlite(url, tmp):
    pg = outcomes(url, "c8")
    top = max(i for i, _ in pg) + 1
    db = os.path.join(tmp, "same.db")
    r = fm("run", "-q", "-n", str(top), "-j", "2", "--label", "c8", "--db", db,
           "bernoulli", "p=0.1")
    check(r.returncode == 0, "the SQLite campaign of %d runs ran (%s)" % (top, r.stderr[-200:]))
    lite = outcomes(db, "c8")
    same = all(lite.get(k) == v for k, v in pg.items())
    check(same, "every one of the %d run indices has the same outcome as in SQLite" % len(pg))
    fail_pg = sum(v != "pass" for v in pg.values())
    fail_lite = sum(lite[k] != "pass" for k in pg)
    check(fail_pg == fail_lite, "failures over those indices: PostgreSQL %d, SQLite %d"
          % (fail_pg, fail_lite))


def test_sigkill(srv, url):
    p = subprocess.Popen([FM, "run", "-q", "-n", "1000000", "-j", "2", "--label", "kill",
                          "--resume", "--db", url, "slow_fail", "p=0.2", "fail_ms=5"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    q = ("SELECT count(*) FROM flakemeter.runs r JOIN flakemeter.campaigns c ON c.id = "
         "r.campaign WHERE c.label = 'kill'")
    deadline = time.time() + 30
    before = 0
    while time.time() < deadline and before < 200:
        time.sleep(0.2)
        try:
            before = int(srv.psql("postgres", q))
        except (RuntimeError, ValueError):
            before = 0
    before_keys = srv.psql("postgres", "SELECT run_index FROM flakemeter.runs r JOIN "
                           "flakemeter.campaigns c ON c.id = r.campaign WHERE c.label = 'kill'")
    p.send_signal(signal.SIGKILL)
    p.wait()
    after_keys = srv.psql("postgres", "SELECT run_index FROM flakemeter.runs r JOIN "
                          "flakemeter.campaigns c ON c.id = r.campaign WHERE c.label = 'kill'")
    lost = set(before_keys.split()) - set(after_keys.split())
    check(before >= 200 and not lost,
          "SIGKILL: all %d runs committed before the kill are there after it (lost %d)"
          % (before, len(lost)))
    row = srv.psql("postgres", "SELECT r.counted, r.failed, r.in_flight, r.finished, "
                   "(SELECT count(*) FILTER (WHERE x.attempt = 1 AND x.outcome NOT IN (4, 5)) "
                   "FROM flakemeter.runs x WHERE x.runner = r.id), "
                   "(SELECT count(*) FILTER (WHERE x.attempt = 1 AND x.outcome NOT IN (0, 4, 5)) "
                   "FROM flakemeter.runs x WHERE x.runner = r.id) "
                   "FROM flakemeter.runners r JOIN flakemeter.campaigns c ON c.id = r.campaign "
                   "WHERE c.label = 'kill'").split("|")
    counted, failed, in_flight, finished, rows_counted, rows_failed = row
    check(int(counted) == int(rows_counted) and int(failed) == int(rows_failed),
          "the killed runner's row counts its stored rows exactly (%s/%s vs %s/%s)"
          % (counted, failed, rows_counted, rows_failed))
    check(finished == "f" and 0 <= int(in_flight) <= 2,
          "the killed runner stays unfinished with its last in-flight count (%s, at most -j 2)"
          % in_flight)


def test_decision(srv, url):
    n = 4
    procs = [subprocess.Popen([FM, "run", "-q", "--until-decided", "-j", "2", "--label", "dec",
                               "--resume", "--db", url, "slow_fail", "p=0.1", "fail_ms=20"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    ends = [None] * n
    deadline = time.time() + 90
    while any(e is None for e in ends) and time.time() < deadline:
        for i, p in enumerate(procs):
            if ends[i] is None and p.poll() is not None:
                ends[i] = time.time_ns()
        time.sleep(0.002)
    for p in procs:
        if p.poll() is None:
            p.kill()
    outs = [p.communicate() for p in procs]
    check(all(p.returncode == 0 for p in procs),
          "4 runners with --until-decided exit 0 (%s)" % [o[1][-200:] for o in outs])
    state = srv.psql("postgres", "SELECT s.decided_ns FROM flakemeter.campaign_state s JOIN "
                     "flakemeter.campaigns c ON c.id = s.campaign WHERE c.label = 'dec'")
    check(state != "", "the decision is recorded in campaign_state")
    if state == "" or None in ends:
        return
    lat = [(e - int(state)) / 1e9 for e in ends]
    check(all(x <= 2.0 for x in lat),
          "every runner exits within 2 s of the decision: %s s" % ["%.3f" % x for x in lat])
    check(all("decided" in o[0] for o in outs), "every runner reports the decision")
    print("stop latency after the decision (s): " + " ".join("%.3f" % x for x in sorted(lat)))


def test_merge(srv, url, tmp):
    out = os.path.join(tmp, "from_pg.db")
    r = fm("merge", "-o", out, url)
    check(r.returncode == 0, "merge PostgreSQL -> SQLite exits 0 (%s)" % r.stderr.strip())
    for label in ("c8", "dec"):
        a, b = summary(url, label), summary(out, label)
        check((a["runs"], a["failures"]) == (b["runs"], b["failures"]),
              "PostgreSQL -> SQLite keeps %s: %d/%d vs %d/%d"
              % (label, a["runs"], a["failures"], b["runs"], b["failures"]))
    url2 = srv.createdb("back")
    r = fm("merge", "-o", url2, out)
    check(r.returncode == 0, "merge SQLite -> PostgreSQL exits 0 (%s)" % r.stderr.strip())
    r2 = fm("merge", "-o", url2, out)
    for label in ("c8", "dec"):
        a, b = summary(out, label), summary(url2, label)
        check((a["runs"], a["failures"]) == (b["runs"], b["failures"]),
              "SQLite -> PostgreSQL keeps %s: %d/%d vs %d/%d"
              % (label, a["runs"], a["failures"], b["runs"], b["failures"]))
    rows = srv.psql("back", "SELECT count(*) FROM flakemeter.runs")
    rows_lite = sum(len(outcomes(out, label)) for label in ("c8", "dec", "kill"))
    check(r2.returncode == 0 and int(rows) == rows_lite,
          "a second merge adds nothing (%s rows, SQLite %d)" % (rows, rows_lite))
    sums = srv.psql("back", "SELECT sum(counted) FROM flakemeter.runners")
    s = sum(summary(url2, label)["runs"] for label in ("c8", "dec", "kill"))
    check(int(sums) == s, "merged runners rows count the copied runs (%s vs %d)" % (sums, s))
    # A runner continuing the merged campaign takes indices above every merged one.
    r = fm("run", "-q", "-n", "20", "-j", "2", "--label", "c8", "--resume", "--db", url2,
           "bernoulli", "p=0.1")
    check(r.returncode == 0 and summary(url2, "c8")["runs"] == summary(out, "c8")["runs"] + 20,
          "a runner continues the merged campaign without a collision (%s)" % r.stderr.strip())


def test_refusals(srv, url):
    url3 = srv.createdb("newer")
    r = fm("run", "-q", "-n", "5", "--db", url3, "bernoulli")
    srv.psql("newer", "UPDATE flakemeter.meta SET value = '99' WHERE key = 'schema'")
    before = srv.psql("newer", "SELECT count(*) FROM flakemeter.runs")
    r = fm("run", "-q", "-n", "5", "--label", "x", "--db", url3, "bernoulli")
    after = srv.psql("newer", "SELECT count(*) FROM flakemeter.runs")
    check(r.returncode == 2 and "newer" in r.stderr and before == after,
          "a newer schema: exit 2, one line, nothing written (%d: %s)"
          % (r.returncode, r.stderr.strip()))
    r = fm("export", "--history", "--db", url)
    check(r.returncode == 2 and "no CI history" in r.stderr,
          "export --history of a PostgreSQL store: exit 2 (%s)" % r.stderr.strip())
    r = fm("ingest", "--db", url, "/nonexistent.xml")
    check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and
          "PostgreSQL" in r.stderr, "ingest on a PostgreSQL store: one line, exit 2 (%s)"
          % r.stderr.strip())


def main():
    why = pg_server.skip_reason(FM)
    if why:
        print("SKIP: " + why)
        return 77
    srv = pg_server.Server()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="fmpgt") as tmp:
        try:
            url = srv.start()
            test_concurrent(srv, url, tmp)
            test_same_as_sqlite(url, tmp)
            test_sigkill(srv, url)
            test_decision(srv, url)
            test_merge(srv, url, tmp)
            test_refusals(srv, url)
        finally:
            srv.stop()
    print("%.1f s" % (time.time() - t0))
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
