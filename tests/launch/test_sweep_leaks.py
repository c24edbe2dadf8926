#!/usr/bin/env python3
"""`flakemeter sweep`'s error paths free what they allocated (issue 14, item 18: the analyzer
found a leak on an error path of cmd_sweep.c).

usage: test_sweep_leaks.py FLAKEMETER B_SANITIZE
Judged by LeakSanitizer, so only in a build with b_sanitize containing 'address' (the ASan CI
build); elsewhere it exits 77 saying so.  Every error path after the first allocation is taken
once - a bad --vary after others were copied, a variable given twice, a layout that is too long,
a store that cannot be opened, a campaign label that conflicts, conditions that cannot be
applied, an unknown workload - and each must end with its one line and exit status and with no
leak report (LSan's exit code 23 and its "LeakSanitizer" line would show one).
"""
import os
import subprocess
import sys
import tempfile

FM, SANITIZE = sys.argv[1], sys.argv[2]
if "address" not in SANITIZE:
    print(f"SKIP: leaks are judged by LeakSanitizer, and this build has b_sanitize={SANITIZE}")
    sys.exit(77)

failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


env = dict(os.environ)
env["ASAN_OPTIONS"] = "detect_leaks=1:" + env.get("ASAN_OPTIONS", "")
env["LSAN_OPTIONS"] = "exitcode=23:" + env.get("LSAN_OPTIONS", "")

with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "s.db")
    long = "0" * 1500
    # Make the label 'taken' with one command, so that another command under it conflicts.
    r = subprocess.run([FM, "sweep", "--db", db, "-n", "2", "--quiet", "--label", "taken",
                        "--vary", "nice=0,1", "--", "true"], capture_output=True, text=True,
                       env=env, timeout=120)
    check(r.returncode == 0 and "LeakSanitizer" not in r.stderr,
          f"a good sweep: exit {r.returncode}: {r.stderr[-400:]}")
    cases = {
        "bad --vary after two copied": (["--vary", "nice=0,1", "--vary", "load=1,2", "--vary",
                                         "nonsense"], ["--", "true"], 2),
        "a variable given twice": (["--vary", "nice=0,1", "--vary", "nice=2"], ["--", "true"], 2),
        "a value given twice": (["--vary", "nice=1,1"], ["--", "true"], 2),
        "a layout too long": (["--vary", f"nice={long},{long}1", "--vary",
                               f"load={long},{long}1"], ["--", "true"], 2),
        "a store that cannot be opened": (["--db", os.path.join(tmp, "no", "such", "s.db"),
                                           "--vary", "nice=0,1"], ["--", "true"], 2),
        "a conflicting label": (["--label", "taken", "--vary", "nice=0,1"], ["--", "false"], 2),
        "conditions that cannot apply": (["--vary", "cpus=1,100000"], ["--", "true"], 2),
        "an unknown workload": (["--vary", "nice=0,1"], ["no_such_workload"], 2),
    }
    for name, (opts, target, want) in cases.items():
        args = [FM, "sweep", "-n", "2", "--quiet"]
        if "--db" not in opts:
            args += ["--db", db]
        r = subprocess.run(args + opts + target, capture_output=True, text=True, env=env,
                           timeout=120)
        leak = "LeakSanitizer" in r.stderr or r.returncode == 23
        check(not leak, f"{name}: leak reported: {r.stderr[-1500:]}")
        check(r.returncode == want, f"{name}: exit {r.returncode}, wanted {want}: "
              f"{r.stderr.strip()[:300]}")
        check(len(r.stderr.strip().splitlines()) == 1, f"{name}: not one line: {r.stderr[:300]}")
        print(f"{name}: exit {r.returncode}, {'LEAK' if leak else 'no leak'}")

print(f"{checks - failures}/{checks} checks passed")
sys.exit(1 if failures else 0)
