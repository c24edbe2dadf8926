#!/usr/bin/env python3
"""Golden outputs of every `flakemeter` command: the behaviour before the restructuring (issue 11).

Usage: test_golden.py FLAKEMETER_EXE FM_STRESS_EXE SOURCE_ROOT [--record]

What it guarantees
  A fixed list of invocations (SCENARIOS below) covers every subcommand that prints JSON
  (interval, retries, plan, list, run, show, show --list, sweep, ingest, tests, budget, check),
  the exports (json, csv, junit, --history json/csv) and merge.  Inputs are fixed: explicit
  --seed everywhere, deterministic workloads (bernoulli, markov, mutate) and shell commands
  whose outcome is a function of FLAKEMETER_RUN / FLAKEMETER_ATTEMPT only, -j 1, the JUnit
  fixtures in tests/history/fixtures and a CI history generated here from a hash (no RNG).
  Each scenario runs in a fresh temporary directory with its own --db, with the temp dir as
  the working directory and relative paths, LC_ALL=C, TZ=UTC and no FLAKEMETER_* variables.
  After normalization (below) the standard output and the exit status of every invocation
  must equal what the build of commit a9eacad printed; tests/cli/golden/ holds one file per
  invocation (NAME.json, .csv, .xml or .txt) and INDEX.json (name, argv, exit status).
  Without --record: compare, print a unified diff per mismatch, exit 1 on any mismatch.
  With --record: (re)write tests/cli/golden/.  Standard library only.

  JSON is compared after parsing, with key order kept: a changed value, key, key order, type
  or floating-point bit pattern (floats are re-printed with repr, which round-trips) is a
  mismatch; only whitespace/layout of the JSON text is not compared.  CSV, XML and text
  (merge, budget --format toml|micropython) are compared as text, line by line.  Standard error is not compared (messages may be reworded).

What is normalized, and why (everything statistical stays exact: counts, probabilities,
intervals, p-values, attempt counts, classes, verdicts, exit statuses)
  JSON, by key name, anywhere in the document:
    VOLATILE_KEYS   value (a whole subtree for "durations") -> "<volatile>"; null stays null:
      wall_seconds            elapsed time of a run/sweep
      durations               p50/p90/p99/max of measured attempt durations
      start_ns, wall_ns       per-attempt clock time and duration (export)
      user_us, sys_us         per-attempt CPU time (export)
      max_rss_kb              per-attempt peak memory (export)
      version                 the flakemeter version (export)
      containment             how a run's attempts were contained ("cgroup v2", "sweep"...):
                              the machine's cgroups decide it
      pid                     (none printed today; listed so that adding one is harmless)
    CREATED_PREFIX  removed, not replaced: every key starting with "created" (created_ns ...).
      Issue 11 fixes the creation time (today created_ns is 0) and adds it where it is
      missing (show --list), so neither the value nor the key's presence may count.
    host, hostname  -> "<host>" when the value is this machine's name (ingested CI reports
                       carry their own host names; those are fixture data and stay exact)
    arch            -> "<arch>" when the value is this machine's (platform.machine())
    time_ns         -> "<ingest-time>" when within [start of this script - 1 h, now + 1 h]:
                       a report without a timestamp is stored at the time of ingestion;
                       timestamps from the reports (2024) stay exact.
    "default" of the workload parameters "stack" and "margin" (list) -> "<build>": the
                       thread stack default is the upstream port's for this build, scaled by 4
                       under ASan/TSan (workloads/fm_wl_internal.h), so it differs between the
                       plain and the sanitizer builds by design.
    Per-invocation extra keys (Inv.volatile): `budget --campaign` takes the campaign's
    measured median duration as its cost, so its seconds (expected_extra_seconds,
    pass_seconds, fail_seconds, optimality_gap_seconds) are volatile there only.
    "fingerprint" (export JSON, schema 3): every value -> "<volatile>" (the executable's path,
                       size, mtime and build id are this machine's build).
  Strings anywhere: the temp dir, the source root and the two executables' paths are
    replaced by <TMP>, <SRC>, <FM_STRESS>, <FLAKEMETER> (none should appear: paths are relative).
  CSV (export -f csv), by column name: start_ns, wall_ns, user_us, sys_us, max_rss_kb ->
    <volatile>; host and time_ns as in JSON.
  JUnit XML (export -f junit), by regex: time="..." -> time="<volatile>"; timestamp="..."
    -> timestamp="<created>" (the creation time issue 11 fixes: today 1970-01-01T00:00:00);
    "timed out after 1.501 s" -> "timed out after <volatile> s" (the measured time of the
    killed attempt, in the failure message);
    hostname="<this host>" -> hostname="<host>"; the flakemeter_version and arch
    (when this machine's) property values.

Left out, and why
  bench emu        needs the cross builds (bench/cross/build.sh) and QEMU, and measures
                   slowdowns (timing): nothing in it would survive normalization.
  run --duration   stops by the clock: the number of runs is not deterministic.
  run -j > 1       with several runs in flight, the order in which they finish (and so what
                   --until-decided has seen when it stops) depends on timing; every run and
                   sweep here uses -j 1.
  --load, --quota, --cpus/--pin in sweep: cost CPU or need cgroups/several CPUs; conditions
                   are covered by nice and launch, which any machine has.
  racy workloads (race, stress_recurse publish=late, stress_schedule, slow): their outcome
                   or duration depends on scheduling.
  --plot, --keep-output: write files, not --json output.
  dates that issue 11 changes on purpose (30 February, times without seconds) are not used.
"""
import csv
import difflib
import hashlib
import io
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

