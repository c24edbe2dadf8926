#!/usr/bin/env python3
"""bench_scale.py - issue 19's memory, resume and merge numbers at scale, by hand (not CI).

    python3 bench/bench_scale.py BUILD [--real 10000,100000] [--prefill 1000000,10000000]
        [--resume-n 2000,20000] [--rounds 5] [--shards 1000] [--budget 1] [--json FILE]

* RSS of real `flakemeter run -n N bernoulli p=0.01` campaigns, for each N of --real (peak RSS
  from wait4).
* For each N of --prefill: a campaign of N synthetic runs written by SQL into a store made by
  flakemeter and turned back into a schema 3 store, so that the first `show` migrates it
  (schema 5 counts the runs once; timed).  Then peak RSS and time of `show`, of
  `run --resume -n M` against a fresh `run -n M` for each M of --resume-n (interleaved, --rounds
  rounds, medians and the median of the per-round ratios), and of `merge` into a new store and
  into one holding the runs.  (10^7 real runs take about an hour here: prefilled campaigns
  measure what the number of stored runs costs.)
* --shards K: K shard stores of 10 runs each (one real store, copied with its run indices
  moved) merged into a new store, then again into the result.
* `budget --target 0.01` on 1000 tests, 20 flaky, 1000 CI runs (10^6 results), unless --budget 0.
Standard library only; /usr/bin/time is not needed (resource.getrusage of the children).
"""
import json, os, random, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

def measure(cmd):
    """(wall seconds, peak RSS MiB, CPU seconds) of one command, its output discarded."""
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return time.monotonic() - t0, ru.ru_maxrss / 1024.0, ru.ru_utime + ru.ru_stime

V4_OBJECTS = ["INDEX runs_wall", "INDEX runs_wall_seg", "TABLE tallies", "TABLE causes", "TABLE wall_buckets"]

def prefill(fm, db, n):
    """A campaign 'big' of n + 1 runs (1 % failing); left at schema 3 so that flakemeter counts
    the rows once when it next opens the store (the migration)."""
    subprocess.run([fm, "run", "-q", "-n", "1", "--db", db, "--label", "big", "bernoulli",
                    "p=0.01"], check=True, stdout=subprocess.DEVNULL)
    c = sqlite3.connect(db)
    for obj in V4_OBJECTS:
        c.execute(f"DROP {obj.split()[0]} IF EXISTS {obj.split()[1]}")
    c.execute("PRAGMA user_version = 3")
    c.execute("""WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
        INSERT INTO runs SELECT 1, x, 1, random(), o, o, NULL, 0, 1700000000000000000 + x * 1000,
        300000 + abs(random()) % 200000, 10, 10, 2000 FROM
        (SELECT x, CASE WHEN abs(random()) % 100 = 0 THEN 1 ELSE 0 END AS o FROM i)""", (n,))
    c.commit()
    c.close()

def shards(fm, d, k):
    """k stores of 10 runs each: one real store, copied with run_index -> run_index + 10 i."""
    base = f"{d}/shard_base.db"
    subprocess.run([fm, "run", "-q", "-n", "10", "--db", base, "--label", "sh", "bernoulli",
                    "p=0.1"], check=True, stdout=subprocess.DEVNULL)
    paths = []
    for i in range(k):
        p = f"{d}/shard{i:04d}.db"
        shutil.copyfile(base, p)
        c = sqlite3.connect(p)
        c.execute("UPDATE runs SET run_index = run_index + ?", (10 * i,))
        c.execute("UPDATE evidence SET run_index = run_index + ?", (10 * i,))
        c.commit()
        c.close()
        paths.append(p)
    return paths

