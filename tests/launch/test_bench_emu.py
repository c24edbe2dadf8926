#!/usr/bin/env python3
"""`flakemeter bench emu` end to end: a short real benchmark under QEMU user mode.

usage: test_bench_emu.py FLAKEMETER SOURCE_DIR
Runs aarch64 and riscv64 (the cross builds SOURCE_DIR/build-cross-{aarch64,riscv64}, made by
tools/cross/build.sh; tools/quickstart.sh test makes them) with 3 counted pairs of small
workloads, and checks every JSON field, that each emulated run really was emulated (fm-stress's
machine= under QEMU is the target's, not the host's), the store campaigns, the plot file, that a
missing arch is one line naming what to install while the others are measured, and bad input.
Without the cross builds or QEMU the test is skipped (exit 77), unless FM_REQUIRE_CROSS=1 (CI),
which makes that a failure.  Nothing here asserts on time: only on structure, counts, the
ordering ratio_lower <= ratio <= ratio_upper and positivity.  Standard library only.
"""
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

FM, SRC = sys.argv[1], sys.argv[2]
ARCHES = {"aarch64": "qemu-aarch64", "riscv64": "qemu-riscv64"}
MACHINES = {"aarch64": "aarch64", "riscv64": "riscv64"}
REPS = 3
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args, timeout=600):
    return subprocess.run([FM, "bench", "emu", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def available():
    missing = [a for a, q in ARCHES.items()
               if shutil.which(q) is None or
               not os.access(os.path.join(SRC, f"build-cross-{a}", "workloads", "fm-stress"),
                             os.X_OK)]
    return missing


def finite_pos(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


RESULT_KEYS = {"workload", "params", "implementation", "arch", "emulator", "machine", "reps",
               "pairs", "native_median_s", "emulated_median_s", "native_cpu_median_s",
               "emulated_cpu_median_s", "ratio", "ratio_lower", "ratio_upper", "median_ratio",
               "outcomes", "native_outcomes", "first_failure", "timeouts", "timeout_for_target",
               "campaigns"}
TIMEOUT_KEYS = {"timeout_s", "runs", "exceeded", "method", "p", "p_lower", "p_upper",
                "pass_mean_s", "attempts", "expected_attempts", "expected_seconds", "all_fail",
                "attempts_for_target", "attempts_for_target_conservative"}
OUTCOMES = {"pass", "fail", "crash", "timeout", "error"}


def check_timeout(t, where):
    check(set(t) == TIMEOUT_KEYS, f"{where}: timeout keys {sorted(t)}")
    check(t["runs"] == REPS and 0 <= t["exceeded"] <= t["runs"], f"{where}: counts {t}")
    # 30 s is far above any run here: nothing exceeds it, so the log-normal fit answers.
    if t["timeout_s"] == 30:
        check(t["exceeded"] == 0 and t["method"] == "lognormal", f"{where}: 30 s {t}")
    # 1e-6 s is below every run: all exceed it, the exact binomial interval answers.
    if t["timeout_s"] == 1e-6:
        check(t["exceeded"] == REPS and t["method"] == "binomial" and t["p"] == 1.0,
              f"{where}: 1 us {t}")
        check(abs(t["expected_attempts"] - 3.0) < 1e-12 and t["all_fail"] == 1.0,
              f"{where}: every attempt times out: {t}")
    check(0 <= t["p_lower"] <= t["p"] <= t["p_upper"] <= 1, f"{where}: p ordering {t}")
    check(t["attempts"] == 3 and t["expected_attempts"] >= 1, f"{where}: policy {t}")


def check_result(r, db):
    where = f"{r.get('workload')}/{r.get('arch')}/{r.get('implementation')}"
    check(set(r) == RESULT_KEYS, f"{where}: keys {sorted(r)}")
    arch = r["arch"]
    check(r["emulator"] == ARCHES[arch], f"{where}: emulator {r['emulator']}")
    # The emulated run really ran under QEMU: uname -m inside it is the target's.
    check(r["machine"] == MACHINES[arch] and r["machine"] != os.uname().machine,
          f"{where}: machine {r['machine']!r}")
    check(r["reps"] == REPS, f"{where}: reps {r['reps']}")
    for side in ("outcomes", "native_outcomes"):
        check(set(r[side]) == OUTCOMES and sum(r[side].values()) == REPS,
              f"{where}: {side} {r[side]}")
    check(r["outcomes"]["pass"] == REPS and r["native_outcomes"]["pass"] == REPS,
          f"{where}: every run of these workloads passes: {r['outcomes']}")
    check(r["pairs"] == REPS and r["first_failure"] is None, f"{where}: pairs {r['pairs']}")
    for k in ("native_median_s", "emulated_median_s", "native_cpu_median_s",
              "emulated_cpu_median_s", "ratio", "ratio_lower", "ratio_upper", "median_ratio"):
        check(finite_pos(r[k]), f"{where}: {k} = {r[k]!r}")
    check(r["ratio_lower"] <= r["ratio"] <= r["ratio_upper"], f"{where}: ratio ordering")
    check([t["timeout_s"] for t in r["timeouts"]] == [30, 1e-6], f"{where}: timeouts listed")
    for t in r["timeouts"]:
        check_timeout(t, where)
    tt = r["timeout_for_target"]
    check(set(tt) == {"target", "point_s", "conservative_s"} and tt["target"] == 0.001 and
          finite_pos(tt["point_s"]) and tt["conservative_s"] >= tt["point_s"],
          f"{where}: timeout for target {tt}")
    if r["workload"] == "stress_aes":
        check(r["implementation"] in ("portable", "openssl") and
              f"impl={r['implementation']}" in r["params"], f"{where}: impl in params")
    else:
        check(r["implementation"] is None, f"{where}: implementation {r['implementation']}")
    # Both campaigns are in the store with their arch, conditions and every rep.
    con = sqlite3.connect(db)
    for side, label in r["campaigns"].items():
        row = con.execute("SELECT arch, conditions, (SELECT count(*) FROM runs WHERE "
                          "campaign = c.id) FROM campaigns c WHERE label = ?", (label,)).fetchone()
        check(row is not None, f"{where}: campaign {label!r} stored")
        if row is None:
            continue
        cond = json.loads(row[1])
        if side == "emulated":
            check(row[0] == arch and cond.get("emulator") == arch,
                  f"{where}: emulated campaign arch/conditions {row}")
            check(list(cond)[0] == "emulator", f"{where}: key order {row[1]}")
        else:
            check(row[0] == os.uname().machine and "emulator" not in cond,
                  f"{where}: native campaign {row}")
        if r["implementation"]:
            check(cond.get("impl") == r["implementation"], f"{where}: impl condition {row[1]}")
        check(row[2] == REPS, f"{where}: {row[2]} runs stored for {label!r}")
    con.close()


def test_measure(tmp):
    db, png = os.path.join(tmp, "emu.db"), os.path.join(tmp, "emu.png")
    r = run("--arch", "aarch64,riscv64", "--workload",
            "stress_aes:threads=1:loops=1,stress_heap:threads=2:iters=100", "-n", str(REPS),
            "--timeout", "30", "--timeout", "1e-6", "--cross-dir", SRC, "--db", db, "--json",
            "--plot", png, "-q")
    check(r.returncode == 0, f"measure: exit {r.returncode}, stderr {r.stderr!r}")
    try:
        o = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        check(False, f"measure: not JSON ({e}): {r.stdout!r}")
        return
    check(set(o) >= {"results", "skipped", "notes", "host_machine", "confidence", "target",
                     "reps", "warmup", "limit_s", "db"}, f"top keys {sorted(o)}")
    check(o["skipped"] == [] and o["limit_s"] == 30 and o["reps"] == REPS, f"top {o}")
    results = o["results"]
    seen = {(x["workload"], x["arch"], x["implementation"]) for x in results}
    want = {("stress_heap", a, None) for a in ARCHES}
    want |= {("stress_aes", a, "portable") for a in ARCHES}
    check(seen >= want, f"results cover {sorted(seen, key=str)}")
    # impl=openssl is measured exactly where the cross build has libcrypto, else a note says so.
    for a in ARCHES:
        has = ("stress_aes", a, "openssl") in seen
        noted = any(f"skipped on {a}" in n for n in o["notes"])
        check(has != noted, f"{a}: openssl measured {has}, noted {noted}")
    for x in results:
        check_result(x, db)
    with open(png, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "the plot is a PNG")


def test_missing_arch(tmp):
    # A cross folder holding only aarch64's build: riscv64 is one line naming what to install
    # and is skipped; aarch64 is measured.
    only = os.path.join(tmp, "only-aarch64")
    os.mkdir(only)
    os.symlink(os.path.join(os.path.abspath(SRC), "build-cross-aarch64"),
               os.path.join(only, "build-cross-aarch64"))
    r = run("--arch", "aarch64,riscv64", "--workload", "stress_heap:threads=1:iters=10", "-n", "2",
            "--warmup", "0", "--cross-dir", only, "--db", os.path.join(tmp, "m.db"), "--json")
    check(r.returncode == 0, f"missing: exit {r.returncode}, stderr {r.stderr!r}")
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and "riscv64 skipped" in lines[0] and
          "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross" in lines[0] and
          "tools/cross/build.sh riscv64" in lines[0], f"missing: stderr {r.stderr!r}")
    o = json.loads(r.stdout or "{}")
    check([x["arch"] for x in o.get("results", [])] == ["aarch64"] and len(o.get("skipped")) == 1,
          f"missing: measured {o.get('results')}")
    # Nothing at all to run: exit 1 after the lines.
    r = run("--arch", "riscv64", "--workload", "stress_heap", "--cross-dir", tmp, "--db",
            os.path.join(tmp, "n.db"))
    check(r.returncode == 1 and "nothing measured" in r.stderr, f"nothing: {r.returncode} "
          f"{r.stderr!r}")


def test_bad_input(tmp):
    for args, word in ((["--arch", "sparc"], "sparc"), (["--workload", "nope"], "nope"),
                       (["--workload", "stress_aes:threads=-1"], "threads"),
                       (["--plot", "x.pdf"], "x.pdf"), (["-n", "0"], "--runs"),
                       (["--timeout", "0"], "--timeout"), (["extra"], "extra"),
                       (["--native", "/nonexistent/fm-stress"], "--native")):
        r = run(*args, "--db", os.path.join(tmp, "bad.db"))
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and word in lines[0] and r.stdout == "",
              f"bad input {args}: {r.returncode} {r.stderr!r}")


def main():
    missing = available()
    if missing:
        msg = f"no QEMU or cross build for {', '.join(missing)} (tools/cross/build.sh ARCH)"
        if os.environ.get("FM_REQUIRE_CROSS") == "1":
            print(f"FAIL: {msg}", file=sys.stderr)
            return 1
        print(f"SKIP: {msg}")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        test_bad_input(tmp)
        test_measure(tmp)
        test_missing_arch(tmp)
    print(f"test_bench_emu: {checks} checks, {failures} failed")
    return 1 if failures else 0


sys.exit(main())
