#!/usr/bin/env python3
"""`flakemeter merge` and `flakemeter export`: exit statuses, one-line errors, round trips.

usage: test_store_cli.py FLAKEMETER STORE_FIXTURE
Bad input (a missing or foreign store, a newer schema, a conflicting label, a bad option) is
exit 2 with one stderr line naming the argument, and leaves every file as it was; a write error
is exit 1.  Round trip: two shard stores merged, then exported as JSON, CSV and JUnit, equal the
unsharded store's export.  Standard library only (sqlite3 to tamper, xml.etree to parse).
"""
import csv
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

FM, FIXTURE = sys.argv[1], sys.argv[2]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args):
    return subprocess.run([FM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60)


def fixture(path, label, chains, shard=0, nshards=1, command=None):
    args = [FIXTURE, path, label, str(chains), str(shard), str(nshards)]
    if command:
        args.append(command)
    subprocess.run(args, check=True, timeout=60)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def expect_usage(args, names, unchanged=()):
    before = {p: digest(p) for p in unchanged}
    r = run(*args)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2, f"{args}: exit {r.returncode}, want 2 ({r.stderr!r})")
    check(len(lines) == 1 and all(n in lines[0] for n in names),
          f"{args}: want one line naming {names}, got {r.stderr!r}")
    for p, d in before.items():
        check(digest(p) == d, f"{args}: {p} changed")


def test_bad_input(d):
    good = os.path.join(d, "good.db")
    other = os.path.join(d, "other.db")
    newer = os.path.join(d, "newer.db")
    text = os.path.join(d, "notes.txt")
    fixture(good, "lbl", 50)
    fixture(other, "lbl", 50, command='["./different"]')
    fixture(newer, "lbl", 10)
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    with open(text, "w") as f:
        f.write("not a database\n")
    out = os.path.join(d, "out.db")
    fixture(out, "keep", 5)

    expect_usage(["merge", good], ["-o"])
    expect_usage(["merge", "-o", out], ["input"], [out])
    expect_usage(["merge", "-o", out, os.path.join(d, "missing.db")], ["missing.db"], [out])
    expect_usage(["merge", "-o", out, text], ["notes.txt", "not an SQLite"], [out, text])
    expect_usage(["merge", "-o", out, newer], ["newer.db", "99"], [out, newer])
    expect_usage(["merge", "-o", out, good, other], ["'lbl'"], [out, good, other])
    expect_usage(["merge", "-o", text, good], ["notes.txt"], [text, good])
    expect_usage(["merge", "--bogus"], ["--bogus"])
    fresh = os.path.join(d, "fresh.db")
    expect_usage(["merge", "-o", fresh, good, other], ["'lbl'"])
    check(not os.path.exists(fresh), "a failed merge creates no output")

    expect_usage(["export", "--db", good, "--format", "xml"], ["--format", "xml"], [good])
    expect_usage(["export", "--db", os.path.join(d, "missing.db")], ["--db", "missing.db"])
    check(not os.path.exists(os.path.join(d, "missing.db")), "export creates no store")
    expect_usage(["export", "--db", text], ["--db", "notes.txt"], [text])
    expect_usage(["export", "--db", newer], ["--db", "99"], [newer])
    expect_usage(["export", "--db", good, "nolabel"], ["nolabel"], [good])
    expect_usage(["export", "--db", good, "lbl", "extra"], ["extra"], [good])
    expect_usage(["export", "--frobnicate"], ["--frobnicate"])

    r = subprocess.run([FM, "export", "--db", good], stdout=open("/dev/full", "w"),
                       stderr=subprocess.PIPE, text=True, timeout=60)
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1,
          f"/dev/full: exit {r.returncode}, {r.stderr!r}")
    for cmd in ("merge", "export"):
        r = run(cmd, "--help")
        check(r.returncode == 0 and r.stdout.startswith("usage: flakemeter " + cmd),
              f"{cmd} --help")


def runs_of(export):
    return sorted((c["label"], r["run_index"], r["attempt"], r["seed"], r["outcome"],
                   r["wall_ns"]) for c in export["campaigns"] for r in c["runs"])


def test_round_trip(d):
    even, odd, full = (os.path.join(d, n) for n in ("even.db", "odd.db", "full.db"))
    fixture(even, "rt", 300, 0, 2)
    fixture(odd, "rt", 300, 1, 2)
    fixture(full, "rt", 300)
    merged = os.path.join(d, "merged.db")
    r = run("merge", "-o", merged, even, odd)
    check(r.returncode == 0 and r.stderr == "", f"merge: {r.returncode} {r.stderr!r}")
    r2 = run("merge", "-o", merged, odd)
    check(r2.returncode == 0, f"merge again: {r2.stderr!r}")

    got = json.loads(run("export", "--db", merged).stdout)
    want = json.loads(run("export", "--db", full, "--format", "json").stdout)
    check(runs_of(got) == runs_of(want) and len(runs_of(want)) > 300,
          f"merged shards = unsharded: {len(runs_of(got))} vs {len(runs_of(want))} runs")

    out = os.path.join(d, "runs.csv")
    r = run("export", "--db", merged, "--format", "csv", "-o", out, "rt")
    check(r.returncode == 0 and r.stdout == "", f"export -o: {r.returncode} {r.stderr!r}")
    rows = list(csv.DictReader(open(out, newline="")))
    check(len(rows) == len(runs_of(want)), f"csv rows {len(rows)}")
    check(rows and set(rows[0]) >= {"label", "run_index", "attempt", "seed", "outcome"},
          "csv header")
    check(not any(n.startswith("runs.csv.tmp") for n in os.listdir(d)), "no temporary left")

    r = run("export", "--db", merged, "-f", "junit")
    root = ET.fromstring(r.stdout)
    suites = root.findall("testsuite")
    check(root.tag == "testsuites" and len(suites) == 1, "junit: one testsuite")
    cases = suites[0].findall("testcase") if suites else []
    check(len(cases) == 300, f"junit: {len(cases)} testcases")
    failed = sum(1 for c in cases if c.find("failure") is not None)
    check(suites and int(suites[0].get("failures")) == failed, "junit failures attribute")


def main():
    with tempfile.TemporaryDirectory() as d:
        test_bad_input(d)
        test_round_trip(d)
    print(f"store cli: {checks} checks, {failures} failed")
    sys.exit(1 if failures else 0)


main()
