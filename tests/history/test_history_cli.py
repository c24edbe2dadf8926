#!/usr/bin/env python3
"""End-to-end tests of `flakemeter budget` and `flakemeter check` on generated JUnit XML.

Usage: test_history_cli.py FLAKEMETER

A seeded history (random.Random(20261122)) of 120 CI runs, one pytest-style JUnit file each,
one day apart: two stable tests, a test that times out 30% of the time, a crashy test retried
surefire-style (flakyFailure / rerunFailure), and a test whose rate jumps from 1% to 40% after
run 80.  The checks recompute from the generated outcomes, independently of the C code:
observed red rate, the point model's current red rate, and the point plan's least expected
added seconds by brute force over every combination of attempt counts; the allowlist formats
parse (json, toml with tomllib, micropython as a Python literal) and agree with --json; check
flags exactly the jumping test (exit 1) by runs and by date, passes a stable suite (exit 0),
and bad input exits 2 with one line.  Standard library only.
"""
import ast
import datetime
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile

FM = sys.argv[1]
failures = 0
RUNS = 120
SPLIT = 80


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def run(*args, expect=None):
    p = subprocess.run([FM, *args], capture_output=True, text=True)
    if expect is not None:
        check(p.returncode == expect,
              f"{' '.join(args)}: exit {p.returncode}, want {expect}; stderr {p.stderr!r}")
    return p


TESTS = {  # name: (pass seconds, fail seconds, timeout?)
    "t.core::test_stable_a": (1.0, 1.0, False),
    "t.core::test_stable_b": (2.0, 2.0, False),
    "t.thread::test_stress_aes": (30.0, 60.0, True),
    "t.thread::test_crashy": (0.5, 0.6, False),
    "t.net::test_regress": (3.0, 3.5, False),
}


def rate(name, i):
    return {"t.core::test_stable_a": 0.0, "t.core::test_stable_b": 0.0,
            "t.thread::test_stress_aes": 0.3, "t.thread::test_crashy": 0.08,
            "t.net::test_regress": 0.01 if i < SPLIT else 0.4}[name]


def generate(dirname, rng, stable_only=False):
    """Write the files; return per-test outcome lists [(first_failed, attempts, last_failed)]."""
    hist = {t: [] for t in TESTS}
    for i in range(RUNS):
        ts = 1704067200 + i * 86400  # 2024-01-01 plus i days, UTC
        day = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        cases = []
        for t, (ps, fs, timeout) in TESTS.items():
            p = 0.0 if stable_only else rate(t, i)
            cls, name = t.split("::")
            first = rng.random() < p
            if not first:
                cases.append(f'<testcase classname="{cls}" name="{name}" time="{ps}"/>')
                hist[t].append((False, 1, False))
            elif t == "t.thread::test_crashy":
                # retried: each retry fails again with 0.3 (correlated), up to 2 retries
                retries = []
                while len(retries) < 2:
                    again = rng.random() < 0.3
                    retries.append(again)
                    if not again:
                        break
                if not retries[-1]:  # passed on a retry: one flakyFailure per failed attempt
                    cases.append(f'<testcase classname="{cls}" name="{name}" time="{fs}">'
                                 + '<flakyFailure message="crash"/>' * len(retries)
                                 + "</testcase>")
                    hist[t].append((True, 1 + len(retries), False))
                else:
                    cases.append(f'<testcase classname="{cls}" name="{name}" time="{fs}">'
                                 '<failure message="crash"/>'
                                 + '<rerunFailure message="crash"/>' * len(retries)
                                 + "</testcase>")
                    hist[t].append((True, 1 + len(retries), True))
            else:
                msg = "Failed: Timeout >60s" if timeout else "assert False"
                cases.append(f'<testcase classname="{cls}" name="{name}" time="{fs}">'
                             f'<failure message="{msg}"/></testcase>')
                hist[t].append((True, 1, True))
        xml = ('<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="s" '
               f'timestamp="{day}"><properties><property name="ci_run" value="run-{i}"/>'
               '</properties>' + "".join(cases) + "</testsuite></testsuites>\n")
        with open(os.path.join(dirname, f"run{i:03d}.xml"), "w") as f:
            f.write(xml)
    return hist


def extra(p, q, a, ps, fs):
    return sum(p * q ** (j - 2) for j in range(2, a + 1)) * (q * fs + (1 - q) * ps)


def point_model(hist):
    """Per failing test: p, q, pass and fail mean durations, from the generated outcomes."""
    out = {}
    for t, runs in hist.items():
        n = len(runs)
        k = sum(r[0] for r in runs)
        nq = sum(r[1] - 1 for r in runs if r[0])
        kq = sum((r[1] - 1) if r[2] else (r[1] - 2) for r in runs if r[0] and r[1] > 1)
        if k == 0 and kq == 0:
            continue
        ps, fs, _ = TESTS[t]
        p = k / n
        q = kq / nq if nq else p
        out[t] = (p, q, ps if k < n else fs, fs)
    return out


