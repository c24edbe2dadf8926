#!/usr/bin/env python3
"""`flakemeter stress` on small real projects of each runner available here (issue 15).

usage: test_stress.py FLAKEMETER FM_STRESS

Each project has a stable test and seeded flaky ones: a flaky test draws from FLAKEMETER_SEED,
FLAKEMETER_RUN and FLAKEMETER_ATTEMPT (the identity flakemeter gives every attempt), so the
whole test is deterministic, and it appends what it drew to a log of the project's own.  From
that log alone the test computes each test's failures and runs, independently of flakemeter,
and they must equal flakemeter's counts (so they lie in its intervals), in `stress --json` and
in `tests --json` of the CI history it wrote.  Projects: pytest (Debian python3-pytest), CTest
(cmake), GoogleTest (libgtest-dev), Go (golang-go) and cargo where installed, and the generic
adapter; each missing runner is reported and skipped, the test exits 77 only if none ran.
Then adaptive allocation on built-in Bernoulli workloads through the generic adapter: every
test decided, at the attempt count A(p) its p gives (or A(p)+1, "indifferent"), with fewer
runs than the uniform allocation to the same decisions.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

FLAKEMETER, FM_STRESS = (os.path.abspath(p) for p in sys.argv[1:3])
SYS_PY = "/usr/bin/python3"
failures = ran = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print(f"FAIL: {what}")
    return ok


def fm(*args, cwd=None):
    return subprocess.run([FLAKEMETER, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def log_counts(path):
    """name -> [runs, failures] from the project's own log: lines 'NAME FAILED(0/1)'."""
    out = {}
    for line in open(path):
        name, failed = line.split()
        c = out.setdefault(name, [0, 0])
        c[0] += 1
        c[1] += int(failed)
    return out


def stress_and_compare(what, cwd, args, expect):
    """Run stress; expect maps flakemeter id -> log name.  Compare counts both ways."""
    global ran
    r = fm("stress", "--db", "s.db", "--label", what, "--seed", "5", "-j", "2", "--json", *args,
           cwd=cwd)
    if not check(r.returncode == 0, f"{what}: stress exit {r.returncode}: {r.stderr.strip()}"):
        return
    ran += 1
    out = json.loads(r.stdout)
    got = {t["id"]: t for t in out["tests"]}
    check(sorted(got) == sorted(expect), f"{what}: ids {sorted(got)} != {sorted(expect)}")
    logged = log_counts(os.path.join(cwd, "outcomes.log"))
    hist = fm("tests", "--db", "s.db", "--label", what, "--json", cwd=cwd)
    check(hist.returncode == 0, f"{what}: tests: {hist.stderr.strip()}")
    hist = {t["test"] if "test" in t else t["name"]: t for t in json.loads(hist.stdout or "[]")}
    for fid, name in expect.items():
        t = got.get(fid)
        if t is None:
            continue
        runs, fails = logged.get(name, [0, 0])
        check((t["runs"], t["failures"]) == (runs, fails),
              f"{what}: {fid}: flakemeter {t['runs']} runs {t['failures']} failed, "
              f"the project's log {runs} runs {fails} failed")
        check(t["runs"] == 0 or t["lower"] <= fails / runs <= t["upper"],
              f"{what}: {fid}: {fails}/{runs} outside [{t['lower']}, {t['upper']}]")
        h = hist.get(fid)
        if check(h is not None, f"{what}: {fid} not in the CI history ({sorted(hist)})"):
            hr = (h.get("runs"), h.get("failures", h.get("fail")))
            check(hr == (runs, fails), f"{what}: {fid}: history {hr}, log {(runs, fails)}")
    print(f"{what}: {len(got)} tests, counts equal to the project's own log: "
          + ", ".join(f"{k} {v['failures']}/{v['runs']}" for k, v in sorted(got.items())))


