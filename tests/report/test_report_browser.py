#!/usr/bin/env python3
"""`flakemeter report` in a real browser: Debian's chromium, headless, driven by
python3-selenium through chromium-driver, one browser session for every page.

usage: test_report_browser.py FLAKEMETER SOURCE_ROOT [SCREENSHOT.png]
Reports of a campaign (two: a hostile label whose failing runs print hostile output, and one run
--until-decided), a sweep, an emulator benchmark (skipped, saying so, without QEMU and the
aarch64 cross build) and a CI history with hostile test names are loaded; each must:
  - log no console error and make no network request (the Network events of the performance
    log: only the page's own file:// URL);
  - look non-blank in a screenshot (the PNG decoded with zlib: many distinct bytes, not white);
  - hold the expected number of SVG pictures, each with a non-empty x-label and y-label;
  - show in its tables the numbers of the commands' --json (data-value exactly, and the text
    shown as the report rounds it);
  - show every hostile name as text (visible escapes for control characters), create no element
    from it (no <script>, <img>, <b> in the DOM) and run nothing (the title stays).
A report of the decided campaign alone is checked too (3 pictures, its verdict); with
SCREENSHOT (or FM_REPORT_SCREENSHOT) its screenshot is kept there: docs/report-screenshot.png
is made so.
Needs /usr/bin/python3 with Debian's python3-selenium; exits 77 naming what is missing only when
the browser cannot start.
"""
import json
import math
import os
import struct
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_fixtures as rf  # noqa: E402

FM, SRC = os.path.abspath(sys.argv[1]), sys.argv[2]
SHOT = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("FM_REPORT_SCREENSHOT")
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def start_browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        print(f"SKIP: python3-selenium is not installed ({e}); apt-get install "
              "python3-selenium chromium chromium-driver")
        sys.exit(77)
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1000,1500", "--hide-scrollbars", "--no-first-run",
              "--disable-extensions", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-default-apps"):
        opts.add_argument(a)
    if os.path.exists("/usr/bin/chromium"):
        opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        service = Service("/usr/bin/chromedriver") if os.path.exists("/usr/bin/chromedriver") \
            else Service()
        return webdriver.Chrome(service=service, options=opts)
    except Exception as e:  # the browser or its driver cannot start here
        print(f"SKIP: chromium cannot start headless ({str(e).splitlines()[0]}); apt-get "
              "install chromium chromium-driver")
        sys.exit(77)


def png_nonblank(png):
    """Decode the PNG's pixel bytes (zlib) and judge: enough non-white and varied content."""
    pos, idat = 8, b""
    width = height = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    nonwhite = sum(1 for b in raw[::7] if b < 0xF0) / max(1, len(raw[::7]))
    return width > 0 and height > 0 and len(set(raw)) > 40 and nonwhite > 0.01


def fmt_prob(p):
    return "-" if p is None else f"{p * 100:.4g}%"


JS_TABLES = """
const out = {};
for (const t of document.querySelectorAll('table[data-table]')) {
  const rows = [];
  for (const tr of t.querySelectorAll('tbody tr')) {
    const r = {names: [], nums: {}};
    for (const td of tr.querySelectorAll('td')) {
      if (td.dataset.key) r.nums[td.dataset.key] = [td.dataset.value, td.textContent];
      else r.names.push(td.textContent);
    }
    rows.push(r);
  }
  (out[t.dataset.table] = out[t.dataset.table] || []).push(rows);
}
return out;
"""

JS_SVGS = """
return Array.from(document.querySelectorAll('svg.fm-chart')).map(s => [
  (s.querySelector('.x-label') || {}).textContent || '',
  (s.querySelector('.y-label') || {}).textContent || '',
  s.getBoundingClientRect().width]);
"""


def close(value, shown):
    """data-value (text) against a --json number: equal to the last bit."""
    if value is None:
        return shown == "null"
    return shown != "null" and float(shown) == float(value)


