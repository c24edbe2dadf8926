#!/usr/bin/env python3
"""The flakemeter command-line contract: JSON keys and values, exit statuses, error lines.

usage: test_cli.py FLAKEMETER REFERENCE_DIR
Other tools depend on these names (issue 2's contract).  Reference values are read from the
tables in tests/reference/ (R and statsmodels), not typed in here.  Standard library only.
"""
import csv
import json
import os
import re
import subprocess
import sys

FM = sys.argv[1]
REF = sys.argv[2]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args, stdout=subprocess.PIPE):
    return subprocess.run([FM, *args], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          timeout=60)


def run_json(*args):
    r = run(*args, "--json")
    check(r.returncode == 0, f"{args}: exit {r.returncode}, stderr {r.stderr!r}")
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        check(False, f"{args}: not JSON ({e}): {r.stdout!r}")
        return {}


def close(a, b, rel=1e-9):
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


def test_interval():
    keys = {"failures", "runs", "confidence", "method", "sided", "estimate", "lower", "upper"}
    rows = list(csv.DictReader(open(os.path.join(REF, "intervals_r.csv"))))
    rows += list(csv.DictReader(open(os.path.join(REF, "intervals_py.csv"))))
    picked = [r for r in rows if r["k"] in ("0", "3", "17", "100") and r["confidence"] in (
        "0.94999999999999996", "0.95", "0.99")]
    check(len(picked) >= 20, f"reference rows picked: {len(picked)}")
    for r in picked:
        o = run_json("interval", "--failures", r["k"], "--runs", r["n"], "--confidence",
                     r["confidence"], "--method", r["method"], "--sided", r["sided"])
        check(set(o) == keys, f"interval keys {sorted(o)}")
        check(o.get("method") == r["method"] and o.get("sided") == r["sided"],
              f"echoes method/sided: {o}")
        check(o.get("failures") == int(r["k"]) and o.get("runs") == int(float(r["n"])),
              f"echoes counts: {o}")
        floor = 1e-15 if r["method"] in ("wilson", "agresti-coull", "wald") else 0
        for key in ("lower", "upper"):
            want = float(r[key])
            check(abs(o.get(key, -1) - want) <= 1e-9 * abs(want) + floor,
                  f"{r['method']} {r['sided']} k={r['k']} n={r['n']}: {key} {o.get(key)} vs "
                  f"{r['source']} {want}")
    o = run_json("interval", "-k", "3", "-n", "50")
    check(o.get("method") == "exact" and o.get("sided") == "two" and o.get("confidence") == 0.95,
          f"defaults: {o}")
    check(close(o.get("estimate", 0), 0.06), f"estimate {o}")
    o = run_json("interval", "-k", "3", "-n", "50", "--sided", "upper")
    check(o.get("lower") == 0, f"one-sided lower is 0: {o}")
    text = run("interval", "--failures", "3", "--runs", "50").stdout
    check("3 failures in 50 runs: failure probability 6.00% (95% exact CI 1.25% to 16.5%)"
          in text, f"interval text: {text!r}")
    o = run_json("interval", "-k", "0", "-n", "1e12")
    check(o.get("runs") == 10**12 and 3.6e-12 < o.get("upper", 0) < 3.7e-12, f"n = 1e12: {o}")


