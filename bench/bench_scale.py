#!/usr/bin/env python3
"""bench_scale.py - issue 19's memory and scale numbers, by hand (not CI).

    python3 bench/bench_scale.py BUILD [--real 10000,100000] [--prefill 1000000,10000000]

* RSS of `flakemeter run -n N bernoulli p=0.01` for each N of --real (peak RSS from wait4).
* For each N of --prefill: a campaign of N synthetic runs written by SQL into a store made by
  flakemeter, then peak RSS and time of `show`, of `run --resume -n 2000` and of a fresh
  `run -n 2000` (interleaved, 3 rounds, medians), and of `merge` into a new store and into
  itself.  (10^7 real runs take about an hour here: prefilled campaigns measure what the
  number of stored runs costs.)
* `budget --target 0.01` on 1000 tests, 20 flaky, 1000 CI runs (10^6 results).
Standard library only; /usr/bin/time is not needed (resource.getrusage of the children).
"""
import os, random, resource, sqlite3, statistics, subprocess, sys, tempfile, time

def measure(cmd):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.execv(cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return time.monotonic() - t0, ru.ru_maxrss / 1024.0

def prefill(fm, db, n):
    subprocess.run([fm, "run", "-q", "-n", "1", "--db", db, "--label", "big", "bernoulli",
                    "p=0.01"], check=True, stdout=subprocess.DEVNULL)
    c = sqlite3.connect(db)
    c.execute("""WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < ?)
        INSERT INTO runs SELECT 1, x, 1, random(), o, o, NULL, 0, 1700000000000000000 + x * 1000,
        300000 + abs(random()) % 200000, 10, 10, 2000 FROM
        (SELECT x, CASE WHEN abs(random()) % 100 = 0 THEN 1 ELSE 0 END AS o FROM i)""", (n,))
    c.commit()
    c.close()

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

def main():
    build = sys.argv[1]
    args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    real = [int(x) for x in args.get("--real", "10000,100000").split(",") if x]
    pre = [int(x) for x in args.get("--prefill", "1000000,10000000").split(",") if x]
    fm = os.path.join(build, "cli", "flakemeter")
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as d:
        for n in real:
            t, rss = measure([fm, "run", "-q", "-n", str(n), "--db", f"{d}/r{n}.db", "bernoulli",
                              "p=0.01"])
            print(f"run -n {n}: {t:.1f} s, peak RSS {rss:.1f} MiB, {t / n * 1e6:.0f} us/run")
        for n in pre:
            db = f"{d}/p{n}.db"
            prefill(fm, db, n)
            t, rss = measure([fm, "show", "--db", db, "big"])
            print(f"show of {n} runs: {t:.2f} s, peak RSS {rss:.1f} MiB")
            res, fre, rr = [], [], []
            for k in range(3):
                t, rss = measure([fm, "run", "-q", "-n", "2000", "--db", db, "--resume",
                                  "--label", "big", "bernoulli", "p=0.01"])
                res.append(t)
                rr.append(rss)
                t, _ = measure([fm, "run", "-q", "-n", "2000", "--db", f"{d}/f{n}_{k}.db",
                                "bernoulli", "p=0.01"])
                fre.append(t)
            print(f"resume of {n} runs by 2000: median {statistics.median(res):.2f} s "
                  f"(peak RSS {max(rr):.1f} MiB) vs fresh 2000: {statistics.median(fre):.2f} s, "
                  f"ratio {statistics.median(res) / statistics.median(fre):.3f}")
            t, rss = measure([fm, "merge", "-o", f"{d}/m{n}.db", db])
            print(f"merge of {n} runs into a new store: {t:.2f} s, peak RSS {rss:.1f} MiB")
            t, rss = measure([fm, "merge", "-o", db, f"{d}/m{n}.db"])
            print(f"merge of {n} runs into a store holding them: {t:.2f} s, peak RSS {rss:.1f} MiB")
            for f in os.listdir(d):
                if f.startswith(("p", "m", "f")):
                    os.unlink(os.path.join(d, f))
        db = f"{d}/h.db"
        history(fm, db)
        t, rss = measure([fm, "budget", "--target", "0.01", "--db", db])
        print(f"budget, 1000 tests (20 flaky) x 1000 CI runs: {t:.2f} s, peak RSS {rss:.1f} MiB")
    print(f"load average at end: {os.getloadavg()}")

if __name__ == "__main__":
    main()
