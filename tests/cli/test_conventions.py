#!/usr/bin/env python3
"""The Unix conventions of every flakemeter command (issue 13), walked command by command.

usage: test_conventions.py FLAKEMETER SOURCE_ROOT BUILD_ROOT [--record]
  exit statuses: 2 is bad input only (one line on stderr, nothing on stdout), 1 a failure of
  the work or the environment; "-" for standard input and output; files created with
  0666 & ~umask; "did you mean" for commands, options and workload names; one-line errors
  with control characters escaped, and escaped table cells; -V/--version and help [CMD];
  --plot checked before any run; check with nothing to compare; run --require-below; the
  short-flag table of docs/cli.md (--record rewrites it from the option tables); the man
  pages and bash completion installed by `meson install` (into a DESTDIR).
Standard library only.
"""
import collections
import os
import re
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

FM = os.path.abspath(sys.argv[1])
SRC = os.path.abspath(sys.argv[2])
BUILD = os.path.abspath(sys.argv[3])
RECORD = "--record" in sys.argv[4:]
FIXTURES = os.path.join(SRC, "tests", "history", "fixtures")
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run(*args, stdin=None, input=None, cwd=None, env=None, preexec=None, timeout=120):
    return subprocess.run([FM, *args], stdin=stdin, input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=cwd, env=env, preexec_fn=preexec,
                          timeout=timeout)


def text(b):
    return b.decode("utf-8", "replace")