def test_retries_known_p():
    keys = {"p", "target", "attempts", "retries", "residual", "reachable"}
    cases = [("0.1", "1e-6", 6), ("0.5", "0.25", 2), ("0", "1e-9", 1), ("0.3", "1e-6", 12)]
    for p, t, want in cases:
        o = run_json("retries", "--p", p, "--target", t)
        check(keys <= set(o), f"retries keys {sorted(o)}")
        check(o.get("attempts") == want and o.get("retries") == want - 1 and o.get("reachable"),
              f"p={p} t={t}: want {want} attempts, got {o}")
        check(o.get("residual", 1) <= float(t) * (1 + 1e-12), f"residual {o}")
    o = run_json("retries", "--p", "0.3", "--after-failure", "1", "--target", "1e-6")
    check(o.get("reachable") is False and o.get("attempts") is None and o.get("retries") is None,
          f"q = 1 unreachable: {o}")
    o = run_json("retries", "--p", "1", "--target", "1e-6")
    check(o.get("reachable") is False and o.get("attempts") is None, f"p = 1 unreachable: {o}")
    o = run_json("retries", "--p", "0.1", "--after-failure", "0.5", "--target", "1e-6")
    # 0.1 * 0.5^(A-1) <= 1e-6  ->  A - 1 >= log2(1e5) = 16.6  ->  A = 18
    check(o.get("attempts") == 18 and o.get("after_failure") == 0.5, f"correlated: {o}")
    o = run_json("retries", "--p", "0.1", "--target", "1e-6", "--pass-seconds", "2",
                 "--fail-seconds", "30", "--attempts", "3")
    # E[attempts] = 1 + 0.1 + ... + 0.1^5; E[s] = 2 E[att] + 28 (E[att] - 1 + 0.1^6)
    e_att = sum(0.1 ** i for i in range(6))
    check(close(o.get("expected_attempts", 0), e_att, 1e-12), f"expected attempts {o}")
    check(close(o.get("expected_seconds", 0), 2 * e_att + 28 * (e_att - 1 + 1e-6), 1e-12),
          f"expected seconds {o}")
    pol = o.get("policy", {})
    check(pol.get("attempts") == 3 and pol.get("meets_target") is False and
          close(pol.get("residual", 0), 1e-3, 1e-12), f"policy of 3: {pol}")
    text = run("retries", "--p", "0.3", "--after-failure", "1", "--target", "1e-6").stdout
    check("unreachable" in text, f"unreachable said plainly: {text!r}")


def test_retries_counts():
    o = run_json("retries", "--failures", "3", "--runs", "50", "--target", "1e-6")
    check({"failures", "runs", "target", "confidence", "point", "conservative", "bayes"} <= set(o),
          f"keys {sorted(o)}")
    for name in ("point", "conservative", "bayes"):
        a = o.get(name, {})
        check({"p", "attempts", "retries", "residual", "reachable"} <= set(a),
              f"{name} keys {sorted(a)}")
    check(o["point"]["attempts"] == 5 and close(o["point"]["p"], 0.06),
          f"point: 0.06^5 = 7.8e-7 <= 1e-6 < 0.06^4: {o['point']}")
    check(o["conservative"]["attempts"] >= o["point"]["attempts"], "conservative >= point")
    # conservative p is the one-sided exact bound at 95%: R qbeta(0.95, 4, 47)
    rows = [r for r in csv.DictReader(open(os.path.join(REF, "intervals_r.csv")))
            if r["method"] == "exact" and r["sided"] == "upper" and r["k"] == "3"
            and r["n"] == "50" and r["confidence"] == "0.94999999999999996"]
    check(len(rows) == 1 and close(o["conservative"]["p"], float(rows[0]["upper"])),
          f"conservative p {o['conservative']['p']} vs R {rows and rows[0]['upper']}")
    check(close(o["bayes"]["p"], 3.5 / 51), f"posterior mean {o['bayes']}")
    u = run_json("retries", "-k", "3", "-n", "50", "-t", "1e-6", "--prior", "uniform")
    check(u.get("prior") == "uniform" and close(u["bayes"]["p"], 4 / 52), f"uniform prior {u}")
    o = run_json("retries", "-k", "5", "-n", "5", "-t", "1e-3")
    check(o["point"]["reachable"] is False and o["point"]["attempts"] is None,
          f"k = n: point unreachable: {o['point']}")


def test_plan():
    rows = list(csv.DictReader(open(os.path.join(REF, "plan_r.csv"))))
    for r in rows[::7]:
        o = run_json("plan", "--p0", r["p0"], "--failures", r["k"], "--confidence",
                     r["confidence"])
        check(set(o) == {"p0", "failures", "confidence", "runs"}, f"plan keys {sorted(o)}")
        check(o.get("runs") == int(r["runs"]), f"plan {r}: got {o}")
    o = run_json("plan", "--p0", "0.01")
    check(o.get("runs") == 299 and o.get("failures") == 0, f"rule of three: {o}")