if len(sys.argv) < 4 or len(sys.argv) > 5 or (len(sys.argv) == 5 and sys.argv[4] != "--record"):
    sys.exit("usage: test_golden.py FLAKEMETER_EXE FM_STRESS_EXE SOURCE_ROOT [--record]")
FM = os.path.abspath(sys.argv[1])
FM_STRESS = os.path.abspath(sys.argv[2])
SRC = os.path.abspath(sys.argv[3])
RECORD = len(sys.argv) == 5
GOLDEN = os.path.join(SRC, "tests", "cli", "golden")
FIXTURES = os.path.join(SRC, "tests", "history", "fixtures")

VOLATILE_KEYS = {"wall_seconds", "durations", "start_ns", "wall_ns", "user_us", "sys_us",
                 "max_rss_kb", "version", "pid", "containment"}
CREATED_PREFIX = "created"
BUILD_DEPENDENT_PARAMS = {"stack", "margin"}
HOST = socket.gethostname()
ARCH = platform.machine()
T0_NS = time.time_ns()
HOUR_NS = 3600 * 10**9
CSV_VOLATILE = {"start_ns", "wall_ns", "user_us", "sys_us", "max_rss_kb"}


class Inv:
    """One recorded invocation: flakemeter ARGV in the scenario's directory.
    kind: json, csv, xml or txt (the golden file's extension)."""
    def __init__(self, name, argv, kind="json", volatile=()):
        self.name, self.argv, self.kind, self.volatile = name, argv, kind, set(volatile)


class Setup:
    """A step that is not recorded: a Python function of the scenario dir, or a flakemeter
    invocation whose exit status must be 0."""
    def __init__(self, what):
        self.what = what


# ---------------------------------------------------------------- fixed inputs

MOD4 = ["--", "sh", "-c", "exit $(( FLAKEMETER_RUN % 4 == 0 ))"]
MOD3 = ["--", "sh", "-c", "exit $(( FLAKEMETER_RUN % 3 == 0 ))"]
# Pass, fail, crash (SIGKILL: never a core dump), timeout and pass-on-retry, from the run
# and attempt numbers alone.  Run 1's first attempt sleeps 30 s against --timeout 1.5: a
# timeout however slow the machine, and the shell dies of the SIGTERM (signal 15) at once.
MIXED = ["--", "sh", "-c",
         'r=$FLAKEMETER_RUN; a=$FLAKEMETER_ATTEMPT; '
         'if [ "$r" = 1 ] && [ "$a" = 1 ]; then sleep 30; fi; '
         'if [ $((r % 5)) = 2 ]; then kill -KILL $$; fi; '
         'if [ $((r % 5)) = 3 ] && [ "$a" -lt 3 ]; then exit 1; fi; '
         'exit 0']
# Output decides: "BUG" lines are real failures, "INFRA" failures are to be ignored.
REGEX = ["--", "sh", "-c",
         'r=$FLAKEMETER_RUN; '
         'if [ $((r % 4)) = 1 ]; then echo BUG; exit 1; fi; '
         'if [ $((r % 4)) = 2 ]; then echo INFRA; exit 1; fi; exit 0']