def bad(args, want_rc=2, name=None, **kw):
    """A one-line error: the exit status, nothing on stdout, one line without raw controls."""
    r = run(*args, **kw)
    err = text(r.stderr)
    where = f"{args}: exit {r.returncode}, stderr {err!r}"
    check(r.returncode == want_rc, f"{where}: want exit {want_rc}")
    check(err.endswith("\n") and err.count("\n") == 1, f"{where}: not one line")
    check(not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", err), f"{where}: raw control character")
    if want_rc == 2:
        check(r.stdout == b"", f"{where}: stdout {r.stdout[:200]!r}")
    if name is not None:
        check(name in err, f"{where}: does not name {name!r}")
    return err


def all_commands():
    top = text(run("--help").stdout).split("commands:\n")[1].split("\n\n")[0]
    cmds = [line.split()[0] for line in top.splitlines()]
    benches = text(run("bench", "--help").stdout).split("benchmarks:\n")[1].split("\n\n")[0]
    return [c for c in cmds if c != "bench"] + ["bench " + l.split()[0] for l in benches.splitlines()]


def options_of(cmd):
    """(short or None, long, value name or None) of every option, from the option table."""
    r = run("_options", *cmd.split())
    check(r.returncode == 0, f"_options {cmd}: {r.returncode} {text(r.stderr)}")
    out = []
    for line in text(r.stdout).splitlines():
        s, l, a = line.split("\t")
        out.append((None if s == "-" else s, l, None if a == "-" else a))
    return out


# ---- -V, --version, help, did you mean ------------------------------------------------------

def test_version_help(cmds):
    for v in ("-V", "--version"):
        r = run(v)
        check(r.returncode == 0 and re.fullmatch(rb"flakemeter \S+\n", r.stdout), f"{v}: {r}")
    r = run("help")
    check(r.returncode == 0 and b"commands:" in r.stdout, "help alone lists the commands")
    for cmd in cmds:
        r = run("help", *cmd.split())
        check(r.returncode == 0 and text(r.stdout).startswith("usage: flakemeter " + cmd),
              f"help {cmd}")
    err = bad(["rn"], name="'run'")
    check("did you mean" in err, f"rn: {err!r}")
    bad(["help", "rn"], name="'run'")
    bad(["frobnicate"], name="frobnicate")


def test_did_you_mean(cmds):
    bad(["run", "--timout", "5", "bernoulli"], name="did you mean '--timeout'")
    bad(["run", "-n", "3", "bernouli"], name="did you mean 'bernoulli'")
    bad(["sweep", "-n", "3", "--vary", "p=0.1,0.2", "bernouli"], name="did you mean 'bernoulli'")
    bad(["list", "bernouli"], name="did you mean 'bernoulli'")
    err = bad(["run", "-n", "3", "xyzzy"], name="xyzzy")
    check("did you mean" not in err, f"nothing near xyzzy: {err!r}")
    for cmd in cmds:
        longs = [l for s, l, a in options_of(cmd) if len(l) >= 5 and l != "help"]
        for l in longs[:3]:
            typo = l[:2] + l[3:]  # one letter dropped
            err = bad([*cmd.split(), "--" + typo], name=f"'--{l}'")
            check("did you mean" in err, f"{cmd} --{typo}: {err!r}")


# ---- one-line errors, escaped ----------------------------------------------------------------

def test_one_line_errors(cmds):
    for cmd in cmds:
        err = bad([*cmd.split(), "--bo\ngus\x1b[31m"])
        check("\\n" in err and "\\x1b" in err, f"{cmd}: escapes shown: {err!r}")
    err = bad(["interval", "-k", "1\n\x1b[2J", "-n", "3"], name="--failures")
    check("1\\n\\x1b[2J" in err, f"value escaped: {err!r}")


def test_tables_escaped(tmp):
    db = os.path.join(tmp, "esc.db")
    label = "a\nb\x1b[31mred"
    r = run("run", "-q", "-n", "2", "-j", "1", "--db", db, "--label", label, "bernoulli")
    check(r.returncode == 0, f"run with an odd label: {text(r.stderr)}")
    out = text(r.stdout)  # the verdict's header line
    check(out.startswith("a\\nb\\x1b[31mred: ") and "\x1b" not in out and
          "show --failures --db " in out and "$'a\\x0ab\\x1b[31mred'" in out, f"verdict: {out!r}")
    out = text(run("show", "--list", "--db", db).stdout)
    check("a\\nb\\x1b[31mred" in out and "\x1b" not in out, f"show --list: {out!r}")
    xml = ('<testsuite name="s"><testcase classname="t" name="x&#10;y&#9;z" time="1"/>'
           '</testsuite>')
    hdb = os.path.join(tmp, "esc-h.db")
    r = run("ingest", "--db", hdb, "--label", "s\x1bu", "-", input=xml.encode())
    check(r.returncode == 0, f"ingest -: {text(r.stderr)}")
    out = text(run("tests", "--db", hdb).stdout)
    check("x\\ny\\tz" in out and "s\\x1bu" in out and "\x1b" not in out,
          f"tests table: {out!r}")


# ---- exit statuses ---------------------------------------------------------------------------

def test_exit_statuses(cmds, tmp):
    for cmd in cmds:
        bad([*cmd.split(), "--bogus"], name="--bogus")
    bad(["run", "-n", "2", "--", ""], name="empty")
    bad(["run", "-n", "2", "--label", "", "bernoulli"], name="--label")
    bad(["sweep", "-n", "2", "--label", "", "--vary", "p=0.1,0.2", "bernoulli"], name="--label")
    bad(["run", "-n", "2", "--shard", "1/-1", "bernoulli"], name="--shard")
    bad(["run", "-n", "2", "--db", os.path.join(tmp, "x.db"), "--", "/nonexistent/cmd"])
    # A file-descriptor limit is this machine's, not bad input.
    lim = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (7, 7))
    err = bad(["run", "-q", "-n", "4", "-j", "4", "--db", os.path.join(tmp, "fd.db"), "--",
               "true"], want_rc=1, preexec=lim)
    # Stores: missing or not a store is bad input (2); a damaged store is 1, at open or later.
    good = os.path.join(tmp, "good.db")
    check(run("run", "-q", "-n", "20", "-j", "1", "--db", good, "bernoulli").returncode == 0,
          "made a store")
    junk = os.path.join(tmp, "junk.db")
    open(junk, "wb").write(os.urandom(300))
    corrupt = os.path.join(tmp, "corrupt.db")
    shutil.copy(good, corrupt)
    with open(corrupt, "r+b") as f:
        f.seek(4096)
        f.write(b"\x07" * 4096)
    damaged = os.path.join(tmp, "damaged.db")
    shutil.copy(good, damaged)
    con = sqlite3.connect(damaged)
    con.execute("DROP TABLE runs")
    con.commit()
    con.close()
    for cmd in (["show"], ["export"], ["tests"], ["check", "--baseline", "1"],
                ["budget", "--target", "0.01"]):
        bad([*cmd, "--db", os.path.join(tmp, "none.db")], 2, name="none.db")
        bad([*cmd, "--db", junk], 2, name="junk.db")
        bad([*cmd, "--db", "-"], 2, name="--db")
        bad([*cmd, "--db", damaged], 1, name="damaged.db")
    for cmd in (["show"], ["export"]):
        bad([*cmd, "--db", corrupt], 1)
    # An unknown suite is bad input for every history command.
    hdb = os.path.join(tmp, "h.db")
    run("ingest", "--db", hdb, os.path.join(FIXTURES))
    for cmd in (["tests"], ["budget", "--target", "0.01"], ["check", "--baseline", "1"]):
        bad([*cmd, "--db", hdb, "--label", "nosuch"], 2, name="nosuch")


