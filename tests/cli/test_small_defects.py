#!/usr/bin/env python3
"""Issue 12, "Small defects, each with a test": each repro as the issue gives it, and the fix.

usage: test_small_defects.py FLAKEMETER
Standard library only.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

FM = sys.argv[1]
failures = 0
checks = 0
NEG_ZERO = re.compile(r"(?<![eE0-9.])-0(\.0*)?(?![0-9.]*[1-9])")  # "-0%", "-0.00", not "1e-06"


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args):
    return subprocess.run([FM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120)


def test_bayes_cap():
    """1. -k 999 -n 1000 --target 1e-300: bayes is unreachable because of the 2^53 cap."""
    r = run("retries", "-k", "999", "-n", "1000", "--target", "1e-300")
    bayes = [l for l in r.stdout.splitlines() if l.strip().startswith("bayes ")]
    check(r.returncode == 0 and len(bayes) == 1, f"bayes row: {r.stdout!r}")
    row = bayes[0] if bayes else ""
    check("p = 100%" not in row and "every attempt fails" not in row, f"wrong reason: {row!r}")
    check("cap of 2^53" in row and "10^1912" in row, f"names the cap and the count: {row!r}")


def test_cap_not_retry():
    """2. --p 0.9999999999999999 --target 1e-300: the cap, not 'a retry always fails'."""
    r = run("retries", "--p", "0.9999999999999999", "--target", "1e-300")
    check(r.returncode == 0 and "retry after a failure always fails" not in r.stdout,
          f"wrong reason: {r.stdout!r}")
    check("cap of 2^53" in r.stdout and "6.2e+18" in r.stdout, f"the cap: {r.stdout!r}")
    check("100.0%" not in r.stdout, f"p < 1 printed as 100.0%: {r.stdout!r}")
    r = run("retries", "--p", "0.9999999999999999", "--after-failure", "1", "--target", "1e-300")
    check("retry after a failure always fails" in r.stdout, f"q = 1: {r.stdout!r}")


def test_subnormal():
    """3. Subnormal inputs are numbers; below the smallest subnormal: 'too small'."""
    r = run("retries", "--p", "0.1", "--target", "1e-320", "--json")
    check(r.returncode == 0, f"1e-320 rejected: {r.stderr!r}")
    if r.returncode == 0:
        o = json.loads(r.stdout)
        check(o["attempts"] == 321 and o["target"] == 1e-320, f"1e-320: {o}")
    r = run("retries", "--p", "0.1", "--target", "1e-320")
    check("inf" not in r.stdout and "10^320" in r.stdout, f"text: {r.stdout!r}")
    r = run("retries", "--p", "0.1", "--target", "1e-400")
    check(r.returncode == 2 and "too small" in r.stderr and "not a number" not in r.stderr,
          f"1e-400: {r.returncode} {r.stderr!r}")
    r = run("retries", "--p", "0.1", "--target", "1e400")
    check(r.returncode == 2 and "not a number" in r.stderr, f"1e400: {r.stderr!r}")


def test_ties_safe_side():
    """4. --p 0.1 --target 9.999999999995e-7 needs 7; 1e-6 (a decimal tie) stays 6."""
    o = json.loads(run("retries", "--p", "0.1", "--target", "9.999999999995e-7", "--json").stdout)
    check(o["attempts"] == 7, f"9.999999999995e-7: {o['attempts']}")
    r = run("retries", "--p", "0.1", "--target", "9.999999999995e-7")
    check("(9.999999999995e-07: once" in r.stdout, f"target printed exactly: {r.stdout!r}")
    o = json.loads(run("retries", "--p", "0.1", "--target", "1e-6", "--json").stdout)
    check(o["attempts"] == 6, f"1e-6: {o['attempts']}")


def test_docs_ten_of_ten():
    """5. 10 failures in 10 runs at 1e-6: about 1.03e13 (mpmath, 50 digits: 10253044720142)."""
    o = json.loads(run("retries", "-k", "10", "-n", "10", "--target", "1e-6", "--json").stdout)
    a = o["bayes"]["attempts"]
    check(a >= 10253044720142 and a <= 10253044720142 * (1 + 1e-11), f"bayes 10/10: {a}")
    check(f"{a:.3g}" == "1.03e+13", f"the docs' figure: {a:.3g}")
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "statistics.md")).read()
    check("1.03·10¹³ attempts for 10 failures in 10 runs" in doc, "docs/statistics.md sec. 2")


def ingest(db, tmp, flaky_runs, runs=20):
    d = os.path.join(tmp, "x")
    os.makedirs(d, exist_ok=True)
    for i in range(runs):
        a = ('<testcase classname="a" name="flaky" time="1"><flakyFailure message="x"/>'
             '</testcase>' if i in flaky_runs else '<testcase classname="a" name="flaky" time="1"/>')
        xml = ('<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="s" '
               f'timestamp="2024-01-{i + 1:02d}T00:00:00"><properties><property name="ci_run" '
               f'value="run-{i}"/></properties>{a}<testcase classname="b" name="ok" time="1"/>'
               '</testsuite></testsuites>\n')
        with open(os.path.join(d, f"run{i:02d}.xml"), "w") as f:
            f.write(xml)
    r = run("ingest", "--db", db, "--label", "ci", d)
    check(r.returncode == 0, f"ingest: {r.stderr!r}")


def test_no_negative_zero(tmp):
    """6. budget printed '-0%' (the point plan of a suite whose failures all passed on retry)."""
    db = os.path.join(tmp, "z.db")
    ingest(db, tmp, {3, 11})
    for args in (["--target", "0.5"], ["--target", "1e-6", "--max-attempts", "3"]):
        r = run("budget", "--db", db, *args)
        check(not NEG_ZERO.search(r.stdout), f"negative zero in budget {args}: {r.stdout!r}")
        r = run("budget", "--db", db, *args, "--json")
        check("-0.0" not in r.stdout, f"negative zero in budget --json {args}: {r.stdout!r}")
    r = run("interval", "--failures", "0", "--runs", "10")
    check(not NEG_ZERO.search(r.stdout), f"interval: {r.stdout!r}")


def test_infeasible_budget(tmp):
    """7. An infeasible conservative budget names the tests, the bound and what would fix it."""
    db = os.path.join(tmp, "i.db")
    ingest(db, tmp, {3, 11})
    args = ["budget", "--db", db, "--target", "1e-6", "--max-attempts", "3"]
    r = run(*args)
    check(r.returncode == 0 and "UNREACHABLE" in r.stdout, f"budget: {r.stdout!r}")
    check("infeasible because of a::flaky: q <= 84.2% from 2 observed retries (0 failed)"
          in r.stdout, f"names the test and its bound: {r.stdout!r}")
    check("more retries, all passing, would fit" in r.stdout, f"what would fix it: {r.stdout!r}")
    check("infeasible because of the 1 test never seen failing" in r.stdout, f"pool: {r.stdout!r}")
    o = json.loads(run(*args, "--json").stdout)
    why = o["conservative"].get("infeasible_because", [])
    check(len(why) == 2 and why[0]["test"] == "a::flaky" and why[0]["bound"] == "after_failure"
          and why[0]["observed"] == 2, f"JSON: {why}")
    more = why[0]["more_passing"] if why else None
    check(isinstance(more, int) and more > 0, f"more_passing: {more}")
    check("after_failure" in json.dumps(o["conservative"]), "key present")
    check("infeasible_because" not in json.loads(run("budget", "--db", db, "--target", "0.5",
                                                     "--json").stdout)["conservative"],
          "a feasible plan has no infeasible_because")
    for fmt in ("json", "toml", "micropython"):
        r = run(*args, "--format", fmt)
        check(r.returncode == 1 and r.stdout == "", f"--format {fmt}: exit {r.returncode}, "
              f"stdout {r.stdout!r}")
        check("no allowlist written" in r.stderr and "a::flaky" in r.stderr,
              f"--format {fmt} stderr: {r.stderr!r}")


def test_astronomic():
    """8. 'bayes 10253044720163' is printed as 'more than 10^6: fix the test'; JSON exact."""
    r = run("retries", "-k", "10", "-n", "10", "--target", "1e-6")
    row = [l for l in r.stdout.splitlines() if l.strip().startswith("bayes ")]
    check(row and "more than 10^6 attempts: fix the test" in row[0]
          and "10253044" not in r.stdout, f"astronomic: {r.stdout!r}")
    r = run("retries", "--p", "0.999999", "--target", "1e-6")
    check("more than 10^6 attempts" in r.stdout and "fix the test" in r.stdout,
          f"known p: {r.stdout!r}")
    o = json.loads(run("retries", "--p", "0.999999", "--target", "1e-6", "--json").stdout)
    check(o["attempts"] > 10**6, f"JSON keeps the count: {o['attempts']}")
    o = json.loads(run("retries", "--p", "0.9999", "--target", "1e-6", "--json").stdout)
    r = run("retries", "--p", "0.9999", "--target", "1e-6")
    check(f"allow {o['attempts']} attempts" in r.stdout and o["attempts"] <= 10**6,
          f"below the threshold the count is printed: {r.stdout!r}")


def main():
    test_bayes_cap()
    test_cap_not_retry()
    test_subnormal()
    test_ties_safe_side()
    test_docs_ten_of_ten()
    test_astronomic()
    with tempfile.TemporaryDirectory() as tmp:
        test_no_negative_zero(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        test_infeasible_budget(tmp)
    print(f"test_small_defects: {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
