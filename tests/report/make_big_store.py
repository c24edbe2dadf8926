#!/usr/bin/env python3
"""Make a store with one campaign of N runs quickly: the campaign through `flakemeter run -n 1`
(so its row is the tool's own), then N - 1 more first attempts inserted in one transaction with
Python's sqlite3 (the campaign's stored counts dropped: flakemeter counts its rows), seeded (random.Random(20261126)): about 1 % fail, wall times log-normal.
usage: make_big_store.py FLAKEMETER DB N LABEL"""
import math
import random
import sqlite3
import subprocess
import sys


def make(fm, db, n, label):
    r = subprocess.run([fm, "run", "-q", "-n", "1", "-j", "1", "--db", db, "--label", label,
                        "bernoulli", "p=0"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"run: exit {r.returncode}: {r.stderr.strip()}")
    con = sqlite3.connect(db)
    (cid,) = con.execute("SELECT id FROM campaigns WHERE label = ?", (label,)).fetchone()
    (start,) = con.execute("SELECT max(start_ns) FROM runs WHERE campaign = ?", (cid,)).fetchone()
    rng = random.Random(20261126)

    def rows():
        t = start
        for i in range(1, n):
            fail = rng.random() < 0.01
            wall = int(math.exp(rng.gauss(math.log(2e-3), 0.3)) * 1e9)
            t += wall
            yield (cid, i, 1, i, 1 if fail else 0, 1 if fail else 0, None, 0, t, wall, 100, 50,
                   2048)
    with con:
        con.executemany("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
        # Rows written by hand are not in the counts a store keeps (schema 4: tallies, causes,
        # wall_buckets): without them flakemeter counts the campaign from its rows (a reader
        # scans, the next writer recounts), as with any store written by hand.
        for table in ("tallies", "causes", "wall_buckets"):
            con.execute(f"DELETE FROM {table} WHERE campaign = ?", (cid,))
    con.close()


if __name__ == "__main__":
    make(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
