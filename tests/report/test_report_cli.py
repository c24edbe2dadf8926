#!/usr/bin/env python3
"""`flakemeter report` and `--plot FILE` of run, show and tests: the command-line contract.

usage: test_report_cli.py FLAKEMETER
- report: no -o, an extension that names no format, an unknown LABEL, an empty store, a
  directory as -o: one line on stderr, exit 2, nothing written; a symbolic link is written
  through (the link kept), a device (/dev/null) written directly; --format overrides the
  extension; LABEL selects (the other campaign's section is absent).
- --plot: run, show (each --picture) and tests write a well-formed SVG whose x-label and
  y-label are the picture's axes; .png, "-" and a missing folder are refused with exit 2 before
  anything runs (no campaign is created); --plot with --list is refused.
Standard library only.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

FM = os.path.abspath(sys.argv[1])
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def fm(*args, cwd=None):
    return subprocess.run([FM, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def bad(args, what, cwd=None):
    p = fm(*args, cwd=cwd)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2 and len(lines) == 1,
          f"{what}: exit {p.returncode}, stderr {p.stderr!r} (want 2 and one line)")
    return p


def svg_axes(path):
    root = ET.parse(path).getroot()
    return {e.get("class"): "".join(e.itertext()) for e in root.iter()
            if e.get("class") in ("x-label", "y-label")}


def campaigns(db):
    with sqlite3.connect(db) as con:
        return [r[0] for r in con.execute("SELECT label FROM campaigns ORDER BY id")]


def main():
    tmp = tempfile.mkdtemp(prefix="fm-report-cli-")
    db = os.path.join(tmp, "a.db")
    p = fm("run", "-q", "-n", "40", "--db", db, "--label", "one", "--plot",
           os.path.join(tmp, "run.svg"), "bernoulli", "p=0.2")
    check(p.returncode == 0, f"run --plot: {p.stderr}")
    check(svg_axes(os.path.join(tmp, "run.svg")) ==
          {"x-label": "attempts", "y-label": "P(all attempts fail)"}, "run --plot: the retry curve")
    p = fm("run", "-q", "--until-decided", "--target", "1e-2", "--db", db, "--label", "two",
           "--plot", os.path.join(tmp, "run2.svg"), "bernoulli", "p=0.3")
    check(p.returncode == 0, f"run --until-decided --plot: {p.stderr}")
    axes = svg_axes(os.path.join(tmp, "run2.svg"))
    check(axes.get("y-label") == "failure probability", f"--until-decided: the running estimate {axes}")
    for kind, y in (("retry", "P(all attempts fail)"), ("durations", "fraction of attempts at most "
                    "this long"), ("running", "failure probability")):
        out = os.path.join(tmp, f"show-{kind}.svg")
        p = fm("show", "--db", db, "--plot", out, "--picture", kind, "one")
        check(p.returncode == 0 and svg_axes(out).get("y-label") == y,
              f"show --picture {kind}: {p.returncode} {p.stderr}")
    before = campaigns(db)
    for plot, what in (("x.png", "png"), ("-", "stdout"), (os.path.join(tmp, "no", "x.svg"),
                                                          "missing folder")):
        bad(["run", "-q", "-n", "5", "--db", db, "--plot", plot, "bernoulli", "p=0.1"],
            f"run --plot {what}")
        bad(["show", "--db", db, "--plot", plot], f"show --plot {what}")
    check(campaigns(db) == before, "a refused --plot created a campaign")
    bad(["show", "--db", db, "--list", "--plot", os.path.join(tmp, "l.svg")], "show --list --plot")
    bad(["show", "--db", db, "--plot", os.path.join(tmp, "k.svg"), "--picture", "pie"],
        "--picture pie")

    # tests --plot on a small history
    junit = os.path.join(tmp, "j")
    os.makedirs(junit)
    for i in range(6):
        fail = '<failure message="x"/>' if i % 3 == 0 else ""
        with open(os.path.join(junit, f"r{i}.xml"), "w") as f:
            f.write(f'<testsuite name="s" timestamp="2026-02-0{i + 1}T00:00:00"><testcase '
                    f'classname="c" name="t" time="1">{fail}</testcase><testcase classname="c" '
                    'name="ok" time="1"/></testsuite>')
    check(fm("ingest", "--db", db, "--label", "ci", junit).returncode == 0, "ingest")
    out = os.path.join(tmp, "tests.svg")
    p = fm("tests", "--db", db, "--plot", out)
    check(p.returncode == 0 and svg_axes(out).get("y-label") == "test", f"tests --plot {p.stderr}")
    bad(["tests", "--db", db, "--plot", os.path.join(tmp, "t.png")], "tests --plot png")

    # report: bad input
    html = os.path.join(tmp, "r.html")
    bad(["report", "--db", db], "report without -o")
    bad(["report", "--db", db, "-o", os.path.join(tmp, "r.txt")], "report -o r.txt")
    bad(["report", "--db", db, "-o", html, "nosuch"], "report of an unknown label")
    check(not os.path.exists(html), "a refused report left a file")
    empty = os.path.join(tmp, "empty.db")
    fm("run", "-q", "-n", "1", "--db", empty, "bernoulli", "p=0")
    with sqlite3.connect(empty) as con:
        con.execute("DELETE FROM runs")
        con.execute("DELETE FROM campaigns")
    bad(["report", "--db", empty, "-o", html], "report of an empty store")
    os.mkdir(os.path.join(tmp, "dir.html"))
    bad(["report", "--db", db, "-o", os.path.join(tmp, "dir.html")], "report -o a directory")
    # LABEL selects
    p = fm("report", "--db", db, "-o", html, "one")
    text = open(html, encoding="utf-8").read() if p.returncode == 0 else ""
    check(p.returncode == 0 and "Campaign: one" in text and "Campaign: two" not in text
          and "CI history" not in text, f"report one: {p.stderr}")
    p = fm("report", "--db", db, "-o", html, "ci")
    text = open(html, encoding="utf-8").read() if p.returncode == 0 else ""
    check("CI history: ci" in text and "Campaign:" not in text, "report ci: the suite only")
    # a link is written through and kept; a device written directly
    real = os.path.join(tmp, "real.html")
    open(real, "w").close()
    link = os.path.join(tmp, "link.html")
    os.symlink("real.html", link)
    p = fm("report", "--db", db, "-o", link)
    check(p.returncode == 0 and os.path.islink(link) and os.path.getsize(real) > 1000,
          f"report -o a link: {p.stderr}")
    p = fm("report", "--db", db, "--format", "html", "-o", "/dev/null")
    check(p.returncode == 0, f"report -o /dev/null: {p.stderr}")
    md = os.path.join(tmp, "r.html.txt")
    p = fm("report", "--db", db, "--format", "md", "-o", md)
    check(p.returncode == 0 and open(md).read().startswith("# flakemeter report") and
          os.path.exists(os.path.join(tmp, "r.html-1.svg")), f"--format md: {p.stderr}")
    print(f"{checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
