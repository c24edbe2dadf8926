#!/usr/bin/env python3
"""The Markdown form of `flakemeter report` (for $GITHUB_STEP_SUMMARY) through a CommonMark
parser with GFM tables: Debian's python3-markdown-it (markdown-it-py, CommonMark preset plus
its GFM table rule).

usage: test_report_markdown.py FLAKEMETER SOURCE_ROOT
For a campaign with a hostile label and hostile output, a sweep and a CI history with hostile
test names, the report FILE.md must parse and render: every table a GFM table whose rows all
have the header's number of cells (a stray | or newline in a name would change it), the number
of tables and rows expected, numbers equal to --json as shown, the pictures linked as
FILE-N.svg beside it, each a well-formed SVG (XML) with its axis labels; no raw HTML from
outside text reaches the rendered page (no <script>, <img>, <b> element: the only raw HTML is
the report's own <pre> excerpts), and each hostile name renders as its visible text.  With
-o - nothing but the Markdown is written.  Exits 77 without python3-markdown-it.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_fixtures as rf  # noqa: E402

FM, SRC = os.path.abspath(sys.argv[1]), sys.argv[2]
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


try:
    from markdown_it import MarkdownIt
except ImportError as e:
    print(f"SKIP: python3-markdown-it is not installed ({e})")
    sys.exit(77)


class Rendered(HTMLParser):
    """Tables (rows of cell texts), element names, text, picture sources of rendered HTML."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tables, self.tags, self.text, self.images = [], [], [], []
        self.cell = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def render(md_text):
    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(md_text)
    return md.renderer.render(tokens, md.options, {}), tokens


def check_page(name, path, n_tables, n_pictures, names):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    html, tokens = render(text)
    r = Rendered(html)
    check(len(r.tables) == n_tables, f"{name}: {len(r.tables)} tables rendered, expected {n_tables}")
    for t in r.tables:
        widths = {len(row) for row in t}
        check(len(widths) == 1, f"{name}: a table's rows have {sorted(widths)} cells")
    raw = [t.content for t in tokens if t.type in ("html_block", "html_inline")]
    check(all(c.startswith('<pre class="evidence">') for c in raw),
          f"{name}: raw HTML other than the excerpts: {[c[:40] for c in raw]}")
    bad = [t for t in r.tags if t in ("script", "img", "b", "iframe", "style")
           and not (t == "img" and r.images)]
    check(not bad, f"{name}: elements from outside text: {bad}")
    check(len(r.images) == n_pictures, f"{name}: {len(r.images)} pictures, expected {n_pictures}")
    base = os.path.splitext(os.path.basename(path))[0]
    for i, src in enumerate(r.images):
        check(src == f"{base}-{i + 1}.svg", f"{name}: picture {i + 1} is {src!r}")
        svg = os.path.join(os.path.dirname(path), src or "")
        try:
            root = ET.parse(svg).getroot()
            labels = {e.get("class"): "".join(e.itertext()) for e in root.iter()
                      if e.get("class") in ("x-label", "y-label")}
            check(root.tag.endswith("svg") and all(labels.get(k) for k in ("x-label", "y-label")),
                  f"{name}: {src} lacks its axis labels")
        except (ET.ParseError, OSError) as e:
            check(False, f"{name}: {src} is not well-formed SVG: {e}")
    body = "".join(r.text)
    for n in names:
        check(rf.visible(n) in body, f"{name}: {rf.visible(n)!r} not rendered as text")
    return r


def main():
    tmp = tempfile.mkdtemp(prefix="fm-report-md-")
    fx = rf.Fixtures(FM, tmp, SRC)
    cdb, shows = fx.campaign()
    sdb, sweep = fx.sweep()
    hdb, tests, budget = fx.history()
    # The campaign: verdict, retry, running, causes tables; 3 pictures.
    r = check_page("campaign", fx.report(cdb, fx.path("c.md"), rf.HOSTILE_LABEL), 4, 3,
                   [rf.HOSTILE_LABEL, rf.HOSTILE_OUTPUT])
    want = shows[rf.HOSTILE_LABEL]
    verdict = {row[0]: row[1] for row in r.tables[0][1:]}
    check(verdict.get("runs (first attempts)") == str(want["runs"]), f"campaign runs {verdict}")
    check(verdict.get("failure probability") == f"{want['estimate'] * 100:.4g}%",
          f"campaign estimate {verdict.get('failure probability')} vs {want['estimate']}")
    # The sweep: cells and homogeneity; 1 picture.
    r = check_page("sweep", fx.report(sdb, fx.path("s.md")), 2, 1, [])
    rows = {row[0]: row for row in r.tables[0][1:]}
    for c in sweep["conditions"]:
        row = rows.get(c["label"])
        check(row is not None and row[1] == str(c["runs"]) and row[2] == str(c["failures"]),
              f"sweep {c['label']}: {row}")
    # The CI history: tests, red windows, budget; 4 pictures.
    names = [rf.HOSTILE_CLASS + "::" + rf.HOSTILE_TESTS[0], "t.ok::" + rf.HOSTILE_TESTS[1]]
    r = check_page("history", fx.report(hdb, fx.path("h.md")), 3, 4, names)
    failed = [t for t in tests if t["failures"] > 0]
    check(len(r.tables[0]) - 1 == len(failed), f"history: {len(r.tables[0]) - 1} test rows")
    shown = {row[0]: row for row in r.tables[0][1:]}
    for t in failed:
        row = shown.get(rf.visible(t["test"]))
        check(row is not None and row[2] == str(t["runs"]) and row[3] == str(t["failures"]),
              f"history {t['test'][:20]!r}: {row}")
    # -o -: the Markdown on standard output, no picture file.
    before = set(os.listdir(tmp))
    p = subprocess.run([FM, "report", "--db", hdb, "-o", "-"], capture_output=True, text=True,
                       cwd=tmp)
    check(p.returncode == 0 and p.stdout.startswith("# flakemeter report"),
          f"-o -: exit {p.returncode} {p.stderr!r}")
    html, _ = render(p.stdout)
    check(len(Rendered(html).tables) == 3, "-o -: the tables")
    check(set(os.listdir(tmp)) == before, "-o -: files were written")
    print(f"{checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
