#!/usr/bin/env python3
"""Hostile reports through `flakemeter ingest` (issue 14, items 7-10), each bounded in time.

usage: test_hostile_ingest_cli.py FLAKEMETER
 7. 40,000 attributes on one element (was quadratic in libxml2: 64 s): refused with one line,
    in under 2 s; an element with 200 attributes (and a comment that looks like a tag) is still
    ingested.
 8. `ingest DIR` with symbolic-link loops (`ln -s . d/a; ln -s . d/b`, and `d/sub/up -> ..`):
    each file listed once, in under 5 s (was exponential; one loop listed every file 41 times).
 9. A FIFO as an ingested file (named, or found in a DIR): rejected as not a regular file
    within 5 s (opening it waited for a writer forever).
10. A report libxml2 cannot decode (declared EUC-JP, invalid bytes): exactly one stderr line per
    rejected file, ours, with the file and line (libxml2 printed "encoding error : ..." lines).
Standard library only.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

FM = sys.argv[1]
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def ingest(db, *args, timeout=30):
    t0 = time.monotonic()
    try:
        r = subprocess.run([FM, "ingest", "--db", db, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, timeout
    return r, time.monotonic() - t0


def attrs(n):
    return " ".join(f'a{i}="{i}"' for i in range(n))


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "s.db")

    # 7: many attributes on one element.
    big = os.path.join(tmp, "attrs.xml")
    with open(big, "w") as f:
        f.write(f'<testsuite><testcase name="t" {attrs(40000)}/></testsuite>\n')
    r, secs = ingest(db, big, timeout=60)
    print(f"item 7: 40,000 attributes ({os.path.getsize(big)} bytes): {secs:.3f} s")
    check(r is not None and secs < 2, f"item 7: 40,000 attributes took {secs:.1f} s (limit 2 s)")
    if r is not None:
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 1, f"item 7: exit {r.returncode}, want 1")
        check(len(lines) == 2 and "attrs.xml:1: an element with more than 256 attributes"
              in lines[0], f"item 7: stderr {r.stderr!r}")
    ok = os.path.join(tmp, "ok.xml")
    with open(ok, "w") as f:
        f.write('<?xml version="1.0"?>\n<testsuite>\n<!-- <x a="1" b=\'2\'> --> '
                f'<![CDATA[ <y c="3"> ]]>\n<testcase name="t" {attrs(200)}/></testsuite>\n')
    r, _ = ingest(db, "--json", ok)
    check(r is not None and r.returncode == 0 and json.loads(r.stdout)["added"] == 1,
          f"item 7: 200 attributes not ingested: {r and r.stderr!r}")

    # 8: symbolic-link loops.
    d = os.path.join(tmp, "d")
    os.makedirs(os.path.join(d, "sub"))
    for name in ("r.xml", os.path.join("sub", "s.xml")):
        with open(os.path.join(d, name), "w") as f:
            f.write(f'<testsuite><testcase name="{name}"/></testsuite>\n')
    os.symlink(".", os.path.join(d, "a"))
    os.symlink(".", os.path.join(d, "b"))
    os.symlink("..", os.path.join(d, "sub", "up"))
    r, secs = ingest(os.path.join(tmp, "loop.db"), "--json", d, timeout=30)
    print(f"item 8: a directory with 3 symlink loops: {secs:.3f} s")
    check(r is not None and secs < 5, f"item 8: took {secs:.1f} s (limit 5 s)")
    if r is not None:
        paths = [x["path"] for x in json.loads(r.stdout)["files"]]
        check(sorted(paths) == [os.path.join(d, "r.xml"), os.path.join(d, "sub", "s.xml")],
              f"item 8: files listed {paths}")

    # 9: a FIFO, named and inside a directory.
    fd = os.path.join(tmp, "fd")
    os.mkdir(fd)
    fifo = os.path.join(fd, "f.xml")
    os.mkfifo(fifo)
    for arg in (fifo, fd):
        r, secs = ingest(os.path.join(tmp, "fifo.db"), arg, timeout=5)
        check(r is not None, f"item 9: ingest {arg} hung on a FIFO")
        if r is not None:
            lines = r.stderr.strip().splitlines()
            check(r.returncode == 1 and len(lines) == 2 and
                  lines[0].endswith("f.xml: not a regular file"),
                  f"item 9: ingest {arg}: exit {r.returncode}, stderr {r.stderr!r}")

    # 10: libxml2's encoding errors come out as our one line.
    enc = os.path.join(tmp, "enc.xml")
    with open(enc, "wb") as f:
        f.write(b'<?xml version="1.0" encoding="EUC-JP"?>\n'
                b'<testsuite><testcase name="\xff\xfe\xff"/></testsuite>\n')
    r, _ = ingest(db, enc)
    if r is not None:
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 1 and len(lines) == 2 and
              lines[0].startswith(f"flakemeter ingest: {enc}:2:") and
              "conversion failed" in lines[0],
              f"item 10: want our line for the file and a summary, got {r.stderr!r}")

print(f"{checks - failures}/{checks} checks passed")
sys.exit(1 if failures else 0)