# The flaky draw every project's tests make: (run * 7919 + attempt * 104729 + salt) mod 100 <
# percent, from the attempt identity; the log line is "NAME FAILED".
def pytest_project(tmp):
    if subprocess.run([SYS_PY, "-c", "import pytest"], capture_output=True).returncode != 0:
        print("pytest: skipped (Debian python3-pytest is not installed)")
        return
    os.makedirs(os.path.join(tmp, "tests"))
    with open(os.path.join(tmp, "tests", "test_demo.py"), "w") as f:
        f.write('''import os, pytest

def draw(name, salt, percent):
    run, att = int(os.environ["FLAKEMETER_RUN"]), int(os.environ["FLAKEMETER_ATTEMPT"])
    failed = (run * 7919 + att * 104729 + salt) % 100 < percent
    with open(os.path.join(os.path.dirname(__file__), "..", "outcomes.log"), "a") as f:
        f.write(f"{name} {int(failed)}\\n")
    return failed

def test_stable():
    assert not draw("stable", 0, 0)

def test_flaky():
    assert not draw("flaky", 3, 30)

@pytest.mark.parametrize("k", [1, 2])
def test_param(k):
    assert not draw(f"param{k}", 11 * k, 10 * k)
''')
    stress_and_compare("pytest", tmp, ["--adapter", "pytest", "-n", "12", "--", SYS_PY, "-m",
                                       "pytest", "tests"],
                       {"tests/test_demo.py::test_stable": "stable",
                        "tests/test_demo.py::test_flaky": "flaky",
                        "tests/test_demo.py::test_param[1]": "param1",
                        "tests/test_demo.py::test_param[2]": "param2"})
    # The budget from stress's history, written as pytest's own configuration, is accepted and
    # acted on by pytest-rerunfailures: at a run where only test_flaky fails, it is rerun.
    if subprocess.run([SYS_PY, "-c", "import pytest_rerunfailures"],
                      capture_output=True).returncode != 0:
        print("pytest budget: skipped (Debian python3-pytest-rerunfailures is not installed)")
        return
    r = fm("budget", "--db", "s.db", "--label", "pytest", "--target", "1e-3", "--point", "--format",
           "pytest", cwd=tmp)
    if not check(r.returncode == 0 and "flaky" in r.stdout,
                 f"pytest: budget --format pytest: {r.returncode} {r.stderr.strip()}"):
        return
    with open(os.path.join(tmp, "conftest.py"), "w") as f:
        f.write(r.stdout)
    fails = lambda run, salt, pct: (run * 7919 + 104729 + salt) % 100 < pct
    run = next(k for k in range(1000, 2000)
               if fails(k, 3, 30) and not fails(k, 11, 10) and not fails(k, 22, 20))
    env = dict(os.environ, FLAKEMETER_RUN=str(run), FLAKEMETER_ATTEMPT="1")
    p = subprocess.run([SYS_PY, "-m", "pytest", "-p", "no:cacheprovider", "tests"], cwd=tmp,
                       env=env, capture_output=True, text=True)
    last = (p.stdout.strip().splitlines() or [""])[-1]
    check(p.returncode == 1 and "1 failed" in last and "rerun" in last,
          f"pytest with the budget's conftest: exit {p.returncode}: {last!r}")
    print(f"pytest budget: the conftest from stress's history is acted on: {last}")


SH_DRAW = ('failed=$(( (FLAKEMETER_RUN * 7919 + FLAKEMETER_ATTEMPT * 104729 + {salt}) % 100 '
           '< {percent} )); echo "{name} $failed" >> {log}; exit $failed')