def brute_force(model, target, cap):
    names = sorted(model)
    best = None
    for plan in itertools.product(range(1, cap + 1), repeat=len(names)):
        keep, cost = 1.0, 0.0
        for t, a in zip(names, plan):
            p, q, ps, fs = model[t]
            keep *= 1 - p * q ** (a - 1)
            cost += extra(p, q, a, ps, fs)
        if 1 - keep <= target and (best is None or cost < best[0]):
            best = (cost, dict(zip(names, plan)))
    return best


def test_budget(db, hist):
    target = 0.01
    p = run("budget", "--db", db, "--target", str(target), "--json", "--max-attempts", "12",
            expect=0)
    o = json.loads(p.stdout)
    for key in ("target", "predicted_red_rate", "current_red_rate", "observed_red_rate", "tests"):
        check(key in o, f"budget --json has no '{key}'")
    for t in o["tests"]:
        for key in ("test", "estimate", "upper", "attempts", "expected_extra_seconds"):
            check(key in t, f"budget test entry has no '{key}'")
    red = sum(any(hist[t][i][2] for t in hist) for i in range(RUNS))
    check(o["ci_runs"] == RUNS and o["red_runs"] == red,
          f"observed {o['red_runs']}/{o['ci_runs']}, generated {red}/{RUNS}")
    check(o["feasible"] and o["predicted_red_rate"] <= target * (1 + 1e-12),
          f"conservative plan: feasible {o['feasible']}, red {o['predicted_red_rate']}")
    model = point_model(hist)
    keep = math.prod(1 - m[0] for m in model.values())
    check(abs(o["point"]["current_red_rate"] - (1 - keep)) < 1e-12,
          f"point current red rate {o['point']['current_red_rate']}, recomputed {1 - keep}")
    check(set(t["test"] for t in o["tests"]) == set(model),
          f"tests seen failing: {[t['test'] for t in o['tests']]} vs {sorted(model)}")
    best = brute_force(model, target, 12)
    check(best is not None and abs(o["point"]["expected_extra_seconds"] - best[0]) <= 1e-9 * best[0],
          f"point plan costs {o['point']['expected_extra_seconds']}, brute force {best}")
    for t in o["tests"]:
        check(t["attempts_point"] == best[1][t["test"]],
              f"{t['test']}: point attempts {t['attempts_point']}, brute force {best[1][t['test']]}")
        check(t["attempts"] == t["attempts_conservative"] >= t["attempts_point"],
              f"{t['test']}: conservative {t['attempts_conservative']} < point {t['attempts_point']}")
    aes = next(t for t in o["tests"] if t["test"] == "t.thread::test_stress_aes")
    check(aes["timeouts"] == aes["failures"] > 0, f"stress_aes timeouts {aes['timeouts']}")
    # --timeout makes a timeout cost the full timeout
    p2 = run("budget", "--db", db, "--target", str(target), "--json", "--max-attempts", "12",
             "--timeout", "600", expect=0)
    aes2 = next(t for t in json.loads(p2.stdout)["tests"] if t["test"] == "t.thread::test_stress_aes")
    check(aes2["fail_seconds"] == 600, f"--timeout 600: fail_seconds {aes2['fail_seconds']}")
    crashy = next(t for t in o["tests"] if t["test"] == "t.thread::test_crashy")
    check(crashy["retries"] > 0 and crashy["after_failure"] is not None, "crashy: retry chains seen")

    allow = {t["test"]: t["attempts"] for t in o["tests"] if t["attempts"] > 1}
    pj = run("budget", "--db", db, "--target", str(target), "--format", "json",
             "--max-attempts", "12", expect=0)
    check({e["test"]: e["attempts"] for e in json.loads(pj.stdout)["allowlist"]} == allow,
          "allowlist json differs from --json")
    pm = run("budget", "--db", db, "--target", str(target), "--format", "micropython",
             "--max-attempts", "12", expect=0)
    # the run-tests.py shapes: path -> (reason, platforms), the plan's attempts in a comment
    mod = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(pm.stdout).body}
    check(set(mod["flaky_tests"]) == set(allow) and set(mod["flaky_tests_to_ignore"]) == set(allow),
          f"micropython allowlists: {pm.stdout}")
    planned = {}
    for line in pm.stdout.splitlines():
        if "# the plan: " in line:
            key = re.match(r'\s*("(?:[^"\\]|\\.)*"):', line).group(1)
            planned[ast.literal_eval(key)] = int(line.split("# the plan: ")[1].split()[0])
    check(planned == allow, "micropython: the plan's attempts per test")
    try:
        import tomllib
        pt = run("budget", "--db", db, "--target", str(target), "--format", "toml",
                 "--max-attempts", "12", expect=0)
        doc = tomllib.loads(pt.stdout)
        check({e["test"]: e["attempts"] for e in doc["flaky"]} == allow, "toml allowlist")
        check(all("reason" in e and "rate" in e for e in doc["flaky"]), "toml: reason and rate")
    except ImportError:
        pass
    text = run("budget", "--db", db, "--target", str(target), expect=0).stdout
    check("observed red rate" in text and "t.thread::test_stress_aes" in text, "budget table")