# ---- "-" and umask ---------------------------------------------------------------------------

def test_stdio_and_umask(tmp):
    db = os.path.join(tmp, "io.db")
    run("run", "-q", "-n", "5", "-j", "1", "--seed", "1", "--db", db, "bernoulli", "p=0.5")
    plain = run("export", "--db", db, "-f", "csv")
    dash = run("export", "--db", db, "-f", "csv", "-o", "-", cwd=tmp)
    check(dash.returncode == 0 and dash.stdout == plain.stdout and plain.stdout,
          "export -o - is standard output")
    check(not os.path.exists(os.path.join(tmp, "-")), "export -o - made a file named '-'")
    for mask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        out = os.path.join(tmp, f"e{mask:o}.json")
        r = subprocess.run([FM, "export", "--db", db, "-o", out], capture_output=True,
                           preexec_fn=lambda m=mask: os.umask(m))
        got = stat.S_IMODE(os.stat(out).st_mode) if os.path.exists(out) else None
        check(r.returncode == 0 and got == mode, f"umask {mask:o}: mode {got and oct(got)}, "
              f"want {oct(mode)}")
    bad(["export", "--db", db, "-o", os.path.join(tmp, "nodir", "x.json")], 2, name="-o")
    # ingest - : a report on standard input, ingested once
    fixture = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".xml"))[0]
    hdb = os.path.join(tmp, "stdin.db")
    with open(os.path.join(FIXTURES, fixture), "rb") as f:
        r = run("ingest", "--db", hdb, "--json", "-", stdin=f)
    check(r.returncode == 0 and b'"added": 1' in r.stdout, f"ingest -: {r.stdout!r} {r.stderr!r}")
    with open(os.path.join(FIXTURES, fixture), "rb") as f:
        r = run("ingest", "--db", hdb, "--json", "-", stdin=f)
    check(r.returncode == 0 and b'"duplicates": 1' in r.stdout, "ingest - again: a duplicate")
    bad(["ingest", "--db", hdb, "-", "-"], 2, input=b"", name="'-'")
    bad(["merge", "-o", "-", db], 2, name="'-'")
    bad(["sweep", "-n", "2", "--vary", "p=0.1,0.2", "--plot", "-", "bernoulli"], 2,
        name="--plot")


# ---- --plot before any run -------------------------------------------------------------------

def test_plot_checked_first(tmp):
    db = os.path.join(tmp, "plot.db")
    t = time.monotonic()
    bad(["sweep", "-n", "100000", "-j", "1", "--db", db, "--vary", "p=0.1,0.2", "--plot",
         os.path.join(tmp, "out.pdf"), "bernoulli"], 2, name="out.pdf")
    bad(["sweep", "-n", "100000", "-j", "1", "--db", db, "--vary", "p=0.1,0.2", "--plot",
         os.path.join(tmp, "nodir", "out.png"), "bernoulli"], 2, name="nodir")
    env = dict(os.environ, PATH="/nonexistent")
    bad([ "sweep", "-n", "100000", "-j", "1", "--db", db, "--vary", "p=0.1,0.2", "--plot",
         os.path.join(tmp, "out.png"), "bernoulli"], 1, name="gnuplot", env=env)
    bad(["bench", "emu", "--plot", os.path.join(tmp, "x.pdf")], 2, name="x.pdf")
    check(time.monotonic() - t < 10 and not os.path.exists(db), "nothing ran before the check")