class Page:
    def __init__(self, driver, path, name):
        self.name = name
        driver.get_log("performance")  # drop what came before
        driver.get_log("browser")
        url = "file://" + os.path.abspath(path)
        driver.get(url)
        logs = driver.get_log("browser")
        errors = [e for e in logs if e.get("level") in ("SEVERE", "ERROR")]
        check(not errors, f"{name}: console errors {errors}")
        requests = []
        for e in driver.get_log("performance"):
            msg = json.loads(e["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                requests.append(msg["params"]["request"]["url"])
        check(all(r == url for r in requests) and len(requests) <= 1,
              f"{name}: network requests besides the page: {requests}")
        self.title = driver.title
        check(self.title == rf.TITLE, f"{name}: title {self.title!r} (a script ran?)")
        self.png = driver.get_screenshot_as_png()
        check(png_nonblank(self.png), f"{name}: the screenshot looks blank")
        self.svgs = driver.execute_script(JS_SVGS)
        for i, (x, y, w) in enumerate(self.svgs):
            check(x.strip() and y.strip(), f"{name}: picture {i + 1} lacks an axis label ({x!r}, {y!r})")
            check(w > 100, f"{name}: picture {i + 1} is {w} px wide")
        self.tables = driver.execute_script(JS_TABLES)
        self.text = driver.execute_script("return document.body.textContent")
        bad = driver.execute_script(
            "return Array.from(document.querySelectorAll('script, img, b, iframe, object, embed'))"
            ".map(e => e.tagName)")
        check(not bad, f"{name}: elements made from outside text: {bad}")
        handlers = driver.execute_script(
            "return Array.from(document.querySelectorAll('*')).filter(e => "
            "Array.from(e.attributes).some(a => a.name.startsWith('on'))).length")
        check(handlers == 0, f"{name}: {handlers} elements with event handlers")

    def expect_pictures(self, n):
        check(len(self.svgs) == n, f"{self.name}: {len(self.svgs)} pictures, expected {n}")

    def shows(self, text):
        check(rf.visible(text) in self.text, f"{self.name}: {rf.visible(text)!r} not shown as text")


def json_path(obj, key):
    for part in key.split("."):
        obj = obj[part] if obj is not None else None
    return obj


def campaign_checks(page, shows):
    page.expect_pictures(6)
    verdicts = page.tables.get("verdict", [])
    check(len(verdicts) == 2, f"campaign: {len(verdicts)} verdict tables")
    for rows, label in zip(verdicts, [rf.HOSTILE_LABEL, "decided"]):
        want = shows[label]
        seen = 0
        for r in rows:
            for key, (value, text) in r["nums"].items():
                seen += 1
                got = json_path(want, key)
                check(close(got, value), f"campaign {label[:10]!r}: {key} {value} != --json {got}")
                if key in ("estimate", "lower", "upper"):
                    check(text == fmt_prob(got), f"campaign: {key} shown {text!r}, want {fmt_prob(got)}")
                elif isinstance(got, int) and not isinstance(got, bool):
                    check(text == str(got), f"campaign: {key} shown {text!r}, want {got}")
        check(seen >= 17, f"campaign {label[:10]!r}: only {seen} numbers")
    page.shows(rf.HOSTILE_LABEL)
    page.shows(rf.HOSTILE_OUTPUT)
    check("exit code 3" in page.text, "campaign: the exit code of the failures is not shown")
    check("decided at" in page.text, "campaign: the decision moment is not marked")
    causes = page.tables.get("causes", [[]])[0]
    want = shows[rf.HOSTILE_LABEL]["causes"]
    check([int(r["nums"]["count"][0]) for r in causes] == [c["count"] for c in want],
          f"campaign: causes {causes} against {want}")


def decided_checks(page, want):
    page.expect_pictures(3)
    rows = page.tables.get("verdict", [[]])[0]
    nums = {k: v for r in rows for k, v in r["nums"].items()}
    for key in ("runs", "failed", "estimate", "attempts.conservative.attempts"):
        check(key in nums and close(json_path(want, key), nums[key][0]),
              f"decided: {key} {nums.get(key)} != {json_path(want, key)}")
    check(f"decided at {want['runs']} runs: {want['decided_attempts']} attempts" in page.text
          if "decided_attempts" in want else f"decided at {want['runs']} runs" in page.text,
          f"decided: the decision is not marked where run stopped ({want['runs']} runs)")
    check(rf.HOSTILE_LABEL[:4] not in page.text, "decided: only this campaign is shown")


def sweep_checks(page, out):
    page.expect_pictures(1)
    rows = page.tables.get("sweep", [[]])[0]
    want = {c["label"]: c for c in out["conditions"]}
    check(len(rows) == len(want), f"sweep: {len(rows)} rows, {len(want)} conditions")
    for r in rows:
        c = want.get(r["names"][0])
        check(c is not None, f"sweep: row {r['names']} is no condition")
        if c is None:
            continue
        for key in ("runs", "failures", "estimate", "lower", "upper"):
            check(close(c[key], r["nums"][key][0]), f"sweep {c['label']}: {key} {r['nums'][key]} != {c[key]}")
        check(r["nums"]["estimate"][1] == fmt_prob(c["estimate"]), f"sweep: shown {r['nums']['estimate']}")
    h = page.tables.get("homogeneity", [[{"nums": {}}]])[0][0]["nums"].get("homogeneity_p")
    check(h is not None and close(out["homogeneity_p"], h[0]),
          f"sweep: homogeneity p {h} != {out['homogeneity_p']}")


def bench_checks(page, out):
    page.expect_pictures(1)
    rows = page.tables.get("bench", [[]])[0]
    want = {r["campaigns"]["emulated"]: r for r in out["results"]}
    check(len(rows) == len(want) == 2, f"bench: {len(rows)} rows, {len(want)} results")
    for r in rows:
        w = want.get(r["names"][0])
        check(w is not None, f"bench: row {r['names']} is no result")
        if w is None:
            continue
        for key in ("pairs", "native_median_s", "emulated_median_s", "ratio", "ratio_lower",
                    "ratio_upper"):
            check(close(w[key], r["nums"][key][0]), f"bench {w['workload']}: {key} {r['nums'][key]} != {w[key]}")


def history_checks(page, tests, budget):
    page.expect_pictures(4)
    rows = page.tables.get("tests", [[]])[0]
    want = {t["test"]: t for t in tests}
    failed = [t for t in tests if t["failures"] > 0]
    check(len(rows) == len(failed), f"history: {len(rows)} rows, {len(failed)} tests that failed")
    for r in rows:
        t = want.get(r["names"][0])
        check(t is not None, f"history: row {r['names'][0]!r} is no test of tests --json")
        if t is None:
            continue
        for key in ("runs", "failures", "estimate", "lower", "upper", "flip_rate"):
            check(close(t[key], r["nums"][key][0]), f"history {t['test'][:20]!r}: {key} {r['nums'][key]} != {t[key]}")
    b = [r for r in page.tables.get("budget", [[]])[0] if float(r["nums"]["target"][0]) == 1e-3]
    check(len(b) == 1, "history: no budget row for the target 1e-3")
    for r in b:
        for m in ("point", "conservative"):
            for key in ("expected_extra_seconds", "predicted_red_rate"):
                got = r["nums"][f"{m}.{key}"][0]
                check(close(budget[m][key], got), f"budget {m}.{key}: {got} != {budget[m][key]}")
    page.shows(rf.HOSTILE_CLASS + "::" + rf.HOSTILE_TESTS[0])
    page.shows("t.ok::" + rf.HOSTILE_TESTS[1])


def main():
    tmp = tempfile.mkdtemp(prefix="fm-report-")
    fx = rf.Fixtures(FM, tmp, SRC)
    cdb, shows = fx.campaign()
    sdb, sweep = fx.sweep()
    bdb, bench = fx.bench()
    hdb, tests, budget = fx.history()
    pages = [("campaign", fx.report(cdb, fx.path("c.html")), lambda p: campaign_checks(p, shows)),
             ("decided", fx.report(cdb, fx.path("d.html"), "decided"),
              lambda p: decided_checks(p, shows["decided"])),
             ("sweep", fx.report(sdb, fx.path("s.html"), "bernoulli"), lambda p: sweep_checks(p, sweep)),
             ("history", fx.report(hdb, fx.path("h.html"), "ci"),
              lambda p: history_checks(p, tests, budget))]
    if bdb:
        pages.insert(2, ("bench", fx.report(bdb, fx.path("b.html")), lambda p: bench_checks(p, bench)))
    driver = start_browser()
    try:
        for name, path, checker in pages:
            page = Page(driver, path, name)
            checker(page)
            if name == "decided" and SHOT:
                with open(SHOT, "wb") as f:
                    f.write(page.png)
    finally:
        driver.quit()
    for s in fx.skipped:
        print(f"not checked: {s}")
    if fx.skipped and os.environ.get("FM_REQUIRE_CROSS") == "1":
        check(False, "FM_REQUIRE_CROSS=1 but " + "; ".join(fx.skipped))
    print(f"{checks} checks, {failures} failed ({len(pages)} pages in one browser session)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