def test_check(db, stable_db):
    p = run("check", "--db", db, "--baseline", str(SPLIT), "--json", expect=1)
    o = json.loads(p.stdout)
    rose = [t["test"] for t in o["tests"] if t["regressed"]]
    check(rose == ["t.net::test_regress"], f"check --baseline {SPLIT}: flagged {rose}")
    reg = o["tests"][0]
    check(reg["baseline"]["runs"] == SPLIT and reg["recent"]["runs"] == RUNS - SPLIT,
          f"split {reg['baseline']['runs']} + {reg['recent']['runs']}")
    check(reg["recent"]["lower"] > reg["baseline"]["estimate"], "recent CI above the baseline rate")
    date = "2024-03-21"  # 1704067200 + 80 days = 2024-03-21: run 80 is the first recent one
    pd = run("check", "--db", db, "--baseline", date, "--json", expect=1)
    od = json.loads(pd.stdout)
    check([t["test"] for t in od["tests"] if t["regressed"]] == ["t.net::test_regress"]
          and od["tests"][0]["recent"]["runs"] == RUNS - SPLIT, "check by date")
    run("check", "--db", db, "--baseline", "2024-03-21T00:00:00+02:00", expect=1)
    text = run("check", "--db", db, "--baseline", str(SPLIT), expect=1).stdout
    check("ROSE" in text and "t.net::test_regress" in text, "check table")
    run("check", "--db", stable_db, "--baseline", str(SPLIT), expect=0)


def test_campaign(db, hist):
    """--campaign: a `flakemeter run` campaign joins the suite as a test with its own counts,
    and replaces a CI test of the same name (not pooled with it)."""
    name = next(iter(hist))
    run("run", "--db", db, "-n", "400", "--quiet", "--label", name, "bernoulli", "p=0.3",
        expect=0)
    run("run", "--db", db, "-n", "200", "--quiet", "--label", "live::new_test", "bernoulli",
        "p=0.05", expect=0)
    shown = {}
    for label in (name, "live::new_test"):
        v = json.loads(run("show", "--db", db, "--json", label, expect=0).stdout)
        shown[label] = v
    o = json.loads(run("budget", "--db", db, "--target", "0.01", "--json", "--campaign", name,
                       "--campaign", "live::new_test", expect=0).stdout)
    tests = {t["test"]: t for t in o["tests"]}
    for label, v in shown.items():
        t = tests.get(label)
        check(t is not None, f"--campaign {label} is a test of the plan")
        if t is None:
            continue
        k, n = v["failed"] + v["crashed"] + v["timed_out"], v["runs"]
        check(abs(t["estimate"] - k / n) < 1e-12, f"{label}: estimate {t['estimate']} vs {k}/{n}")
        check(t["attempts"] >= 1, f"{label}: attempts {t['attempts']}")
    check(sum(1 for t in o["tests"] if t["test"] == name) == 1,
          "the CI test of the same name is replaced, not listed twice")
    p = run("budget", "--db", db, "--target", "0.01", "--campaign", "no such campaign")
    check(p.returncode == 2 and "no campaign 'no such campaign'" in p.stderr,
          f"unknown campaign: {p.returncode} {p.stderr!r}")


def test_bad_input(db):
    for args in (["budget", "--db", db],
                 ["budget", "--db", db, "--target", "2"],
                 ["budget", "--db", db, "--target", "0.01", "--format", "xml"],
                 ["budget", "--db", db, "--target", "0.01", "--json", "--format", "toml"],
                 ["budget", "--db", db, "--target", "0.01", "--label", "nosuch"],
                 ["budget", "--db", db + ".missing", "--target", "0.01"],
                 ["check", "--db", db],
                 ["check", "--db", db, "--baseline", "2024-02-30"],
                 ["check", "--db", db, "--baseline", "yesterday"],
                 ["check", "--db", db, "--baseline", "0"],
                 ["check", "--db", db, "--baseline", "10", "--alpha", "1"]):
        p = run(*args, expect=2)
        check(p.stdout == "" and p.stderr.count("\n") == 1,
              f"{' '.join(args)}: stdout {p.stdout!r}, stderr {p.stderr!r}")


def main():
    with tempfile.TemporaryDirectory() as d:
        rng = random.Random(20261122)
        xml, xml2 = os.path.join(d, "xml"), os.path.join(d, "xml2")
        os.mkdir(xml)
        os.mkdir(xml2)
        hist = generate(xml, rng)
        generate(xml2, rng, stable_only=True)
        db, db2 = os.path.join(d, "h.db"), os.path.join(d, "s.db")
        run("ingest", "--db", db, "--label", "ci", xml, expect=0)
        run("ingest", "--db", db2, "--label", "stable", xml2, expect=0)
        test_budget(db, hist)
        test_check(db, db2)
        test_bad_input(db)
        test_campaign(db, hist)
    print(f"test_history_cli: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
