#!/usr/bin/env python3
"""`flakemeter ingest` of every report format it recognises, and `budget --format` read back
by the runners themselves (issue 15).

Usage: test_formats_cli.py FLAKEMETER REPORT_FIXTURES_DIR

1. Each fixture of tests/history/report_fixtures/ (made by the real tools where they run here,
   see its README.md) is ingested into a fresh store; `tests --json` must give, per test, the
   runs, failures and passes-on-retry written below by reading the fixture by hand, and
   `ingest --json` the format the content was recognised as.
2. A MicroPython results directory is found through its _results.json; a directory with no
   report file and a file of no known format are exit 1 with one line naming the input.
3. flakemeter's own `export --format junit` comes back as ONE test with one run per exported run.
4. `budget --format` on a seeded history: nextest's TOML parses (tomllib) with the documented
   fields; the pytest conftest is loaded by pytest with pytest-rerunfailures and makes the
   seeded flaky test pass after RERUN lines; the CTest snippet is processed by cmake and the
   ctest calls it lists make a seeded flaky test pass; Bazel lines match the documented "regex@N" form; the MicroPython
   dicts are Python literals; Wine lines are "/* ... */ LOOP_ON_FLAKY_TESTS(n)".  A runner not
   installed is reported as not judged (the rest still runs).
"""
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

