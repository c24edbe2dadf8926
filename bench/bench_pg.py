#!/usr/bin/env python3
"""bench_pg.py - the PostgreSQL shared store against SQLite (docs/scale.md, "Numbers").

Usage: bench/bench_pg.py BUILD/cli/flakemeter [ROUNDS]

Starts a throw-away PostgreSQL (tests/pg/pg_server.py) and measures, interleaved, ROUNDS times
(default 3):
  - runs/s of 8 runners (-j 1 each, bernoulli p=0.1, N runs each) writing one campaign in
    PostgreSQL, against 8 runners on one SQLite file (--shard i/8: a file hands out no
    indices) and one runner -j 8 on SQLite;
  - the stop latency of cluster-wide --until-decided: 4 runners (-j 2, slow_fail p=0.1
    fail_ms=20), each runner's exit time minus the decision time recorded in the database.
Prints medians and the ratios to the one-runner SQLite baseline of the same round.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "pg"))
import pg_server  # noqa: E402

FM = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
N = 400  # runs per runner


def runners(db, label, count, jobs, runs, shard=False):
    """count runners at once; shard: --shard i/count (one SQLite file: indices must differ)."""
    t0 = time.monotonic()
    procs = [subprocess.Popen([FM, "run", "-q", "-n", str(runs), "-j", str(jobs), "--label",
                               label, "--resume", "--db", db] +
                              (["--shard", "%d/%d" % (i, count)] if shard else []) +
                              ["bernoulli", "p=0.1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for i in range(count)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(err)
    return count * runs / (time.monotonic() - t0)


def decision(srv, url, label):
    procs = [subprocess.Popen([FM, "run", "-q", "--until-decided", "-j", "2", "--label", label,
                               "--resume", "--db", url, "slow_fail", "p=0.1", "fail_ms=20"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(4)]
    ends = [None] * 4
    while any(e is None for e in ends):
        for i, p in enumerate(procs):
            if ends[i] is None and p.poll() is not None:
                ends[i] = time.time_ns()
        time.sleep(0.001)
    dec = int(srv.psql("postgres", "SELECT s.decided_ns FROM flakemeter.campaign_state s "
                       "JOIN flakemeter.campaigns c ON c.id = s.campaign WHERE c.label = '%s'"
                       % label))
    return [(e - dec) / 1e9 for e in ends]


def main():
    why = pg_server.skip_reason(FM)
    if why:
        print("cannot run: " + why)
        return 1
    srv = pg_server.Server()
    rows = {"sqlite, 1 runner -j 8": [], "sqlite, 8 runners -j 1": [],
            "postgresql, 8 runners -j 1": []}
    lat = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            url = srv.start()
            for r in range(ROUNDS):
                db = os.path.join(tmp, "r%d.db" % r)
                rows["sqlite, 1 runner -j 8"].append(runners(db, "one", 1, 8, 8 * N))
                rows["postgresql, 8 runners -j 1"].append(runners(url, "pg%d" % r, 8, 1, N))
                rows["sqlite, 8 runners -j 1"].append(runners(db, "eight", 8, 1, N, shard=True))
                lat += decision(srv, url, "dec%d" % r)
        finally:
            srv.stop()
    base = statistics.median(rows["sqlite, 1 runner -j 8"])
    print("%-28s %10s %8s   (%d rounds, %d runs each, bernoulli p=0.1)"
          % ("store", "runs/s", "ratio", ROUNDS, 8 * N))
    for name, v in rows.items():
        m = statistics.median(v)
        print("%-28s %10.0f %8.2f" % (name, m, m / base))
    print("stop latency after the decision, %d runners x %d rounds: median %.3f s, max %.3f s"
          % (4, ROUNDS, statistics.median(lat), max(lat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
