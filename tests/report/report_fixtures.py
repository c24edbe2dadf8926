"""Stores for the report tests, made with the real tool (shared by test_report_browser.py and
test_report_markdown.py): a campaign with a hostile label whose failing runs print hostile
output, a campaign run --until-decided, a sweep, an emulator benchmark (when QEMU and the
aarch64 cross build are here), and an ingested CI history whose test names are hostile.  Each
comes with the --json output of the command that answers for it, for the tables to be compared
against.  Seeded where the tool allows; the checks never depend on the random outcomes."""
import json
import os
import random
import shutil
import subprocess
from xml.sax.saxutils import quoteattr

# Quotes, markup that would run, a newline, ANSI, U+FFFE, Markdown table and code syntax.
HOSTILE_LABEL = ('evil <script>document.title="pwned"</script> "q" \'s\' \x1b[31mred\x1b[0m '
                 '| `tick` \ufffe\nline2 & <img src=x onerror="document.title=1">')
HOSTILE_OUTPUT = 'boom <script>document.title="pwned"</script> \x1b[31m`x`|y\x1b[0m'
HOSTILE_CLASS = 'evil<script>document.title="pwned"</script>'
HOSTILE_TESTS = ['test "quoted" | pipe `tick` *star* _u_',
                 '<b>bold</b> & <img src=x onerror="document.title=2">']
TITLE = "flakemeter report test"


def visible(text):
    """The text as the report shows it: control characters and noncharacters made visible."""
    out = []
    for ch in text:
        cp = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif (0x80 <= cp <= 0x9F or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE or
              cp in (0x2028, 0x2029) or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069):
            out.append(f"\\u{{{cp:04X}}}")
        else:
            out.append(ch)
    return "".join(out)


class Fixtures:
    def __init__(self, fm, tmp, source_root):
        self.fm, self.tmp, self.src = fm, tmp, source_root
        self.skipped = []

    def run(self, *args, check=True):
        p = subprocess.run([self.fm, *args], capture_output=True, text=True, timeout=600)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])}: exit {p.returncode}: {p.stderr.strip()}")
        return p

    def path(self, name):
        return os.path.join(self.tmp, name)

    def campaign(self):
        """c.db: the hostile campaign (a command failing about 1 in 4) and a decided one."""
        db = self.path("c.db")
        script = ('n=$(od -An -N1 -tu1 /dev/urandom); printf "%s\\n" "$1"; '
                  'if [ "$n" -lt 64 ]; then exit 3; fi')
        self.run("run", "-q", "-n", "160", "-j", "2", "--db", db, "--label", HOSTILE_LABEL,
                 "--", "sh", "-c", script, "sh", HOSTILE_OUTPUT)
        # -j 1: no run in flight when it decides, so it stops where the replay decides.
        self.run("run", "-q", "-j", "1", "--db", db, "--label", "decided", "--until-decided",
                 "--target", "1e-3", "--seed", "7", "bernoulli", "p=0.3")
        shows = {label: json.loads(self.run("show", "--json", "--db", db, "--target", "1e-3",
                                            label).stdout)
                 for label in (HOSTILE_LABEL, "decided")}
        return db, shows

    def sweep(self):
        db = self.path("s.db")
        out = json.loads(self.run("sweep", "--json", "--quiet", "--db", db, "-n", "60",
                                  "--seed", "3", "--vary", "p=0.05,0.2,0.4", "bernoulli").stdout)
        return db, out

    def bench(self):
        """b.db, or None (the reason in self.skipped) without qemu-aarch64 or the cross build."""
        cross = os.environ.get("FM_CROSS_DIR", self.src)
        exe = os.path.join(cross, "build-cross-aarch64", "workloads", "fm-stress")
        if shutil.which("qemu-aarch64") is None or not os.access(exe, os.X_OK):
            self.skipped.append("bench emu (no qemu-aarch64 or no build-cross-aarch64 in "
                                f"{cross}: tools/cross/build.sh aarch64)")
            return None, None
        db = self.path("b.db")
        out = json.loads(self.run("bench", "emu", "--json", "--quiet", "--db", db, "--cross-dir",
                                  cross, "--arch", "aarch64", "--workload",
                                  "gc_race,stress_recurse", "-n", "3").stdout)
        return db, out

    def history(self):
        """h.db: 40 CI runs of suite "ci": a stable test, a flaky one retried, one broken from
        run 30, and the two hostile names (one flaky, one failed once)."""
        db = self.path("h.db")
        rng = random.Random(20261126)
        d = self.path("junit")
        os.makedirs(d, exist_ok=True)
        for i in range(40):
            day = f"2026-01-{1 + i // 2:02d}T{(i % 2) * 12:02d}:00:00"
            cases = [f'<testcase classname="t.core" name="test_stable" time="1.0"/>']
            if rng.random() < 0.25:
                cases.append('<testcase classname="t.thread" name="test_flaky" time="2.0">'
                             '<flakyFailure message="crash"/></testcase>')
            else:
                cases.append('<testcase classname="t.thread" name="test_flaky" time="2.0"/>')
            broken = '<failure message="assert"/>' if i >= 30 else ""
            cases.append(f'<testcase classname="t.net" name="test_broken" time="0.5">{broken}'
                         '</testcase>')
            bad = '<failure message="x"/>' if rng.random() < 0.3 else ""
            cases.append(f'<testcase classname={quoteattr(HOSTILE_CLASS)} '
                         f'name={quoteattr(HOSTILE_TESTS[0])} time="0.3">{bad}</testcase>')
            once = '<failure message="once"/>' if i == 5 else ""
            cases.append(f'<testcase classname="t.ok" name={quoteattr(HOSTILE_TESTS[1])} '
                         f'time="0.1">{once}</testcase>')
            xml = ('<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="s" '
                   f'timestamp="{day}"><properties><property name="ci_run" value="run-{i}"/>'
                   '</properties>' + "".join(cases) + "</testsuite></testsuites>\n")
            with open(os.path.join(d, f"run{i:03d}.xml"), "w") as f:
                f.write(xml)
        self.run("ingest", "--db", db, "--label", "ci", d)
        tests = json.loads(self.run("tests", "--json", "--db", db).stdout)
        budget = json.loads(self.run("budget", "--json", "--db", db, "--target", "1e-3").stdout)
        return db, tests, budget

    def report(self, db, out, *labels, fmt=None, target="1e-3"):
        args = ["report", "--db", db, "--title", TITLE, "--target", target, "-o", out]
        if fmt:
            args += ["--format", fmt]
        self.run(*args, *labels)
        return out