# ---- check: nothing to compare, tests not judged yet -----------------------------------------

def history_24(tmp):
    """24 CI runs: t::a fails in the last 3, t::b never."""
    d = os.path.join(tmp, "h24")
    os.makedirs(d, exist_ok=True)
    for i in range(1, 25):
        fail = '<failure message="x"/>' if i >= 22 else ""
        with open(os.path.join(d, f"r{i:02}.xml"), "w") as f:
            f.write(f'<testsuite name="s" timestamp="2024-03-{i:02}T00:00:00">'
                    f'<testcase classname="t" name="a" time="0.1">{fail}</testcase>'
                    f'<testcase classname="t" name="b" time="0.1"/></testsuite>')
    db = os.path.join(tmp, "h24.db")
    check(run("ingest", "--db", db, d).returncode == 0, "ingest 24 runs")
    return db


def test_check(tmp):
    db = history_24(tmp)
    bad(["check", "--db", db, "--baseline", "100"], 2, name="--baseline 100")
    bad(["check", "--db", db, "--baseline", "2030-01-01"], 2, name="--baseline")
    bad(["check", "--db", db, "--baseline", "2000-01-01"], 2, name="--baseline")
    r = run("check", "--db", db, "--baseline", "23")
    out = text(r.stdout)
    check(r.returncode == 0 and "not judged yet" in out and "t::a" in out,
          f"a test that cannot be flagged yet gets a line: {out!r}")
    r = run("check", "--db", db, "--baseline", "23", "--json")
    check(b'"not_judged"' in r.stdout and b"too few runs" in r.stdout, f"JSON: {r.stdout!r}")
    r = run("check", "--db", db, "--baseline", "20")
    check(r.returncode == 1 and "ROSE" in text(r.stdout), f"a regression still exits 1: {r}")


# ---- run --require-below ---------------------------------------------------------------------

def test_require_below(tmp):
    db = os.path.join(tmp, "rb.db")
    r = run("run", "-q", "-n", "3000", "--db", db, "--require-below", "0.001", "--", "true")
    check(r.returncode == 0 and b"shown fixed" in r.stdout, f"3000 clean runs: {r}")
    db = os.path.join(tmp, "rb2.db")
    r = run("run", "-q", "-n", "100", "--db", db, "--require-below", "0.001", "--", "true")
    check(r.returncode == 1 and b"NOT shown fixed" in r.stdout and b"2995" in r.stdout,
          f"100 clean runs: {r}")
    bad(["run", "--require-below", "1", "bernoulli"], 2, name="--require-below")


# ---- percentages -----------------------------------------------------------------------------

def test_percentages(tmp):
    out = text(run("interval", "-k", "1", "-n", "40000").stdout)
    check("0.0025%" in out and not re.search(r"\d(e-\d+)?(?![\d%e.-])", out.split(":")[1]),
          f"interval: {out!r}")
    out = text(run("run", "-q", "-n", "3", "--db", os.path.join(tmp, "pc.db"), "bernoulli").stdout)
    check("at most 0.0001% of the time" in out, f"verdict target: {out!r}")


# ---- short flags: one meaning each, and the table in docs/cli.md ------------------------------

# A long name that stands for two different options: `show --failures` (a flag: print the
# evidence of failed runs) has no short form, because -k is the count K of `interval`, `retries`
# and `plan --failures K`.  The short flag still has one meaning.  Likewise the run condition
# `run/sweep --output pipe|file|null` (where the runs' output goes) has no -o, which is the file
# `export` and `merge` write.
SHORTLESS_NAMESAKES = {"failures", "output"}