def ctest_project(tmp):
    if shutil.which("cmake") is None or shutil.which("ctest") is None:
        print("ctest: skipped (cmake is not installed)")
        return
    log = os.path.join(tmp, "outcomes.log")
    with open(os.path.join(tmp, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.16)\nproject(demo NONE)\nenable_testing()\n")
        for name, salt, percent in (("stable", 0, 0), ("flaky", 5, 40), ("rare", 9, 10)):
            script = os.path.join(tmp, f"{name}.sh")
            with open(script, "w") as s:
                s.write(SH_DRAW.format(salt=salt, percent=percent, name=name, log=log) + "\n")
            f.write(f"add_test(NAME {name} COMMAND sh {script})\n")
    r = subprocess.run(["cmake", "-S", tmp, "-B", os.path.join(tmp, "build")],
                       capture_output=True, text=True)
    if not check(r.returncode == 0, f"ctest: cmake: {r.stderr.strip()}"):
        return
    stress_and_compare("ctest", tmp, ["--adapter", "ctest", "-n", "15", "--", "ctest",
                                      "--test-dir", "build"],
                       {"stable": "stable", "flaky": "flaky", "rare": "rare"})


def gtest_project(tmp):
    if shutil.which("g++") is None or not os.path.exists("/usr/include/gtest/gtest.h"):
        print("gtest: skipped (g++ or Debian libgtest-dev is not installed)")
        return
    log = os.path.join(tmp, "outcomes.log")
    src = os.path.join(tmp, "demo_test.cc")
    with open(src, "w") as f:
        f.write('''#include <gtest/gtest.h>
#include <cstdio>
#include <cstdlib>
static bool draw(const char *name, long salt, long percent) {
    long run = atol(getenv("FLAKEMETER_RUN")), att = atol(getenv("FLAKEMETER_ATTEMPT"));
    bool failed = (run * 7919 + att * 104729 + salt) % 100 < percent;
    FILE *f = fopen("%LOG%", "a");
    fprintf(f, "%s %d\\n", name, failed ? 1 : 0);
    fclose(f);
    return failed;
}
TEST(Demo, Stable) { EXPECT_FALSE(draw("stable", 0, 0)); }
TEST(Demo, Flaky) { EXPECT_FALSE(draw("flaky", 7, 35)); }
class Param : public testing::TestWithParam<int> {};
TEST_P(Param, Rare) { EXPECT_FALSE(draw(GetParam() == 1 ? "rare1" : "rare2", GetParam(), 10)); }
INSTANTIATE_TEST_SUITE_P(Each, Param, testing::Values(1, 2));
'''.replace("%LOG%", log))
    exe = os.path.join(tmp, "demo_test")
    r = subprocess.run(["g++", "-O1", "-o", exe, src, "-lgtest", "-lgtest_main", "-pthread"],
                       capture_output=True, text=True)
    if not check(r.returncode == 0, f"gtest: g++: {r.stderr.strip()[:300]}"):
        return
    stress_and_compare("gtest", tmp, ["--adapter", "gtest", "-n", "15", "--", exe],
                       {"Demo.Stable": "stable", "Demo.Flaky": "flaky",
                        "Each/Param.Rare/0": "rare1", "Each/Param.Rare/1": "rare2"})


def go_project(tmp):
    if shutil.which("go") is None:
        print("go: skipped (Debian golang-go is not installed)")
        return
    log = os.path.join(tmp, "outcomes.log")
    with open(os.path.join(tmp, "go.mod"), "w") as f:
        f.write("module demo\n\ngo 1.19\n")
    with open(os.path.join(tmp, "demo_test.go"), "w") as f:
        f.write('''package demo

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

func draw(name string, salt, percent int) bool {
	run, _ := strconv.Atoi(os.Getenv("FLAKEMETER_RUN"))
	att, _ := strconv.Atoi(os.Getenv("FLAKEMETER_ATTEMPT"))
	failed := (run*7919+att*104729+salt)%100 < percent
	f, _ := os.OpenFile("%LOG%", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0644)
	v := 0
	if failed {
		v = 1
	}
	fmt.Fprintf(f, "%s %d\\n", name, v)
	f.Close()
	return failed
}

func TestStable(t *testing.T) {
	if draw("stable", 0, 0) {
		t.Fatal("x")
	}
}

func TestFlaky(t *testing.T) {
	if draw("flaky", 13, 30) {
		t.Fatal("flaky")
	}
}
'''.replace("%LOG%", log))
    env_ok = subprocess.run(["go", "version"], capture_output=True).returncode == 0
    if not env_ok:
        print("go: skipped (go does not run)")
        return
    os.environ.setdefault("GOCACHE", os.path.join(tmp, ".gocache"))
    os.environ["GOFLAGS"] = "-mod=mod"
    stress_and_compare("go", tmp, ["--adapter", "go", "-n", "6", "--", "go", "test", "."],
                       {"TestStable": "stable", "TestFlaky": "flaky"})


def generic_project(tmp):
    log = os.path.join(tmp, "outcomes.log")
    each = SH_DRAW.format(salt=17, percent=25, name="{}", log=log)
    stress_and_compare("generic", tmp, ["-n", "30", "--list-command", "printf 'alpha\\nbeta\\n'",
                                        "--each", each],
                       {"alpha": "'alpha'", "beta": "'beta'"})


def adaptive(tmp):
    """Bernoulli tests through the generic adapter: decisions right, fewer runs than uniform."""
    global ran
    want = {"0.5": 10, "0.25": 5, "0.02": 2}  # A(p) at target 1e-3: smallest A, p^A <= 1e-3
    args = ["stress", "--db", os.path.join(tmp, "a.db"), "--label", "bern", "--seed", "9",
            "-j", "2", "--until-decided", "--target", "1e-3", "--batch", "20", "--json",
            "--list-command", "printf '0.5\\n0.25\\n0.02\\n'", "--each",
            f"{FM_STRESS} bernoulli p={{}}"]
    r = subprocess.run([FLAKEMETER, *args], capture_output=True, text=True, timeout=600)
    if not check(r.returncode == 0, f"adaptive: exit {r.returncode}: {r.stderr.strip()}"):
        return
    ran += 1
    out = json.loads(r.stdout)
    check(out["all_decided"], "adaptive: not every test decided")
    for t in out["tests"]:
        a = t["attempts"]
        ok = a == want[t["id"]] or (t["indifferent"] and a == want[t["id"]] + 1)
        check(ok, f"adaptive: p={t['id']}: decided {a} (indifferent {t['indifferent']}), "
                  f"A(p) = {want[t['id']]}")
    check(out["runs"] < out["uniform_runs"],
          f"adaptive: {out['runs']} runs, not fewer than uniform {out['uniform_runs']}")
    print(f"adaptive: {out['runs']} runs against {out['uniform_runs']} uniform; "
          + ", ".join(f"p={t['id']}: {t['attempts']} after {t['runs']}" for t in out["tests"]))


def bad_input(tmp):
    for args, word in ((["--adapter", "nose", "--", "x"], "--adapter 'nose'"),
                       (["--adapter", "pytest", "-n", "3"], "after --"),
                       (["--list-command", "true", "--each", "x", "-n", "3"], "no {}"),
                       (["--list-command", "true", "--each", "echo {}", "-n", "3"], "lists no"),
                       (["--adapter", "gtest", "-n", "3", "--", "/nonexistent/t"], "cannot start"),
                       (["--adapter", "pytest", "--", "x"], "-n N")):
        r = fm("stress", "--db", os.path.join(tmp, "bad.db"), *args)
        check(r.returncode == 2 and r.stderr.count("\n") == 1 and word in r.stderr,
              f"stress {args}: exit {r.returncode}, {r.stderr!r} (want one line with {word!r})")
    check(not os.path.exists(os.path.join(tmp, "bad.db")), "bad input created a store")


for project in (pytest_project, ctest_project, gtest_project, go_project, generic_project,
                adaptive, bad_input):
    with tempfile.TemporaryDirectory(prefix="fm-stress-") as tmp:
        project(tmp)
print(f"stress: {ran} projects ran, {failures} failed")
sys.exit(1 if failures else 0 if ran else 77)
