#!/usr/bin/env python3
"""One date grammar for every command: `tests --since`, `tests --until` and `check --baseline`
accept and reject exactly the strings of tests/reference/hist_time_py.tsv that Python's datetime
accepts and rejects (gen_hist_time.py), and JUnit timestamps go through the same parser.

Usage: test_hist_time_cli.py FLAKEMETER REFERENCE_DIR

A history is made with two CI runs around every accepted instant E of the table (at E - 1 ns
and at E, written as JUnit timestamps with nine fraction digits), so `tests --since S` must
count exactly the runs at or after E, and `--until S` those before it.  A rejected string is
exit status 2 with one line on stderr for all three options.  Then JUnit: a timestamp outside
the grammar or the range (year 5098, a cut-off offset) does not stop the ingest; the file is
dated by the ingest time instead.  Standard library only.
"""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time

FM, REF = sys.argv[1], sys.argv[2]
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([FM, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def stamp(ns):
    """ns since the epoch as an ISO 8601 UTC timestamp with nine fraction digits."""
    s, frac = divmod(ns, 10**9)
    t = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=s)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def junit(path, run_id, timestamp):
    with open(path, "w") as f:
        f.write('<?xml version="1.0"?>\n<testsuite name="s" timestamp="' + timestamp + '">'
                '<properties><property name="ci_run" value="' + run_id + '"/></properties>'
                '<testcase classname="t" name="a" time="1"/>'
                '<testcase classname="t" name="b" time="1"><failure message="x"/></testcase>'
                '</testsuite>\n')


def main():
    rows = []
    with open(os.path.join(REF, "hist_time_py.tsv")) as f:
        next(f)
        for line in f:
            text, status, ns = line.rstrip("\n").split("\t")
            if text.isdigit():
                continue  # check --baseline reads a number as RUNS
            rows.append((text, status, int(ns)))
    instants = sorted({ns - d for _, st, ns in rows if st == "ok" for d in (1, 0) if ns - d >= 0})
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "h.db")
        files = os.path.join(tmp, "grid")
        os.mkdir(files)
        for i, ns in enumerate(instants):
            junit(os.path.join(files, f"r{i:04d}.xml"), f"run-{i}", stamp(ns))
        rc, _, err = run("ingest", "--db", db, "--label", "grid", files)
        check(rc == 0, f"ingest: {rc} {err}")
        for text, status, ns in rows:
            accepted = status == "ok"
            for opt in ("--since", "--until"):
                rc, out, err = run("tests", "--db", db, "--label", "grid", opt, text, "--json")
                check(rc == (0 if accepted else 2), f"tests {opt} {text!r}: exit {rc}, want "
                      f"{'0' if accepted else '2'}: {err.strip()}")
                if not accepted:
                    check(out == "" and err.count("\n") == 1 and opt in err,
                          f"tests {opt} {text!r}: one line naming the option, got {err!r}")
                elif rc == 0:
                    want = sum(1 for t in instants if (t >= ns) == (opt == "--since"))
                    got = {r["test"]: r["runs"] for r in json.loads(out)}.get("t::a", 0)
                    check(got == want, f"tests {opt} {text!r}: {got} runs, want {want}")
            rc, out, err = run("check", "--db", db, "--label", "grid", "--baseline", text, "--json")
            # An accepted date may still leave nothing to compare (exit 2 since issue 13).
            nothing = rc == 2 and "compare" in err and "--baseline" in err
            check(rc in ((0, 1) if accepted else (2,)) or (accepted and nothing),
                  f"check --baseline {text!r}: exit {rc}, want {'0/1' if accepted else '2'}: "
                  f"{err.strip()}")
            if not accepted:
                check(out == "" and err.count("\n") == 1 and "--baseline" in err,
                      f"check --baseline {text!r}: one line naming the option, got {err!r}")
        # JUnit timestamps: the same parser; a bad one is as good as none (ingest time).
        odd = os.path.join(tmp, "odd")
        os.mkdir(odd)
        before = time.time()
        junit(os.path.join(odd, "a.xml"), "far", "5098-03-05T10:15:30Z")
        junit(os.path.join(odd, "b.xml"), "cut", "2024-05-06T07:08:09+")
        junit(os.path.join(odd, "c.xml"), "minute", "2024-03-01T12:34")
        junit(os.path.join(odd, "d.xml"), "leap", "2023-02-29T00:00:00Z")
        rc, out, err = run("ingest", "--db", db, "--label", "odd", "--json", odd)
        check(rc == 0 and json.loads(out)["added"] == 4, f"odd timestamps ingested: {rc} {err}")
        today = dt.datetime.fromtimestamp(before - 86400, dt.timezone.utc).strftime("%Y-%m-%d")
        rc, out, _ = run("tests", "--db", db, "--label", "odd", "--since", today, "--json")
        runs = {r["test"]: r["runs"] for r in json.loads(out)} if rc == 0 else {}
        check(runs.get("t::a") == 3, f"far, cut and leap dated by the ingest: {runs}")
        rc, out, _ = run("tests", "--db", db, "--label", "odd", "--since", "2024-03-01T12:34",
                         "--until", "2024-03-01T12:34:00.000000001Z", "--json")
        runs = {r["test"]: r["runs"] for r in json.loads(out)} if rc == 0 else {}
        check(runs.get("t::a") == 1, f"a timestamp without seconds is read: {runs}")
    print(f"{checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
