#!/usr/bin/env python3
"""Hostile text and values in the store through `export` and `run` (issue 14, items 11, 12, 14, 16).

usage: test_hostile_export_cli.py FLAKEMETER
11. A label holding U+FFFE and U+FFFF: the JUnit export is well-formed XML (both become U+FFFD).
12. Labels and test names starting with = + - @ or a tab are neutralised in CSV (a ' before
    them, the field quoted: OWASP "CSV Injection"), in `export --format csv` and in
    `export --history --format csv`; numbers (negative ones too) are not touched.
14. An argument that is not UTF-8 is kept in the stored command (bytes as \\xNN), not dropped.
16. wall_ns = INT64_MAX in every run (a crafted store): the JUnit times are not negative (the
    sums saturate; the ASan+UBSan build would stop on the signed overflow).
Standard library only (sqlite3 to tamper, xml.etree to parse, csv to read back).
"""
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

FM = sys.argv[1]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def fm(*args, stdout=subprocess.PIPE):
    return subprocess.run([FM, *args], stdout=stdout, stderr=subprocess.PIPE, timeout=60)


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "s.db")
    # 11 and 16: a label with U+FFFE/U+FFFF, two runs, then every wall_ns = INT64_MAX.
    odd = "x\ufffey\uffff"
    r = fm("run", "--db", db, "-n", "2", "--label", odd, "--", "/bin/true")
    check(r.returncode == 0, f"run --label U+FFFE: exit {r.returncode} {r.stderr!r}")
    r = fm("run", "--db", db, "-n", "2", "--label", "big", "--", "/bin/true")
    check(r.returncode == 0, f"run --label big: exit {r.returncode} {r.stderr!r}")
    formulas = ["=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd"]
    for label in formulas:
        r = fm("run", "--db", db, "-n", "1", "--label", label, "--", "/bin/true")
        check(r.returncode == 0, f"run --label {label!r}: exit {r.returncode} {r.stderr!r}")
    with sqlite3.connect(db) as c:
        c.execute("UPDATE runs SET wall_ns = 9223372036854775807")
    r = fm("export", "--db", db, "--format", "junit", odd)
    check(r.returncode == 0 and not r.stderr, f"item 11: export junit: {r.stderr!r}")
    try:
        root = ET.fromstring(r.stdout)
        suite = root.find("testsuite")
        check(suite.get("name") == "x\ufffdy\ufffd", f"item 11: name {suite.get('name')!r}")
    except ET.ParseError as e:
        check(False, f"item 11: the JUnit export is not well-formed: {e}")
    r = fm("export", "--db", db, "--format", "junit", "big")
    check(r.returncode == 0 and not r.stderr, f"item 16: export junit: {r.stderr!r}")
    try:
        root = ET.fromstring(r.stdout)
        times = [e.get("time") for e in root.iter() if e.get("time") is not None]
        # A sum of two INT64_MAX wrapped to -2 ns: printed "-0.000000".
        check(len(times) == 4 and not any(t.startswith("-") for t in times) and
              float(root.get("time")) >= 9e9, f"item 16: negative or missing times {times}")
    except ET.ParseError:
        pass  # item 11, reported above

    # 12: CSV of the runs.
    r = fm("export", "--db", db, "--format", "csv")
    check(r.returncode == 0, f"item 12: export csv: {r.stderr!r}")
    rows = list(csv.reader(io.StringIO(r.stdout.decode())))
    labels = {row[0] for row in rows[1:]}
    for label in formulas:
        check("'" + label in labels, f"item 12: label {label!r} not neutralised: {labels}")
    check(all(not lab[:1] in ("=", "+", "-", "@", "\t") for lab in labels),
          f"item 12: a cell starts a formula: {labels}")
    # ... and of the ingested history (test names).
    rep = os.path.join(tmp, "r.xml")
    with open(rep, "w") as f:
        f.write('<testsuite>' + "".join(
            f'<testcase name="{n}" time="1"/>' for n in
            ("=1+2", "-x", "@y", "+z", "plain")) + '</testsuite>\n')
    r = fm("ingest", "--db", db, "--label", "=suite", rep)
    check(r.returncode == 0, f"item 12: ingest: {r.stderr!r}")
    r = fm("export", "--db", db, "--history", "--format", "csv")
    rows = list(csv.reader(io.StringIO(r.stdout.decode())))
    names = sorted(row[6] for row in rows[1:])
    check(names == sorted(["'=1+2", "'-x", "'@y", "'+z", "plain"]), f"item 12: tests {names}")
    check(all(row[0] == "'=suite" for row in rows[1:]), f"item 12: suite {rows[1:2]}")

    # 14: a non-UTF-8 argument stays in the stored command.
    db2 = os.path.join(tmp, "c.db")
    r = fm("run", "--db", db2, "-n", "1", "--", "/bin/true", b"caf\xe9".decode("latin-1")
           .encode("latin-1").decode("utf-8", "surrogateescape"), "ok")
    check(r.returncode == 0, f"item 14: run: {r.stderr!r}")
    with sqlite3.connect(db2) as c:
        (command,) = c.execute("SELECT command FROM campaigns").fetchone()
    check(json.loads(command) == ["/bin/true", "caf\\xe9", "ok"], f"item 14: stored {command!r}")

print(f"{checks - failures}/{checks} checks passed")
sys.exit(1 if failures else 0)
