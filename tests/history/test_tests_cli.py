#!/usr/bin/env python3
"""`flakemeter ingest` and `flakemeter tests` through the command line.

* The 40 CI runs of tests/reference/history_outcomes.csv are written as JUnit files (two suites:
  "norev" without and "rev" with a revision property, CI runs 2j and 2j+1 on commit j), ingested,
  and every number of `tests --json` is compared with history_r.csv, computed by R
  (gen_history.R: binom.test for the intervals, the classification rules written from
  docs/statistics.md).
* The contract: a batch with malformed files ingests the others, prints one line per rejected
  file naming FILE:LINE, and exits 1 with the count; re-ingest adds nothing; bad options exit 2
  with one line; windows (--last, --since, --until) and the sort order.

Usage: test_tests_cli.py FLAKEMETER REFERENCE_DIR
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

FM = sys.argv[1]
REF = sys.argv[2]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    p = subprocess.run([FM, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def testcase(name, token):
    """One token of history_outcomes.csv as a testcase element (surefire/nextest style)."""
    if token == "-":
        return f'<testcase classname="suite" name="{name}"><skipped message="not here"/></testcase>'
    if token == "P":
        return f'<testcase classname="suite" name="{name}" time="0.5"/>'
    if token == "F":
        return f'<testcase classname="suite" name="{name}" time="0.5"><failure message="assert"/></testcase>'
    if token == "T":
        return f'<testcase classname="suite" name="{name}" time="9"><failure message="Timeout"/></testcase>'
    if token == "E":
        return f'<testcase classname="suite" name="{name}" time="0.1"><error message="boom"/></testcase>'
    if token.endswith("P"):  # FP, FFP: flaky attempts, then a pass
        flaky = '<flakyFailure message="x"/>' * (len(token) - 1)
        return f'<testcase classname="suite" name="{name}" time="0.5">{flaky}</testcase>'
    # FF...: a failure and failed reruns
    reruns = '<rerunFailure message="x"/>' * (len(token) - 1)
    return f'<testcase classname="suite" name="{name}" time="0.5"><failure message="x"/>{reruns}</testcase>'


def read_outcomes():
    with open(os.path.join(REF, "history_outcomes.csv")) as f:
        lines = [l for l in f if not l.startswith("#")]
    return {r["test"]: r["outcomes"].split(" ") for r in csv.DictReader(lines)}


def write_suite(root, suite, outcomes):
    folder = os.path.join(root, suite)
    os.makedirs(folder)
    n = len(next(iter(outcomes.values())))
    for i in range(n):
        props = f'<property name="revision" value="c{i // 2}"/>' if suite == "rev" else ""
        cases = "\n".join(testcase(t, seq[i]) for t, seq in outcomes.items())
        day = f"2024-01-01T00:00:00Z" if i == 0 else None
        stamp = f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}T06:00:00Z"
        with open(os.path.join(folder, f"run-{i:03d}.xml"), "w") as f:
            f.write(f'<?xml version="1.0"?>\n<testsuite name="{suite}" timestamp="{stamp}">'
                    f"<properties>{props}</properties>\n{cases}\n</testsuite>\n")
    return folder, n


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def compare_with_r(db):
    with open(os.path.join(REF, "history_r.csv")) as f:
        ref = list(csv.DictReader(l for l in f if not l.startswith("#")))
    rc, out, err = run("tests", "--db", db, "--json")
    check(rc == 0, f"tests --json exit {rc}: {err}")
    got = {(o["label"], o["test"]): o for o in json.loads(out)}
    check(len(got) == len(ref), f"{len(got)} tests, R has {len(ref)}")
    for r in ref:
        key = (r["suite"], "suite::" + r["test"])
        o = got.get(key)
        check(o is not None, f"{key} missing")
        if o is None:
            continue
        for field in ("runs", "failures", "passed_on_retry"):
            check(o[field] == int(r[field]), f"{key} {field} {o[field]} != {r[field]}")
        check(o["red_runs"] == int(r["red"]), f"{key} red {o['red_runs']} != {r['red']}")
        for field in ("estimate", "lower", "upper", "flip_rate", "red_share"):
            want = None if r[field] == "NA" else float(r[field])
            check(close(o[field], want), f"{key} {field} {o[field]} != {want}")
        check(o["class"] == r["class"], f"{key} class {o['class']} != {r['class']}")
        check(o["evidence"] == r["evidence"], f"{key} evidence {o['evidence']} != {r['evidence']}")
    # Sorted by share of red CI runs, then by estimate.
    order = [(-o["red_share"], -o["estimate"]) for o in json.loads(out)]
    check(order == sorted(order), "not sorted by red share, then estimate")
    for o in json.loads(out):
        for key in ("test", "runs", "failures", "passed_on_retry", "estimate", "lower", "upper",
                    "flip_rate", "class"):
            check(key in o, f"key {key} missing")
    return json.loads(out)


def test_history(root):
    outcomes = read_outcomes()
    db = os.path.join(root, "h.db")
    for suite in ("norev", "rev"):
        folder, n = write_suite(root, suite, outcomes)
        rc, out, err = run("ingest", "--db", db, "--label", suite, folder)
        check(rc == 0 and err == "", f"ingest {suite}: {rc} {err}")
        check(out.startswith(f"{n} files ingested"), f"summary: {out}")
    first = compare_with_r(db)
    # Re-ingest adds nothing.
    rc, out, err = run("ingest", "--db", db, "--label", "norev", os.path.join(root, "norev"))
    check(rc == 0 and "0 files ingested" in out and "40 already there" in out, f"again: {out}")
    rc, out, err = run("tests", "--db", db, "--json")
    check(json.loads(out) == first, "re-ingest changed `tests`")
    # Human table: one header per suite, one line per test.
    rc, out, err = run("tests", "--db", db, "--label", "norev")
    lines = out.splitlines()
    check(rc == 0 and lines[0].startswith("suite norev: 40 CI runs"), f"table: {lines[:2]}")
    check(len(lines) == 2 + len(outcomes), f"{len(lines)} lines")
    check("failing" in out and "flaky" in out and "stable" in out, "classes in the table")
    # Windows.
    rc, out, err = run("tests", "--db", db, "--label", "norev", "--last", "10", "--json")
    w = {o["test"]: o for o in json.loads(out)}
    check(w["suite::broken_end"]["runs"] == 10 and w["suite::broken_end"]["class"] == "failing"
          and w["suite::broken_end"]["evidence"] == "never_passed", "last 10: broken_end")
    check(w["suite::fixed_break"]["failures"] == 0, "last 10: fixed_break has no failures")
    rc, out, err = run("tests", "--db", db, "--label", "norev", "--since", "2024-02-01",
                       "--until", "2024-02-05T00:00:00Z", "--json")
    w = {o["test"]: o for o in json.loads(out)}
    # CI runs 28..31 are on 2024-02-01..04.
    check(all(o["runs"] == 4 for k, o in w.items() if "skipped" not in k and "tiny" not in k),
          "since/until: 4 runs each")
    check(w["suite::broken_end"]["failures"] == 2, "runs 30, 31 failed")
    return first


def test_merge(root, first):
    """Split the history over two stores (overlapping in 10 files each suite), merge them with a
    campaign store: `tests` on the merge equals `tests` on the store that ingested everything,
    and merging again adds nothing."""
    a, b, out = (os.path.join(root, n) for n in ("ma.db", "mb.db", "merged.db"))
    for suite in ("norev", "rev"):
        files = sorted(os.listdir(os.path.join(root, suite)))
        paths = [os.path.join(root, suite, f) for f in files]
        rc, _, err = run("ingest", "--db", a, "--label", suite, *paths[:25])
        check(rc == 0, f"ingest a {suite}: {err}")
        rc, _, err = run("ingest", "--db", b, "--label", suite, *paths[15:])
        check(rc == 0, f"ingest b {suite}: {err}")
    rc, _, err = run("run", "--db", b, "-n", "5", "--quiet", "bernoulli", "p=0.5")
    check(rc == 0, f"a campaign beside the history: {err}")
    rc, _, err = run("merge", "-o", out, a, b)
    check(rc == 0, f"merge: {rc} {err}")
    rc, got, err = run("tests", "--db", out, "--json")
    check(rc == 0 and json.loads(got) == first, "tests on the merged store == tests on one store")
    rc, _, err = run("merge", "-o", out, a, b)
    rc, again, err = run("tests", "--db", out, "--json")
    check(rc == 0 and again == got, "merging again adds nothing")
    rc, shown, err = run("show", "--db", out, "--json")
    check(rc == 0 and json.loads(shown).get("runs") == 5, f"the campaign came along: {shown[:80]}")


def test_export_history(root, outcomes):
    """export --history: every ingested result comes out, in CI-run order, as JSON and CSV."""
    db = os.path.join(root, "h.db")
    rc, out, err = run("export", "--db", db, "--history", "norev")
    check(rc == 0, f"export --history: {rc} {err}")
    doc = json.loads(out) if rc == 0 else {"ci_runs": []}
    runs = doc["ci_runs"]
    check(len(runs) == 40 and all(r["label"] == "norev" for r in runs), f"{len(runs)} CI runs")
    token = {"pass": "P", "fail": "F", "error": "E", "timeout": "T"}
    for name, seq in outcomes.items():
        got = []
        for r in runs:
            first = [x for x in r["results"] if x["test"] == "suite::" + name and x["attempt"] == 1]
            got.append(token.get(first[0]["outcome"], "?") if first else "-")
        want = [t[0] for t in seq]  # FF, FP, FFP: the first attempt failed
        check(got == want, f"{name}: exported first attempts {''.join(got)} vs {''.join(want)}")
    n_results = sum(len(r["results"]) for r in runs)
    rc, out, err = run("export", "--db", db, "--history", "--format", "csv", "norev")
    rows = list(csv.DictReader(out.splitlines())) if rc == 0 else []
    check(len(rows) == n_results, f"csv rows {len(rows)} == json results {n_results}")
    rc, out, err = run("export", "--db", db, "--history", "--format", "junit")
    check(rc == 2 and "json or csv" in err, f"junit refused: {rc} {err!r}")
    rc, out, err = run("export", "--db", db, "--history", "no-such-suite")
    check(rc == 2 and out == "" and "no CI history" in err, f"unknown suite: {rc} {err!r}")


def test_contract(root):
    db = os.path.join(root, "c.db")
    good1 = os.path.join(root, "good1.xml")
    bad = os.path.join(root, "bad.xml")
    good2 = os.path.join(root, "good2.xml")
    with open(good1, "w") as f:
        f.write('<testsuite><testcase name="a"/></testsuite>\n')
    with open(bad, "w") as f:
        f.write('<testsuite>\n<testcase name="a">\n<failure>\n')
    with open(good2, "w") as f:
        f.write('<testsuite><testcase name="a"><failure/></testcase></testsuite>\n')
    rc, out, err = run("ingest", "--db", db, good1, bad, good2, os.path.join(root, "missing.xml"))
    lines = err.splitlines()
    check(rc == 1, f"exit {rc}")
    check(len(lines) == 3, f"stderr lines: {lines}")
    check(lines[0].startswith(f"flakemeter ingest: {bad}:3:") and "truncated" in lines[0],
          f"bad file line: {lines[0]}")
    check("missing.xml: cannot open" in lines[1], f"missing: {lines[1]}")
    check(lines[2] == "flakemeter ingest: 2 of 4 files rejected", f"count: {lines[2]}")
    check(out.startswith("2 files ingested"), f"summary: {out}")
    rc, out, err = run("tests", "--db", db, "--json")
    t = json.loads(out)
    check(len(t) == 1 and t[0]["runs"] == 2 and t[0]["failures"] == 1, f"both good files: {t}")
    # --json of ingest
    rc, out, err = run("ingest", "--db", db, "--json", good1, bad)
    o = json.loads(out)
    check(rc == 1 and o["duplicates"] == 1 and o["rejected"] == 1 and o["added"] == 0, f"{o}")
    check([f["status"] for f in o["files"]] == ["duplicate", "rejected"], f"{o['files']}")
    # --run: several files, one CI run
    good4 = os.path.join(root, "good4.xml")
    with open(good4, "w") as f:
        f.write('<testsuite><testcase name="a"><failure/></testcase></testsuite>\n\n')
    rc, out, err = run("ingest", "--db", db, "--label", "one", "--run", "b1", bad, good4)
    good3 = os.path.join(root, "good3.xml")
    with open(good3, "w") as f:
        f.write('<testsuite><testcase name="a"/><testcase name="b"/></testsuite>\n')
    rc, out, err = run("ingest", "--db", db, "--label", "one", "--run", "b1", good3)
    check(rc == 0 and "1 file ingested" in out, f"--run: {out} {err}")
    rc, out, err = run("tests", "--db", db, "--label", "one", "--json")
    t = {o["test"]: o for o in json.loads(out)}
    check(t["a"]["runs"] == 1 and t["a"]["passed_on_retry"] == 1 and t["a"]["class"] == "flaky",
          f"--run made one CI run of three files: {t}")
    # Bad input: exit 2, one line, nothing on stdout.
    for args in (["tests", "--db", db, "--last", "0"], ["tests", "--db", db, "--since", "May"],
                 ["tests", "--db", db, "--confidence", "1"], ["tests", "--db", db, "extra"],
                 ["tests", "--db", os.path.join(root, "none.db")], ["ingest", "--db", db],
                 ["ingest", "--db", db, "--label", "", good1], ["ingest", "--bogus", good1]):
        rc, out, err = run(*args)
        check(rc == 2 and out == "" and len(err.splitlines()) == 1, f"{args}: {rc} {out!r} {err!r}")
    # A suite that is not in the store is bad input, as in budget and check (issue 13)...
    rc, out, err = run("tests", "--db", db, "--label", "nothing", "--json")
    check(rc == 2 and out == "" and "nothing" in err and len(err.splitlines()) == 1,
          f"unknown suite: {rc} {out!r} {err!r}")
    # ...but an empty window is not an error.
    rc, out, err = run("tests", "--db", db, "--since", "2200-01-01", "--json")
    check(rc == 0 and json.loads(out) == [], f"empty window: {rc} {out}")


def main():
    with tempfile.TemporaryDirectory() as root:
        first = test_history(root)
        test_merge(root, first)
        test_export_history(root, read_outcomes())
        test_contract(root)
    print(f"tests cli: {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