def draw(i, salt):
    """A fixed number in [0, 1000) for CI run i and test salt (SHA-256: no RNG state)."""
    return int.from_bytes(hashlib.sha256(f"{i}:{salt}".encode()).digest()[:4], "big") % 1000


def write_history(d):
    """40 CI runs of a pytest-style suite, one JUnit file each, one day apart from
    2024-01-01: a stable test, a test that times out ~25% of the time, a crashy test retried
    surefire-style (flakyFailure / rerunFailure), a test whose rate jumps from 3% to 50% at
    run 28, and an always-skipped test."""
    os.makedirs(os.path.join(d, "hist"))
    for i in range(40):
        cases = []
        for cls, name, salt in (("t.core", "test_stable", 0), ("t.thread", "test_timeout", 1),
                                ("t.thread", "test_crashy", 2), ("t.net", "test_regress", 3),
                                ("t.io", "test_skip", 4)):
            r = draw(i, salt)
            head = f'<testcase classname="{cls}" name="{name}" time='
            if name == "test_timeout" and r < 250:
                cases.append(head + '"60.0"><failure message="Failed: Timeout &gt;60s"/>'
                             '</testcase>')
            elif name == "test_crashy" and r < 60:
                cases.append(head + '"0.6"><failure message="crash"/>'
                             '<rerunFailure message="crash"/><rerunFailure message="crash"/>'
                             '</testcase>')
            elif name == "test_crashy" and r < 180:
                cases.append(head + '"0.5"><flakyFailure message="crash"/></testcase>')
            elif name == "test_regress" and r < (30 if i < 28 else 500):
                cases.append(head + '"3.5"><failure message="assert False"/></testcase>')
            elif name == "test_skip":
                cases.append(head + '"0.0"><skipped/></testcase>')
            else:
                cases.append(head + f'"{1.0 + salt}"/>')
        day = time.strftime("%Y-%m-%dT06:00:00", time.gmtime(1704067200 + i * 86400))
        xml = ('<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="s" '
               f'timestamp="{day}" hostname="ci-{i % 3}"><properties>'
               f'<property name="ci_run" value="run-{i:02d}"/></properties>'
               + "".join(cases) + "</testsuite></testsuites>\n")
        with open(os.path.join(d, "hist", f"run{i:02d}.xml"), "w") as f:
            f.write(xml)


def copy_fixtures(d):
    """The ingest fixtures, under a relative path.  Three of them have no timestamp and are
    stored at the time of ingestion (normalized as <ingest-time>)."""
    shutil.copytree(FIXTURES, os.path.join(d, "fixtures"))


def write_bad(d):
    with open(os.path.join(d, "bad.xml"), "w") as f:
        f.write('<testsuite><testcase name="a">')


# ---------------------------------------------------------------- the invocations

def calc():
    out = []
    for m in ("exact", "wilson", "jeffreys", "agresti-coull", "wald"):
        out.append(Inv(f"interval_{m}", ["interval", "-k", "3", "-n", "100", "-m", m, "--json"]))
    out += [
        Inv("interval_upper_99", ["interval", "--failures", "0", "--runs", "50",
                                  "--confidence", "0.99", "--sided", "upper", "--json"]),
        Inv("interval_1e12", ["interval", "-k", "7", "-n", "1e12", "--json"]),
        Inv("interval_all_failed", ["interval", "-k", "20", "-n", "20", "-m", "wilson", "--json"]),
        Inv("retries_p", ["retries", "--p", "0.1", "--target", "1e-6", "--json"]),
        Inv("retries_after_failure", ["retries", "-p", "0.1", "--after-failure", "0.5", "-t", "1e-6",
                                      "--pass-seconds", "2", "--fail-seconds", "30", "--json"]),
        Inv("retries_unreachable", ["retries", "--p", "1", "--target", "1e-3", "--json"]),
        Inv("retries_kn_cost", ["retries", "-k", "3", "-n", "100", "-t", "1e-6",
                                "--pass-seconds", "1", "--fail-seconds", "5", "-a", "3", "--json"]),
        Inv("retries_kn_uniform", ["retries", "--failures", "0", "--runs", "40", "--target", "1e-4",
                                   "--confidence", "0.9", "--prior", "uniform", "--json"]),
        Inv("plan_rule_of_three", ["plan", "--p0", "0.01", "--json"]),
        Inv("plan_k2_99", ["plan", "--p0", "0.001", "-k", "2", "-c", "0.99", "--json"]),
        Inv("list_all", ["list", "--json"]),
        Inv("list_some", ["list", "--json", "bernoulli", "markov", "stress_aes"]),
    ]
    return out