def history(fm, db, tests=1000, flaky=20, runs=1000):
    subprocess.run([fm, "run", "-q", "-n", "1", "--db", db, "bernoulli", "p=0.5"], check=True,
                   stdout=subprocess.DEVNULL)
    rng = random.Random(20261126)
    c = sqlite3.connect(db)
    c.executemany("INSERT INTO ci_tests (id, label, name) VALUES (?, 'ci', ?)",
                  [(i + 1, f"t{i:04d}") for i in range(tests)])
    c.executemany("INSERT INTO ci_runs (id, label, run_key, time_ns) VALUES (?, 'ci', ?, ?)",
                  [(r + 1, f"r{r}", 1700000000000000000 + r * 10**9) for r in range(runs)])
    p = [0.0] * tests
    for i in range(flaky):
        p[i * (tests // flaky)] = [0.001, 0.003, 0.01, 0.02, 0.05][i % 5]
    dur = [0.1 + rng.random() * 2 for _ in range(tests)]
    def rows():
        for r in range(runs):
            for t in range(tests):
                if p[t] and rng.random() < p[t]:
                    yield (t + 1, r + 1, 1, 1, dur[t])
                    yield (t + 1, r + 1, 2, 0 if rng.random() > p[t] else 1, dur[t])
                else:
                    yield (t + 1, r + 1, 1, 0, dur[t])
    c.executemany("INSERT INTO ci_results (test, ci_run, attempt, outcome, seconds) "
                  "VALUES (?, ?, ?, ?, ?)", rows())
    c.commit()
    c.close()

def ints(text):
    return [int(x) for x in text.split(",") if x]

def main():
    build = sys.argv[1]
    args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    real = ints(args.get("--real", "10000,100000"))
    pre = ints(args.get("--prefill", "1000000,10000000"))
    resume_n = ints(args.get("--resume-n", "2000,20000"))
    rounds = int(args.get("--rounds", "5"))
    n_shards = int(args.get("--shards", "1000"))
    budget = args.get("--budget", "1") != "0"
    fm = os.path.join(build, "cli", "flakemeter")
    out = {"load_start": os.getloadavg(), "real": [], "prefill": []}
    print(f"load average at start: {out['load_start']}", flush=True)
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as d:
        for n in real:
            t, rss, cpu = measure([fm, "run", "-q", "-n", str(n), "--db", f"{d}/r{n}.db",
                                   "bernoulli", "p=0.01"])
            out["real"].append({"n": n, "s": t, "rss": rss, "us_per_run": t / n * 1e6})
            print(f"run -n {n}: {t:.1f} s, peak RSS {rss:.1f} MiB, {t / n * 1e6:.0f} us/run",
                  flush=True)
            os.unlink(f"{d}/r{n}.db")
        for n in pre:
            db = f"{d}/p{n}.db"
            rec = {"n": n}
            prefill(fm, db, n)
            t, rss, cpu = measure([fm, "show", "--db", db, "big"])
            rec["migrate"] = {"s": t, "rss": rss, "cpu": cpu}
            print(f"first show of {n} runs (migrates to schema 5, counts once): {t:.2f} s, "
                  f"peak RSS {rss:.1f} MiB", flush=True)
            t, rss, cpu = measure([fm, "show", "--db", db, "big"])
            rec["show"] = {"s": t, "rss": rss, "cpu": cpu}
            print(f"show of {n} runs: {t:.2f} s ({cpu:.2f} s CPU), peak RSS {rss:.1f} MiB",
                  flush=True)
            rec["resume"] = []
            for m in resume_n:
                res, fre, ratio, rr, rc, fc = [], [], [], [], [], []
                for k in range(rounds):
                    order = [0, 1] if k % 2 == 0 else [1, 0]
                    got = {}
                    for which in order:
                        if which == 0:
                            got[0] = measure([fm, "run", "-q", "-n", str(m), "--db", db,
                                              "--resume", "--label", "big", "bernoulli",
                                              "p=0.01"])
                        else:
                            f = f"{d}/f{n}_{k}.db"
                            got[1] = measure([fm, "run", "-q", "-n", str(m), "--db", f,
                                              "bernoulli", "p=0.01"])
                            os.unlink(f)
                    res.append(got[0][0]); rr.append(got[0][1]); rc.append(got[0][2])
                    fre.append(got[1][0]); fc.append(got[1][2])
                    ratio.append(got[0][0] / got[1][0])
                r = {"m": m, "resume_s": statistics.median(res), "fresh_s": statistics.median(fre),
                     "ratio": statistics.median(ratio), "ratios": ratio,
                     "resume_cpu": statistics.median(rc), "fresh_cpu": statistics.median(fc),
                     "rss": max(rr)}
                rec["resume"].append(r)
                print(f"resume of {n} runs by {m}: median {r['resume_s']:.3f} s "
                      f"(peak RSS {r['rss']:.1f} MiB) vs fresh {m}: {r['fresh_s']:.3f} s; "
                      f"median per-round ratio {r['ratio']:.3f} "
                      f"({', '.join(f'{x:.3f}' for x in ratio)}); CPU {r['resume_cpu']:.2f} vs "
                      f"{r['fresh_cpu']:.2f} s", flush=True)
            t, rss, cpu = measure([fm, "merge", "-o", f"{d}/m{n}.db", db])
            rec["merge_new"] = {"s": t, "rss": rss, "cpu": cpu}
            print(f"merge of {n} runs into a new store: {t:.2f} s ({cpu:.2f} s CPU), "
                  f"peak RSS {rss:.1f} MiB", flush=True)
            t, rss, cpu = measure([fm, "merge", "-o", db, f"{d}/m{n}.db"])
            rec["merge_into"] = {"s": t, "rss": rss, "cpu": cpu}
            print(f"merge of {n} runs into a store holding them: {t:.2f} s ({cpu:.2f} s CPU), "
                  f"peak RSS {rss:.1f} MiB", flush=True)
            out["prefill"].append(rec)
            for f in os.listdir(d):
                if f.startswith(("p", "m", "f")):
                    os.unlink(os.path.join(d, f))
        if n_shards:
            paths = shards(fm, d, n_shards)
            t, rss, cpu = measure([fm, "merge", "-o", f"{d}/all.db"] + paths)
            t2, rss2, cpu2 = measure([fm, "merge", "-o", f"{d}/all.db"] + paths)
            out["shards"] = {"k": n_shards, "new_s": t, "again_s": t2, "rss": max(rss, rss2)}
            print(f"merge of {n_shards} shard stores (10 runs each) into a new store: {t:.2f} s, "
                  f"again into the result: {t2:.2f} s, peak RSS {max(rss, rss2):.1f} MiB",
                  flush=True)
            for p in paths:
                os.unlink(p)
        if budget:
            db = f"{d}/h.db"
            history(fm, db)
            t, rss, cpu = measure([fm, "budget", "--target", "0.01", "--db", db])
            out["budget"] = {"s": t, "rss": rss, "cpu": cpu}
            print(f"budget, 1000 tests (20 flaky) x 1000 CI runs: {t:.2f} s ({cpu:.2f} s CPU), "
                  f"peak RSS {rss:.1f} MiB", flush=True)
    out["load_end"] = os.getloadavg()
    print(f"load average at end: {out['load_end']}")
    if "--json" in args:
        with open(args["--json"], "w") as f:
            json.dump(out, f, indent=1)

if __name__ == "__main__":
    main()
