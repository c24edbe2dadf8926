#!/usr/bin/env python3
"""A report of a campaign of a million runs is written in under 5 s: it summarises and never
lists runs (issue 16).

usage: test_report_big.py FLAKEMETER SANITIZE [N]
The store is made by make_big_store.py (the campaign through the tool, the rows inserted with
sqlite3, seeded).  The bound is on the CPU time of the report process (user + system, from
wait4), which other work on a shared machine does not inflate; the wall time is printed.
Under a sanitizer (SANITIZE not "none") the bound is 6x, the sanitizers' usual slowdown.  The
page stays small (no row per run): under 256 KiB, at most 40 table rows per table.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_big_store  # noqa: E402

FM, SANITIZE = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000


def main():
    tmp = tempfile.mkdtemp(prefix="fm-report-big-")
    db, out = os.path.join(tmp, "big.db"), os.path.join(tmp, "big.html")
    make_big_store.make(FM, db, N, "big")
    t0 = time.monotonic()
    p = subprocess.Popen([FM, "report", "--db", db, "-o", out, "big"], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode()
    cpu = usage.ru_utime + usage.ru_stime
    limit = 5.0 if SANITIZE in ("none", "") else 30.0
    print(f"report of {N} runs: cpu {cpu:.2f} s, wall {wall:.2f} s (bound: cpu < {limit} s)")
    failures = 0
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"FAIL: report exited {status}: {err}")
        return 1
    if cpu >= limit:
        print(f"FAIL: {cpu:.2f} s of CPU")
        failures += 1
    size = os.path.getsize(out)
    html = open(out, encoding="utf-8").read()
    rows = [len(re.findall(r"<tr>", t)) for t in re.findall(r"<tbody>.*?</tbody>", html, re.S)]
    if size > 256 * 1024 or max(rows) > 40:
        print(f"FAIL: the page lists too much: {size} bytes, table rows {rows}")
        failures += 1
    m = re.search(r'data-key="runs" data-value="(\d+)"', html)
    if not m or int(m.group(1)) != N:
        print(f"FAIL: the verdict does not count {N} runs: {m and m.group(1)}")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