def short_flag_table(cmds):
    by_short = collections.defaultdict(lambda: collections.defaultdict(list))
    by_long = collections.defaultdict(set)
    for cmd in cmds:
        for s, l, a in options_of(cmd):
            by_long[l].add(s)
            if s is not None:
                by_short[s][l].append(cmd)
    for s, longs in by_short.items():
        check(len(longs) == 1, f"-{s} means {sorted(longs)}")
    for l, shorts in by_long.items():
        if l in SHORTLESS_NAMESAKES:
            shorts = shorts - {None}
        check(len(shorts) == 1, f"--{l} has short forms {sorted(map(str, shorts))} "
              "(a long option with a short form has it in every command)")
    lines = ["| short | long | commands |", "|---|---|---|"]
    for s in sorted(by_short, key=lambda c: (c.lower(), c)):
        for l, where in sorted(by_short[s].items()):
            lines.append(f"| `-{s}` | `--{l}` | {', '.join(where)} |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- short flags: generated by tests/cli/test_conventions.py --record -->\n"
END = "<!-- end of short flags -->\n"


def test_short_flags(cmds):
    table = short_flag_table(cmds)
    path = os.path.join(SRC, "docs", "cli.md")
    doc = open(path).read()
    check(BEGIN in doc and END in doc, "docs/cli.md has the short-flag markers")
    if BEGIN not in doc or END not in doc:
        return
    head, rest = doc.split(BEGIN)
    body, tail = rest.split(END)
    if RECORD:
        open(path, "w").write(head + BEGIN + table + END + tail)
    else:
        check(body == table, "docs/cli.md's short-flag table is not the option tables' "
              f"(re-record with --record):\n{table}")


# ---- man pages and completion, installed -----------------------------------------------------

def test_install(cmds, tmp):
    meson = shutil.which("meson")
    if meson is None:
        print("  (meson not on PATH: install not checked)")
        return
    dest = os.path.join(tmp, "dest")
    r = subprocess.run([meson, "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                        "--quiet"], capture_output=True, text=True)
    check(r.returncode == 0, f"meson install: {r.stdout} {r.stderr}")
    found, comp = {}, []
    for root, _, files in os.walk(dest):
        for f in files:
            found[f] = os.path.join(root, f)
            if f == "flakemeter" and "bash-completion" in root:
                comp.append(os.path.join(root, f))
    pages = ["flakemeter.1"] + ["flakemeter-" + c.replace(" ", "-") + ".1" for c in cmds]
    for p in pages:
        check(p in found and os.sep + "man1" + os.sep in found[p], f"man page {p} installed")
    check(len(comp) == 1, f"bash completion installed: {comp}")
    if comp:
        check(subprocess.run(["bash", "-n", comp[0]]).returncode == 0, "completion: bash -n")
        script = open(comp[0]).read()
        for cmd in cmds:
            for s, l, a in options_of(cmd):
                check(f"--{l}" in script, f"completion lacks {cmd} --{l}")
    groff = shutil.which("groff")
    for p in pages:
        if p not in found:
            continue
        page = open(found[p]).read()
        check(page.startswith(".\\\"") and ".TH " in page and ".SH NAME" in page and
              ".SH OPTIONS" in page or p == "flakemeter.1", f"{p}: man(7) structure")
        if p != "flakemeter.1":
            cmd = p[len("flakemeter-"):-2].replace("-", " ", 1 if p.startswith("flakemeter-bench") else 0)
            for s, l, a in options_of(cmd):
                check("\\-\\-" + l.replace("-", "\\-") in page, f"{p}: --{l} missing")
        if groff:
            g = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", found[p]],
                               capture_output=True, text=True)
            check(g.returncode == 0 and g.stderr == "", f"groff {p}: {g.stderr!r}")
    if not groff:
        print("  (groff missing: man pages checked for structure only)")


def main():
    cmds = all_commands()
    check(len(cmds) >= 14 and "bench emu" in cmds, f"commands: {cmds}")
    with tempfile.TemporaryDirectory() as tmp:
        test_version_help(cmds)
        test_did_you_mean(cmds)
        test_one_line_errors(cmds)
        test_tables_escaped(tmp)
        test_exit_statuses(cmds, tmp)
        test_stdio_and_umask(tmp)
        test_plot_checked_first(tmp)
        test_check(tmp)
        test_require_below(tmp)
        test_percentages(tmp)
        test_short_flags(cmds)
        test_install(cmds, tmp)
    print(f"test_conventions: {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