SCENARIOS = [
    ("calculators", calc()),

    # Campaigns: run, show, show --list, export of every format.
    ("campaigns", [
        Inv("run_bernoulli", ["run", "-n", "100", "-j", "1", "--seed", "7", "--db", "c.db",
                              "--json", "bernoulli", "p=0.1"]),
        Inv("run_markov_retries", ["run", "-n", "60", "-j", "1", "--seed", "3", "--retries", "2",
                                   "--db", "c.db", "--json", "markov", "p=0.3", "q=0.6"]),
        Inv("run_mutate", ["run", "-n", "4", "-j", "1", "--seed", "1", "--db", "c.db", "--json",
                           "mutate", "threads=2", "repeats=2"]),
        Inv("run_cmd_mod4", ["run", "-n", "20", "-j", "1", "--seed", "1", "--db", "c.db",
                             "--json"] + MOD4),
        Inv("run_cmd_mixed", ["run", "-n", "10", "-j", "1", "--seed", "9", "--retries", "2",
                              "--timeout", "1.5", "--nice", "3", "--launch", "spawn",
                              "--label", "mixed", "--db", "c.db", "--json"] + MIXED),
        Inv("run_fail_regex", ["run", "-n", "12", "-j", "1", "--seed", "1", "--fail-regex", "BUG",
                               "--label", "fail-regex", "--db", "c.db", "--json"] + REGEX),
        Inv("run_ignore_regex", ["run", "-n", "12", "-j", "1", "--seed", "1", "--ignore-regex",
                                 "INFRA", "--retries", "1", "--label", "ignore-regex",
                                 "--db", "c.db", "--json"] + REGEX),
        Inv("run_fm_stress_cmd", ["run", "-n", "30", "-j", "1", "--seed", "11", "--retries", "1",
                                  "--label", "fm-stress markov", "--db", "c.db", "--json",
                                  "--", FM_STRESS, "markov", "p=0.4", "q=0.7"]),
        Inv("show_latest", ["show", "--db", "c.db", "--json"]),
        Inv("show_markov", ["show", "--db", "c.db", "--target", "1e-3", "--confidence", "0.9",
                            "--json", "markov p=0.3 q=0.6"]),
        Inv("show_mixed", ["show", "--db", "c.db", "--json", "mixed"]),
        Inv("show_list", ["show", "--list", "--db", "c.db", "--json"]),
        Inv("show_list_90", ["show", "--list", "--db", "c.db", "--confidence", "0.9", "--json"]),
        Inv("export_json", ["export", "--db", "c.db"]),
        Inv("export_json_mixed", ["export", "--db", "c.db", "--format", "json", "mixed"]),
        Inv("export_csv", ["export", "--db", "c.db", "-f", "csv"], kind="csv"),
        Inv("export_junit", ["export", "--db", "c.db", "-f", "junit"], kind="xml"),
        Inv("export_junit_markov", ["export", "--db", "c.db", "-f", "junit",
                                    "markov p=0.3 q=0.6"], kind="xml"),
    ]),

    # Stops when the attempt count is pinned down: a function of the outcomes alone with -j 1.
    # Its own store, so that the exports above do not carry its 600-odd runs.
    ("until_decided", [
        Inv("run_until_decided", ["run", "-n", "2000", "-j", "1", "--seed", "2", "--until-decided",
                                  "-t", "0.01", "-c", "0.9", "--db", "u.db", "--label", "decided",
                                  "--json", "bernoulli", "p=0.05"]),
        Inv("show_until_decided", ["show", "--db", "u.db", "-t", "0.01", "-c", "0.9", "--json"]),
    ]),

    # Shards merged give one campaign; merging twice adds nothing.
    ("merge", [
        Setup(["run", "-n", "30", "-j", "1", "--seed", "4", "--retries", "1", "--shard", "0/2",
               "--db", "s0.db", "-q", "markov", "p=0.2", "q=0.5"]),
        Setup(["run", "-n", "30", "-j", "1", "--seed", "4", "--retries", "1", "--shard", "1/2",
               "--db", "s1.db", "-q", "markov", "p=0.2", "q=0.5"]),
        Setup(["run", "-n", "10", "-j", "1", "--seed", "4", "--db", "s1.db", "-q"] + MOD4),
        Inv("merge", ["merge", "-o", "m.db", "s0.db", "s1.db"], kind="txt"),
        Inv("merge_again", ["merge", "-o", "m.db", "s0.db", "s1.db"], kind="txt"),
        Inv("merge_show", ["show", "--db", "m.db", "--json", "markov p=0.2 q=0.5"]),
        Inv("merge_show_list", ["show", "--list", "--db", "m.db", "--json"]),
        Inv("merge_export_csv", ["export", "--db", "m.db", "-f", "csv"], kind="csv"),
    ]),

    # Sweeps: a workload parameter (with a trend), and two cheap conditions on a command.
    ("sweep_param", [
        Inv("sweep_bernoulli_p", ["sweep", "-n", "20", "--rounds", "2", "-j", "1", "--seed", "5",
                                  "--db", "w.db", "--json", "--vary", "p=0.05,0.2,0.5",
                                  "bernoulli"]),
        Inv("sweep_param_show_list", ["show", "--list", "--db", "w.db", "--json"]),
    ]),
    ("sweep_conditions", [
        Inv("sweep_launch_nice", ["sweep", "-n", "12", "--rounds", "3", "-j", "1", "--seed", "5",
                                  "-c", "0.9", "--db", "w.db", "--label", "cond", "--json",
                                  "--vary", "launch=fork,spawn", "--vary", "nice=0,5"] + MOD3),
        Inv("sweep_cond_show_list", ["show", "--list", "--db", "w.db", "--json"]),
    ]),

    # The JUnit fixtures of every supported producer.
    ("ingest_fixtures", [
        Setup(copy_fixtures),
        Setup(write_bad),
        Inv("ingest_fixtures", ["ingest", "--db", "f.db", "--json", "fixtures"]),
        Inv("ingest_fixtures_again", ["ingest", "--db", "f.db", "--json", "fixtures"]),
        Inv("ingest_run_label", ["ingest", "--db", "f.db", "--label", "other", "--run", "r1",
                                 "--json", "fixtures/pytest.xml", "fixtures/gojunit.xml"]),
        Inv("ingest_malformed", ["ingest", "--db", "f.db", "--json", "bad.xml"]),
        Inv("tests_fixtures", ["tests", "--db", "f.db", "--json"]),
        Inv("tests_fixtures_ci", ["tests", "--db", "f.db", "--label", "ci", "-c", "0.9", "--json"]),
        Inv("check_fixtures_none", ["check", "--db", "f.db", "--label", "ci", "--baseline", "3",
                                    "--json"]),
        Inv("export_history_fixtures", ["export", "--db", "f.db", "--history"]),
        Inv("export_history_fixtures_csv", ["export", "--db", "f.db", "--history", "-f", "csv",
                                            "ci"], kind="csv"),
    ]),

    # A generated CI history: tests, budget, check.
    ("history", [
        Setup(write_history),
        Inv("ingest_history", ["ingest", "--db", "h.db", "--label", "suite", "--json", "hist"]),
        Inv("tests_history", ["tests", "--db", "h.db", "--json"]),
        Inv("tests_last10", ["tests", "--db", "h.db", "--label", "suite", "--last", "10", "--json"]),
        Inv("tests_since_until", ["tests", "--db", "h.db", "--since", "2024-01-10",
                                  "--until", "2024-02-01T00:00:00Z", "--json"]),
        Inv("budget_json", ["budget", "--db", "h.db", "-t", "0.01", "--json"]),
        Inv("budget_point", ["budget", "--db", "h.db", "--target", "0.05", "--point",
                             "--max-attempts", "4", "--json"]),
        Inv("budget_timeout_minruns", ["budget", "--db", "h.db", "-t", "0.01", "--timeout", "90",
                                       "--min-runs", "5", "-c", "0.9", "--label", "suite",
                                       "--json"]),
        Inv("budget_format_json", ["budget", "--db", "h.db", "-t", "0.01", "--format", "json"]),
        Inv("budget_format_toml", ["budget", "--db", "h.db", "-t", "0.01", "--format", "toml"],
            kind="txt"),
        Inv("budget_format_micropython", ["budget", "--db", "h.db", "-t", "0.01",
                                          "--format", "micropython"], kind="txt"),
        Inv("check_runs", ["check", "--db", "h.db", "--baseline", "28", "--json"]),
        Inv("check_date", ["check", "--db", "h.db", "--baseline", "2024-01-29", "--alpha", "0.01",
                           "--json"]),
        Inv("check_datetime", ["check", "--db", "h.db", "--label", "suite", "--baseline",
                                    "2024-01-15T12:00:00Z", "-c", "0.9", "--json"]),
        Inv("export_history", ["export", "--db", "h.db", "--history", "suite"]),
        Inv("export_history_csv", ["export", "--db", "h.db", "--history", "-f", "csv"], kind="csv"),
        # A measured campaign as one more test of the suite.
        Setup(["run", "-n", "40", "-j", "1", "--seed", "6", "--retries", "2", "--db", "h.db",
               "--label", "t.sim::test_markov", "-q", "markov", "p=0.2", "q=0.3"]),
        Inv("budget_campaign", ["budget", "--db", "h.db", "-t", "0.01", "--label", "suite",
                                "--campaign", "t.sim::test_markov", "--json"],
            volatile=("expected_extra_seconds", "pass_seconds", "fail_seconds",
                      "optimality_gap_seconds")),
    ]),
]


