#!/usr/bin/env python3
"""bench_table.py - issue 19's numbers in one invocation and one markdown table.

    python3 bench/bench_table.py BUILD [--launch-runs 3000] [--launch-rounds 5] [--old OLD_BUILD]
        [--real 10000,100000] [--prefill 1000000,10000000] [--resume-n 2000,20000]
        [--rounds 5] [--shards 1000] [--json FILE]

Runs bench/bench_launch.py (throughput of flakemeter against bench/spawn_loop.c and the peers:
xargs, Go's stress, hyperfine, GNU parallel, a bash loop; interleaved rounds, ratios per
round) and bench/bench_scale.py (peak RSS of real and prefilled campaigns, resume against a
fresh campaign, merge, 1000 shards, budget), one after the other, and prints one table: what
was measured, its value, the baseline it is compared with (a same-run measurement, or the
issue's bound where the comparison is with a goal) and the ratio, with the load average before
and after.  The machine is shared: only same-run ratios mean anything.
"""
import json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RSS_BOUND = 16.0     # MiB: issue 19
MERGE_BOUND = 2.5    # s: merge of 10^6 runs
BUDGET_S, BUDGET_MIB = 1.0, 64.0

def run_json(cmd, path):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    with open(path) as f:
        return json.load(f)

def sci(n):
    e = len(str(n)) - 1
    return f"10^{e}" if n == 10 ** e else str(n)

def main():
    build = sys.argv[1]
    a = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, f"{HERE}/bench_launch.py", build, "--runs",
               a.get("--launch-runs", "3000"), "--rounds", a.get("--launch-rounds", "5"),
               "--json", f"{d}/launch.json"]
        if "--old" in a:
            cmd += ["--old", a["--old"]]
        launch = run_json(cmd, f"{d}/launch.json")
        scale = run_json([sys.executable, f"{HERE}/bench_scale.py", build,
                          "--real", a.get("--real", "10000,100000"),
                          "--prefill", a.get("--prefill", "1000000,10000000"),
                          "--resume-n", a.get("--resume-n", "2000,20000"),
                          "--rounds", a.get("--rounds", "5"),
                          "--shards", a.get("--shards", "1000"),
                          "--json", f"{d}/scale.json"], f"{d}/scale.json")
    load_after = os.getloadavg()
    base = launch["true"]["spawn_loop (baseline)"]
    for name, v in launch["true"].items():
        if v is None:
            rows.append((f"launch `/bin/true` -j 2: {name}", "missing", "", ""))
            continue
        rows.append((f"launch `/bin/true` -j 2: {name}", f"{v['rate']:.0f} runs/s",
                     f"spawn_loop {base['rate']:.0f} runs/s",
                     f"{v['ratio']:.3f} ({v['q1']:.3f}–{v['q3']:.3f})"))
    for name, v in (launch.get("old_new") or {}).items():
        if v is not None and not name.startswith("spawn_loop"):
            rows.append((f"old/new: {name}", f"{v['rate']:.0f} runs/s", "spawn_loop, same rounds",
                         f"{v['ratio']:.3f}"))
    for r in scale["real"]:
        rows.append((f"`run -n {sci(r['n'])}` (real runs), peak RSS", f"{r['rss']:.1f} MiB",
                     f"bound {RSS_BOUND:.0f} MiB", f"{r['rss'] / RSS_BOUND:.2f}"))
    for p in scale["prefill"]:
        n = sci(p["n"])
        rows.append((f"{n} runs: first open (migration to schema 4, counts once)",
                     f"{p['migrate']['s']:.2f} s, {p['migrate']['rss']:.1f} MiB", "", ""))
        rows.append((f"{n} runs: `show`, peak RSS", f"{p['show']['rss']:.1f} MiB",
                     f"bound {RSS_BOUND:.0f} MiB", f"{p['show']['rss'] / RSS_BOUND:.2f}"))
        for r in p["resume"]:
            rows.append((f"{n} runs: `run --resume -n {r['m']}` vs fresh `run -n {r['m']}`",
                         f"{r['resume_s']:.3f} s", f"{r['fresh_s']:.3f} s",
                         f"{r['ratio']:.3f}"))
            rows.append((f"{n} runs: `run --resume -n {r['m']}`, peak RSS", f"{r['rss']:.1f} MiB",
                         f"bound {RSS_BOUND:.0f} MiB", f"{r['rss'] / RSS_BOUND:.2f}"))
        for key, what in (("merge_new", "into a new store"), ("merge_into", "into a store holding them")):
            m = p[key]
            rows.append((f"{n} runs: `merge` {what}", f"{m['s']:.2f} s", f"bound {MERGE_BOUND} s",
                         f"{m['s'] / MERGE_BOUND:.2f}"))
            rows.append((f"{n} runs: `merge` {what}, peak RSS", f"{m['rss']:.1f} MiB",
                         f"bound {RSS_BOUND:.0f} MiB", f"{m['rss'] / RSS_BOUND:.2f}"))
    if "shards" in scale:
        s = scale["shards"]
        rows.append((f"`merge` of {s['k']} shard stores (10 runs each) into a new store",
                     f"{s['new_s']:.2f} s", "", ""))
        rows.append((f"`merge` of the {s['k']} shards again into the result", f"{s['again_s']:.2f} s",
                     f"{s['new_s']:.2f} s (into a new store)", f"{s['again_s'] / s['new_s']:.2f}"))
    if "budget" in scale:
        b = scale["budget"]
        rows.append(("`budget`, 1000 tests (20 flaky) × 1000 CI runs (10^6 results)",
                     f"{b['s']:.2f} s", f"goal {BUDGET_S:.0f} s", f"{b['s'] / BUDGET_S:.2f}"))
        rows.append(("`budget`, peak RSS", f"{b['rss']:.1f} MiB", f"goal {BUDGET_MIB:.0f} MiB",
                     f"{b['rss'] / BUDGET_MIB:.2f}"))
    fmt = lambda t: " ".join(f"{x:.1f}" for x in t)
    print(f"Load average before: {fmt(load_before)}; after: {fmt(load_after)} "
          f"({os.cpu_count()} CPUs).\n")
    print("| what | value | baseline | ratio |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if "--json" in a:
        with open(a["--json"], "w") as f:
            json.dump({"launch": launch, "scale": scale, "load_before": load_before,
                       "load_after": load_after, "rows": rows}, f, indent=1)

if __name__ == "__main__":
    main()