BAD = [
    (["interval", "--failures", "x", "--runs", "10"], "--failures"),
    (["interval", "--failures", "11", "--runs", "10"], "--failures"),
    (["interval", "--failures", "-1", "--runs", "10"], "--failures"),
    (["interval", "--failures", "1.5", "--runs", "10"], "--failures"),
    (["interval", "--failures", "1", "--runs", "0"], "--runs"),
    (["interval", "-k", "1", "-n", "10", "--confidence", "1"], "--confidence"),
    (["interval", "-k", "1", "-n", "10", "--confidence", "0"], "--confidence"),
    (["interval", "-k", "1", "-n", "10", "--confidence", "nan"], "--confidence"),
    (["interval", "-k", "1", "-n", "10", "--method", "clopper"], "--method"),
    (["interval", "-k", "1", "-n", "10", "--sided", "lower"], "--sided"),
    (["interval", "-k", "1"], "--runs"),
    (["interval", "-k", "1", "-n", "10", "--bogus"], "--bogus"),
    (["interval", "-k", "1", "-n"], "-n"),
    (["retries", "--p", "1.5", "--target", "1e-6"], "--p"),
    (["retries", "--p", "-0.1", "--target", "1e-6"], "--p"),
    (["retries", "--p", "0.1", "--target", "0"], "--target"),
    (["retries", "--p", "0.1", "--target", "1"], "--target"),
    (["retries", "--p", "0.1"], "--target"),
    (["retries", "--p", "0.1", "--after-failure", "2", "--target", "1e-3"], "--after-failure"),
    (["retries", "-k", "3", "-n", "2", "--target", "1e-3"], "--failures"),
    (["retries", "-k", "1", "-n", "10", "-t", "1e-3", "--prior", "flat"], "--prior"),
    (["retries", "-p", "0.1", "-t", "1e-3", "--pass-seconds", "2"], "--fail-seconds"),
    (["retries", "-p", "0.1", "-k", "1", "-n", "2", "-t", "1e-3"], "--p"),
    (["plan", "--p0", "0"], "--p0"),
    (["plan", "--p0", "1"], "--p0"),
    (["plan", "--p0", "abc"], "--p0"),
    (["plan"], "--p0"),
    (["plan", "--p0", "0.1", "--confidence", "1.2"], "--confidence"),
    (["frobnicate"], "frobnicate"),
]


def test_bad_input():
    for args, names in BAD:
        r = run(*args)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2, f"{args}: exit {r.returncode}, want 2")
        check(len(lines) == 1 and names in lines[0],
              f"{args}: want one stderr line naming {names}, got {r.stderr!r}")
        check(r.stdout == "", f"{args}: nothing on stdout, got {r.stdout!r}")


def test_help_version_output_errors():
    for cmd in ("interval", "retries", "plan"):
        r = run(cmd, "--help")
        check(r.returncode == 0 and r.stdout.startswith("usage: flakemeter " + cmd),
              f"{cmd} --help")
        r = run("help", cmd)
        check(r.returncode == 0 and "usage:" in r.stdout, f"help {cmd}")
    r = run("--help")
    check(r.returncode == 0 and all(c in r.stdout for c in ("interval", "retries", "plan")),
          "top-level help lists commands")
    r = run("--version")
    check(r.returncode == 0 and r.stdout.startswith("flakemeter "), "--version")
    # A failed write fails the command (like git): stdout on a full device.
    with open("/dev/full", "w") as full:
        r = subprocess.run([FM, "interval", "-k", "1", "-n", "10", "--json"], stdout=full,
                           stderr=subprocess.PIPE, text=True)
    check(r.returncode == 1 and "cannot write" in r.stderr, f"/dev/full: {r.returncode}")