# ---------------------------------------------------------------- normalization

def path_subs(tmp):
    subs = [(FM, "<FLAKEMETER>"), (FM_STRESS, "<FM_STRESS>"), (SRC, "<SRC>"), (tmp, "<TMP>"),
            (os.path.realpath(tmp), "<TMP>")]
    return sorted(set(subs), key=lambda s: -len(s[0]))


def sub_paths(s, subs):
    for a, b in subs:
        s = s.replace(a, b)
    return s


def is_ingest_time(v):
    return isinstance(v, int) and T0_NS - HOUR_NS <= v <= time.time_ns() + HOUR_NS


def norm_json(v, subs, extra):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k.startswith(CREATED_PREFIX):
                continue
            if k == "default" and v.get("key") in BUILD_DEPENDENT_PARAMS:
                out[k] = "<build>"
                continue
            if k == "fingerprint" and isinstance(x, dict):
                # the executable's path, size, mtime and build id or hash: this machine's build
                out[k] = {kk: "<volatile>" for kk in x}
                continue
            if (k in VOLATILE_KEYS or k in extra) and x is not None:
                out[k] = "<volatile>"
            elif k in ("host", "hostname") and x == HOST:
                out[k] = "<host>"
            elif k == "arch" and x == ARCH:
                out[k] = "<arch>"
            elif k == "time_ns" and is_ingest_time(x):
                out[k] = "<ingest-time>"
            else:
                out[k] = norm_json(x, subs, extra)
        return out
    if isinstance(v, list):
        return [norm_json(x, subs, extra) for x in v]
    if isinstance(v, str):
        return sub_paths(v, subs)
    return v