FM, FIX = sys.argv[1], sys.argv[2]
SYS_PY = "/usr/bin/python3"
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def run(*args, expect=None, cwd=None):
    p = subprocess.run([FM, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    if expect is not None:
        check(p.returncode == expect, f"{args}: exit {p.returncode}, expected {expect}: {p.stderr}")
    return p


# fixture -> (format, {test: (runs, failures, passed_on_retry)})
EXPECTED = {
    "tap_testmore.tap": ("tap", {
        "stable": (1, 0, 0), "broken": (1, 1, 0), "group": (1, 0, 0),
        "group/inner a": (1, 0, 0), "group/inner b": (1, 0, 0),
        "equal # with hash": (1, 0, 0)}),  # skip and TODO are not runs
    "tap_prove_v.log": ("tap", {
        "t/basic.t::stable": (1, 0, 0), "t/basic.t::broken": (1, 1, 0),
        "t/basic.t::group": (1, 0, 0), "t/basic.t::group/inner a": (1, 0, 0),
        "t/basic.t::group/inner b": (1, 0, 0), "t/basic.t::equal # with hash": (1, 0, 0),
        "t/other.t::one": (1, 0, 0), "t/other.t::two": (1, 0, 0)}),
    "tap_node.tap": ("tap", {
        "stable": (1, 0, 0), "broken": (1, 1, 0), "group": (1, 1, 0),
        "group/inner a": (1, 0, 0), "group/inner b": (1, 1, 0)}),
    # -count=3: one CI run, three attempts each; TestFlakyEveryThird failed its 1st of 3
    # (then passed: passed on retry), TestParent/bad its 1st and 3rd (the run ends failed)
    "gotest_count3.jsonl": ("go-test-json", {
        "example.com/demo::TestStable": (1, 0, 0),
        "example.com/demo::TestFlakyEveryThird": (1, 1, 1),
        "example.com/demo::TestParent": (1, 1, 0),
        "example.com/demo::TestParent/ok": (1, 0, 0),
        "example.com/demo::TestParent/bad": (1, 1, 0)}),
    "ctest_repeat.log": ("ctest", {
        "stable": (1, 0, 0), "flaky_once": (1, 1, 1), "always_fails": (1, 1, 0)}),
    "LastTest_repeat.log": ("ctest-lasttest-log", {
        "stable": (1, 0, 0), "flaky_once": (1, 1, 1), "always_fails": (1, 1, 0),
        "skipper": (1, 0, 0)}),
    "pytest_rerun_v.log": ("pytest-log", {
        "tests/test_demo.py::test_stable": (1, 0, 0),
        "tests/test_demo.py::test_flaky_once": (1, 1, 1),
        "tests/test_demo.py::test_always_fails": (1, 1, 0),
        "tests/test_demo.py::TestGroup::test_param[1]": (1, 0, 0),
        "tests/test_demo.py::TestGroup::test_param[2]": (1, 0, 0)}),
    # the same session's JUnit: the rerun is not in it (what the log adds)
    "pytest_rerun.xml": ("junit", {
        "tests.test_demo::test_stable": (1, 0, 0),
        "tests.test_demo::test_flaky_once": (1, 0, 0),
        "tests.test_demo::test_always_fails": (1, 1, 0),
        "tests.test_demo.TestGroup::test_param[1]": (1, 0, 0),
        "tests.test_demo.TestGroup::test_param[2]": (1, 0, 0)}),
    "mpy_console.log": ("micropython-log", {
        "basics/int1.py": (1, 0, 0), "basics/list1.py": (1, 0, 0),
        "thread/stress_recurse.py": (1, 1, 0), "thread/thread_gc1.py": (1, 0, 0),
        "thread/stress_schedule.py": (1, 1, 0), "basics/unittest_example.py": (1, 0, 0)}),
    "wine_make_test.log": ("wine", {"file": (1, 1, 0), "sync": (1, 0, 0), "time": (1, 0, 0)}),
    "wine_winetest.log": ("wine", {
        "kernel32:file": (1, 1, 0), "kernel32:sync": (1, 0, 0), "user32:msg": (1, 1, 0)}),
}
MPY_RESULTS = {"basics/int1.py": (1, 0, 0), "basics/list1.py": (1, 0, 0),
               "thread/stress_recurse.py": (1, 1, 0),  # "ignored": a failure all the same
               "thread/stress_schedule.py": (1, 1, 0), "thread/thread_gc1.py": (1, 0, 0)}


def tests_of(db):
    out = run("tests", "--db", db, "--json", expect=0).stdout
    return {t["test"]: (t["runs"], t["failures"], t["passed_on_retry"]) for t in json.loads(out)}


def test_fixtures(tmp):
    for name, (fmt, want) in EXPECTED.items():
        db = os.path.join(tmp, name + ".db")
        p = run("ingest", "--db", db, "--json", os.path.join(FIX, name), expect=0)
        files = json.loads(p.stdout)["files"] if p.returncode == 0 else [{}]
        check(files[0].get("format") == fmt, f"{name}: recognised as {files[0].get('format')}")
        got = tests_of(db) if p.returncode == 0 else {}
        check(got == want, f"{name}: tests --json\n  got  {got}\n  want {want}")
    # the winetest timeout (status 258) is a timeout
    db = os.path.join(tmp, "wine_winetest.log.db")
    msg = [t for t in json.loads(run("tests", "--db", db, "--json").stdout) if t["test"] == "user32:msg"]
    check(msg and msg[0]["timeouts"] == 1, "wine: done (258) is a timeout")


def test_directories(tmp):
    db = os.path.join(tmp, "mpy.db")
    p = run("ingest", "--db", db, "--json", os.path.join(FIX, "mpy_results"), expect=0)
    files = json.loads(p.stdout)["files"] if p.returncode == 0 else []
    check([f["format"] for f in files] == ["micropython-results"], f"results dir: {files}")
    check(tests_of(db) == MPY_RESULTS, f"_results.json: {tests_of(db)}")
    empty = os.path.join(tmp, "empty")
    os.makedirs(os.path.join(empty, "sub"))
    open(os.path.join(empty, "notes.txt"), "w").write("nothing\n")
    p = run("ingest", "--db", db, empty, expect=1)
    check(p.stderr.count("\n") == 1 and empty in p.stderr, f"empty dir: one line: {p.stderr!r}")
    junk = os.path.join(tmp, "junk.log")
    open(junk, "w").write("compiling...\nall done\n")
    p = run("ingest", "--db", db, junk, expect=1)
    check("not a test report" in p.stderr and junk in p.stderr, f"junk file: {p.stderr!r}")


def test_export_roundtrip(tmp):
    db = os.path.join(tmp, "ex.db")
    p = run("ingest", "--db", db, os.path.join(FIX, "flakemeter_export.xml"), expect=0)
    got = tests_of(db)
    # the fixture: campaign "mycamp", 20 runs, each 3 failed attempts (retries 2)
    check(got == {"mycamp": (20, 20, 0)}, f"export round trip: {got}")
    # a fresh export of a real campaign: one test, as many runs as the campaign has
    src = os.path.join(tmp, "camp.db")
    run("run", "--db", src, "-n", "12", "-j", "2", "--retries", "1", "--label", "coin", "--",
        "sh", "-c", "test $(( $(date +%N) % 2 )) -eq 0", expect=None)
    xml = os.path.join(tmp, "camp.xml")
    run("export", "--db", src, "--format", "junit", "-o", xml, expect=0)
    db2 = os.path.join(tmp, "ex2.db")
    run("ingest", "--db", db2, xml, expect=0)
    got = tests_of(db2)
    check(list(got) == ["coin"] and got["coin"][0] == 12, f"fresh export round trip: {got}")


def seeded_history(tmp):
    """30 CI runs of pytest-style JUnit: a flaky test (30%), a rarer one (10%), 10 stable."""
    rng = random.Random(20261126)
    d = os.path.join(tmp, "hist")
    os.makedirs(d)
    for i in range(30):
        cases = []
        for cls, name, p in (("tests.test_demo", "test_flaky", 0.3),
                             ("tests.test_demo.TestGroup", "test_rare[1]", 0.1)):
            fail = rng.random() < p
            cases.append(f'<testcase classname="{cls}" name="{name}" time="0.5">'
                         + ('<failure message="x"/>' if fail else "") + "</testcase>")
        cases += [f'<testcase classname="tests.test_other" name="test_{j}" time="0.1"/>'
                  for j in range(10)]
        with open(os.path.join(d, f"run{i:02d}.xml"), "w") as f:
            f.write(f'<testsuite name="pytest" timestamp="2026-01-{i + 1:02d}T10:00:00">'
                    + "".join(cases) + "</testsuite>")
    db = os.path.join(tmp, "hist.db")
    run("ingest", "--db", db, d, expect=0)
    return db


def budget(db, fmt):
    return run("budget", "--db", db, "--target", "0.01", "--format", fmt, expect=0).stdout


def test_budget_formats(tmp):
    db = seeded_history(tmp)
    plan = json.loads(run("budget", "--db", db, "--target", "0.01", "--json", expect=0).stdout)
    listed = {t["test"]: t["attempts"] for t in plan["tests"]}
    others = plan["other_tests"]["attempts"]
    red = re.compile(r"red rate per CI run this configuration achieves: ([0-9.e+-]+)%")

    # nextest: TOML with [profile.default] retries and [[profile.default.overrides]]
    text = budget(db, "nextest")
    check(red.search(text) is not None, "nextest: the achieved red rate")
    try:
        import tomllib
        doc = tomllib.loads(text)
        prof = doc["profile"]["default"]
        check(prof["retries"] == others - 1, "nextest: default retries")
        ov = {o["filter"]: o["retries"] for o in prof.get("overrides", [])}
        for test, a in listed.items():
            if a != others:
                f = next((k for k in ov if f"test(={test})" in k), None)
                check(f is not None and ov[f] == a - 1, f"nextest: override of {test}")
        check(all(set(o) == {"filter", "retries"} for o in prof.get("overrides", [])),
              "nextest: only documented override fields")
    except ImportError:
        print("nextest: not judged (no tomllib)")

    # pytest: the conftest, loaded by pytest with pytest-rerunfailures
    text = budget(db, "pytest")
    has_pytest = subprocess.run([SYS_PY, "-c", "import pytest, pytest_rerunfailures"],
                                capture_output=True).returncode == 0
    if not has_pytest:
        print("pytest: not judged (python3-pytest-rerunfailures not installed)")
    else:
        proj = os.path.join(tmp, "pyproj")
        os.makedirs(os.path.join(proj, "tests"))
        open(os.path.join(proj, "conftest.py"), "w").write(text)
        # fails its first two attempts in every session, then passes: only reruns save it
        open(os.path.join(proj, "tests", "test_demo.py"), "w").write(
            "import os\nN = os.path.join(os.path.dirname(__file__), '.n')\n"
            "def test_flaky():\n"
            "    n = int(open(N).read()) if os.path.exists(N) else 0\n"
            "    open(N, 'w').write(str(n + 1))\n"
            "    assert n >= 2\n"
            "class TestGroup:\n"
            "    def test_rare(self):\n        pass\n")
        p = subprocess.run([SYS_PY, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests"],
                           cwd=proj, capture_output=True, text=True, timeout=120)
        check(p.returncode == 0 and "test_flaky RERUN" in p.stdout
              and "test_flaky PASSED" in p.stdout, f"pytest with the conftest:\n{p.stdout}")

    # CTest: cmake processes the snippet, and the ctest calls it lists re-run each listed test
    # until it passes: every listed test fails its first attempts-1 runs, then passes
    text = budget(db, "ctest")
    if shutil.which("cmake") is None or shutil.which("ctest") is None:
        print("ctest: not judged (cmake not installed)")
    else:
        proj = os.path.join(tmp, "cmproj")
        os.makedirs(proj)
        adds = ""
        want = {t: a for t, a in listed.items() if a != others}
        for i, t in enumerate(listed):
            need = want.get(t, 1) - 1
            adds += (f"add_test(NAME [=[{t}]=] COMMAND sh -c \"f=${{CMAKE_BINARY_DIR}}/n{i}; "
                     f"n=$(cat $f 2>/dev/null || echo 0); echo $((n+1)) > $f; test $n -ge {need}\")\n")
        open(os.path.join(proj, "CMakeLists.txt"), "w").write(
            "cmake_minimum_required(VERSION 3.17)\nproject(d NONE)\nenable_testing()\n" + adds
            + "include(flakemeter.cmake)\n")
        open(os.path.join(proj, "flakemeter.cmake"), "w").write(text)
        b = os.path.join(proj, "build")
        p = subprocess.run(["cmake", "-S", proj, "-B", b], capture_output=True, text=True)
        check(p.returncode == 0, f"cmake on the snippet: {p.stderr}")
        calls = [l[4:].strip() for l in text.splitlines() if l.startswith("#   ctest ")]
        check(len(calls) >= 2, f"ctest calls listed: {calls}")
        out = ""
        for c in calls:
            p = subprocess.run(c, shell=True, cwd=b, capture_output=True, text=True, timeout=120)
            check(p.returncode == 0, f"{c}:\n{p.stdout}")
            out += p.stdout
        # without the labels' calls the flaky test fails: the snippet is what makes it pass
        for i in range(len(listed)):
            if os.path.exists(os.path.join(b, f"n{i}")):
                os.unlink(os.path.join(b, f"n{i}"))
        p = subprocess.run(["ctest"], cwd=b, capture_output=True, text=True, timeout=120)
        check(p.returncode != 0, "plain ctest fails the seeded test")
        # and flakemeter reads those console outputs back with the retries
        log = os.path.join(tmp, "ctest.log")
        open(log, "w").write(out)
        cdb = os.path.join(tmp, "ctest.db")
        run("ingest", "--db", cdb, log, expect=0)
        got = {t: r[2] for t, r in tests_of(cdb).items()}
        check(got == {t: int(t in want and want[t] > 1) for t in listed},
              f"ctest console read back: {got}")

    # Bazel: "test --flaky_test_attempts=N" then "regex@N" lines
    text = budget(db, "bazel")
    lines = [l for l in text.splitlines() if not l.startswith("#")]
    check(lines and re.fullmatch(r"test --flaky_test_attempts=\d+", lines[0]), "bazel default")
    for l in lines[1:]:
        m = re.fullmatch(r"test --flaky_test_attempts=(\^.*\$)@(\d+)", l)
        check(m is not None, f"bazel line form: {l}")
        if m:
            rx = re.compile(m.group(1).replace("\\x2c", ","))
            hit = [t for t in listed if rx.fullmatch(t)]
            check(len(hit) == 1 and listed[hit[0]] == int(m.group(2)), f"bazel regex: {l}")

    # MicroPython: two dict literals of path -> (reason, platforms), and one count
    text = budget(db, "micropython")
    mod = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(text).body}
    flaky = {t for t, a in listed.items() if a > 1}
    check(set(mod["flaky_tests"]) == flaky and set(mod["flaky_tests_to_ignore"]) == flaky,
          "micropython: the listed tests")
    check(all(isinstance(r, str) and p is None for r, p in mod["flaky_tests"].values()),
          "micropython: (reason, platforms)")
    check(isinstance(mod["FLAKY_TEST_ATTEMPTS"], int), "micropython: one count")
    check("What ignoring costs" in text, "micropython: the cost of ignoring")

    # Wine: one macro per test file
    text = budget(db, "wine")
    macros = [l for l in text.splitlines() if not l.startswith("//")]
    check(len(macros) == len(flaky) and all(
        re.fullmatch(r"/\* .* \*/ LOOP_ON_FLAKY_TESTS\(\d+\)", l) for l in macros),
        f"wine lines: {macros}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_fixtures(tmp)
        test_directories(tmp)
        test_export_roundtrip(tmp)
        test_budget_formats(tmp)
    print(f"test_formats_cli: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