# --help of `plan`, whole: the usage line and description are written by hand, the option lines
# are generated from the option table (cli/cli_options.c).
PLAN_HELP = """\
usage: flakemeter plan --p0 P0 [--failures K] [--confidence C] [FLEET] [--json]
       flakemeter plan --p P --target T [--confidence C] [FLEET] [--json]
FLEET: --seconds-per-run S [--machines M] [--jobs J]

With --p0: the smallest number of runs N such that seeing at most K failures in N runs
shows, at confidence C, that the failure probability is below P0 (if it were P0, at most
K failures would happen with probability <= 1 - C).  K = 0 is the rule of three.
With --p: about how many runs `run --until-decided` needs to pin down the attempt count
for the target if the failure rate is P, with the fleet's M*J runs in flight (a shared
store: docs/scale.md).  With --seconds-per-run: how long that takes on M machines with J
runs at a time each (runs start in waves of M*J).

      --p0 P0         failure probability to rule out, in (0, 1)
  -k, --failures K    failures allowed in the N runs; default 0
  -p, --p P           the failure rate expected, for the runs --until-decided needs
  -t, --target T      all-fail probability the attempt count must reach (with --p)
  -c, --confidence C  confidence level in (0, 1); default 0.95
      --seconds-per-run S
                      how long one run takes, for the time on a fleet
      --machines M    machines of the fleet; default 1
  -j, --jobs J        runs at a time per machine; default 1
      --json          print a JSON object: the question's inputs, runs, and the fleet's
                      waves, wall_seconds, cpu_hours
  -h, --help          show this help
"""
OPTION_LINE = re.compile(r"^  (?:-\w, (--[\w-]+)|-\w|    (--[\w-]+))( [^ ]+)?(  +|$)")


def all_commands():
    """Every command (and bench's benchmarks), from the tool's own tables."""
    top = run("--help").stdout.split("commands:\n")[1].split("\n\n")[0]
    cmds = [line.split()[0] for line in top.splitlines()]
    benches = run("bench", "--help").stdout.split("benchmarks:\n")[1].split("\n\n")[0]
    return [c for c in cmds if c != "bench"] + [
        "bench " + line.split()[0] for line in benches.splitlines()]


def test_help_generated():
    r = run("plan", "--help")
    check(r.stdout == PLAN_HELP, f"plan --help:\n{r.stdout}")
    cmds = all_commands()
    check(len(cmds) >= 14 and "bench emu" in cmds, f"commands: {cmds}")
    for cmd in cmds:
        r = run(*cmd.split(), "--help")
        where = f"{cmd} --help"
        check(r.returncode == 0 and r.stdout.startswith("usage: flakemeter " + cmd), where)
        lines = r.stdout.splitlines()
        check(re.fullmatch(r"  -h, --help +show this help", lines[-1]) is not None,
              f"{where}: last line {lines[-1]!r}")
        # The option lines: after the description, up to -h/--help.
        start = next(i for i, l in enumerate(lines) if OPTION_LINE.match(l))
        usage = "\n".join(lines[:lines.index("")])  # the usage lines, before the description
        usage_opts = set(re.findall(r"--[\w-]+", usage))
        listed, columns = [], set()
        for i, l in enumerate(lines[start:], start):
            m = OPTION_LINE.match(l)
            if not m:
                continue
            listed.append(m.group(1) or m.group(2) or l.split()[0])
            # Help on the same line, or (a long option) on the next one.
            if m.end() < len(l):
                columns.add(m.end())
            else:
                nxt = lines[i + 1] if i + 1 < len(lines) else ""
                help_col = len(nxt) - len(nxt.lstrip(" "))
                check(nxt.strip() != "" and help_col > 6, f"{where}: {l!r} has no help")
                columns.add(help_col)
        check(len(columns) == 1, f"{where}: help starts in columns {sorted(columns)}")
        col = columns.pop() if columns else 0
        for l in lines[start:]:
            check(len(l) <= 92, f"{where}: line over 92 columns: {l!r}")
            check(l == "" or OPTION_LINE.match(l) or l.startswith(" " * col) or l[0] != " ",
                  f"{where}: continuation not at column {col}: {l!r}")
        # What the usage lines name is an option the table has (--help is always there).
        check(len(listed) == len(set(listed)), f"{where}: an option is listed twice")
        check(usage_opts <= set(listed) | {"--help"},
              f"{where}: usage names {sorted(usage_opts - set(listed))}, not in the options")


def main():
    test_interval()
    test_retries_known_p()
    test_retries_counts()
    test_plan()
    test_bad_input()
    test_help_version_output_errors()
    test_help_generated()
    print(f"test_cli: {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