def norm_csv(text, subs):
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    head = rows[0]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(head)
    for row in rows[1:]:
        new = []
        for k, x in zip(head, row):
            if k in CSV_VOLATILE or k.startswith(CREATED_PREFIX):
                x = "<volatile>"
            elif k == "host" and x == HOST:
                x = "<host>"
            elif k == "time_ns" and x.isdigit() and is_ingest_time(int(x)):
                x = "<ingest-time>"
            new.append(sub_paths(x, subs))
        w.writerow(new + row[len(head):])
    return out.getvalue()


def norm_xml(text, subs):
    text = re.sub(r'\btime="[^"]*"', 'time="<volatile>"', text)
    text = re.sub(r'\btimestamp="[^"]*"', 'timestamp="<created>"', text)
    text = re.sub(r'timed out after [0-9.]+ s', 'timed out after <volatile> s', text)
    text = text.replace(f'hostname="{HOST}"', 'hostname="<host>"')
    text = re.sub(r'(<property name="flakemeter_version" value=)"[^"]*"', r'\1"<volatile>"', text)
    text = text.replace(f'<property name="arch" value="{ARCH}"/>',
                        '<property name="arch" value="<arch>"/>')
    return sub_paths(text, subs)


def dumps(v, indent=""):
    """JSON with one line per nested object or array that holds only scalars (an exported
    run, an interval), so that the golden files stay small and their diffs readable."""
    if isinstance(v, (dict, list)) and v and (not indent or any(
            isinstance(x, (dict, list)) for x in (v.values() if isinstance(v, dict) else v))):
        inner = indent + "  "
        if isinstance(v, dict):
            items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(x, inner)}"
                     for k, x in v.items()]
            return "{\n" + ",\n".join(items) + "\n" + indent + "}"
        return "[\n" + ",\n".join(inner + dumps(x, inner) for x in v) + "\n" + indent + "]"
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def normalize(inv, stdout, subs):
    if inv.kind == "json":
        try:
            doc = json.loads(stdout)
        except ValueError as e:
            return f"<not JSON: {e}>\n" + sub_paths(stdout, subs)
        return dumps(norm_json(doc, subs, inv.volatile)) + "\n"
    if inv.kind == "csv":
        return norm_csv(stdout, subs)
    if inv.kind == "xml":
        return norm_xml(stdout, subs)
    return sub_paths(stdout, subs)


# ---------------------------------------------------------------- running

def environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAKEMETER")}
    env.update(LC_ALL="C", LANG="C", TZ="UTC")
    env.pop("FM_CROSS_DIR", None)
    return env


def run_all():
    """{file name: normalized text}, INDEX.json included; and setup failures."""
    files, index, errors = {}, [], []
    env = environment()
    for scenario, steps in SCENARIOS:
        with tempfile.TemporaryDirectory(prefix=f"fm-golden-{scenario}-") as tmp:
            subs = path_subs(tmp)
            for step in steps:
                if isinstance(step, Setup):
                    if callable(step.what):
                        step.what(tmp)
                        continue
                    p = subprocess.run([FM, *step.what], cwd=tmp, env=env, capture_output=True,
                                       text=True, timeout=120)
                    if p.returncode != 0:
                        errors.append(f"{scenario}: setup {step.what}: exit {p.returncode}: "
                                      f"{p.stderr.strip()}")
                    continue
                p = subprocess.run([FM, *step.argv], cwd=tmp, env=env, capture_output=True,
                                   text=True, timeout=120)
                files[f"{step.name}.{step.kind}"] = normalize(step, p.stdout, subs)
                index.append({"name": step.name, "scenario": scenario,
                              "argv": ["flakemeter"] + [sub_paths(a, subs) for a in step.argv],
                              "exit": p.returncode})
    files["INDEX.json"] = dumps(index) + "\n"
    return files, errors


def main():
    t0 = time.monotonic()
    names = [s.name for _, steps in SCENARIOS for s in steps if isinstance(s, Inv)]
    assert len(names) == len(set(names)), "invocation names must be unique"
    files, errors = run_all()
    for e in errors:
        print("SETUP FAILED:", e)
    if RECORD:
        os.makedirs(GOLDEN, exist_ok=True)
        for old in os.listdir(GOLDEN):
            if old not in files:
                os.remove(os.path.join(GOLDEN, old))
        for name, text in files.items():
            with open(os.path.join(GOLDEN, name), "w", newline="") as f:
                f.write(text)
        print(f"recorded {len(files) - 1} invocations in {GOLDEN} "
              f"({time.monotonic() - t0:.1f} s)")
        return 1 if errors else 0
    mismatches = 0
    have = set(os.listdir(GOLDEN)) if os.path.isdir(GOLDEN) else set()
    for name in sorted(have | set(files)):
        path = os.path.join(GOLDEN, name)
        want = open(path, newline="").read() if name in have else ""
        got = files.get(name, "")
        if want == got:
            continue
        mismatches += 1
        if name not in files:
            print(f"MISMATCH {name}: golden file with no invocation")
        elif name not in have:
            print(f"MISMATCH {name}: no golden file (run with --record)")
        sys.stdout.writelines(difflib.unified_diff(
            want.splitlines(keepends=True), got.splitlines(keepends=True),
            fromfile=f"golden/{name}", tofile=f"now/{name}"))
        print()
    print(f"{len(files) - 1} invocations, {mismatches} mismatching files, "
          f"{len(errors)} setup failures ({time.monotonic() - t0:.1f} s)")
    return 1 if mismatches or errors else 0


if __name__ == "__main__":
    sys.exit(main())
