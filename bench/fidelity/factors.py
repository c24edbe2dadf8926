#!/usr/bin/env python3
"""factors.py - what separates a run under flakemeter from the same run in a shell loop, factor
by factor, on the real MicroPython and on flakemeter's port (issue 18).  Not run in CI.

usage: bench/fidelity/factors.py --flakemeter BUILD/cli/flakemeter --fm-stress BUILD/workloads/fm-stress
           --micropython PATH/micropython --tests PATH/tests/thread [--runs N] [--batch M]
           [--seed S] [--programs real,port] [--program NAME=ARGS] [--command NAME=ARGV]
           [--conditions A,B,...] [--json OUT]

--command adds a program given as a whole command line, e.g. the real binary or the port under
qemu-user (`rv_real='qemu-riscv64 build-riscv64-standard/micropython tests/thread/...'`);
`--programs ''` leaves out the native real and port.

Each condition starts the program under one set of circumstances, from this Python runner
(os.fork + os.execv unless the condition says otherwise; the runner waits in waitpid, as a shell
does):

  base        fork+exec, stdout/stderr to /dev/null, unpinned, one at a time (a shell loop)
  pipe, file  output into a pipe the runner drains / into a regular file
  spawn       os.posix_spawn (vfork-style: the runner sleeps until the child has exec'd)
  shell       through /bin/sh -c
  pgrp        the child makes itself a process-group leader (setpgid) before exec
  pdeathsig   the child sets PR_SET_PDEATHSIG(SIGKILL) before exec
  aff0        affinity {0} set in the child between fork and exec (as flakemeter --pin 0)
  aff1        the same with {1} (aff1+taskset0: taskset then changes the mask and moves it)
  taskset0    taskset -c 0 PROGRAM (the affinity set by taskset, then exec)
  tasksetall  taskset -c ALL-ALLOWED-CPUS PROGRAM (taskset's extra exec, no pinning)
  two0        two at a time, both on CPU 0 (what `--cpus 1 -j 2` did)
  two         two at a time, unpinned (a -j 2 runner on 2 CPUs)
  runner1     the runner pinned to CPU 1, the program unpinned (the runner's own placement);
              runner0 the same on CPU 0; combined, e.g. taskset0+pipe+runner1
  A+B         tokens combined, e.g. taskset0+pipe, aff0+pipe (like for like with flakemeter)
  fm          flakemeter run -j 1 (its defaults: fork launch, output through a pipe)
  fm_pin0     flakemeter run -j 1 --pin 0
  fm_null     flakemeter run -j 1 --output null (only if this flakemeter has --output)
  fm_spawn    flakemeter run -j 1 --launch spawn

Conditions are interleaved in randomised blocks (each block runs every condition's batch of M
runs once, in an order drawn from --seed), for each program, so a drifting machine lands on every
condition alike; the load average before and after is recorded.  For the one-at-a-time
conditions it also counts runs and failures by the CPU this runner was on when it forked, and
with --child-cpu by the CPU the child first ran on (before taskset moves it).  A run fails when
it exits non-zero or dies of a signal (stress_recurse crashes with SIGSEGV).  Prints one line per
condition: failures/runs, rate, exact 95 % interval, and the ratio to `base` of the same program;
--json writes the counts per block too (for the within-block analysis).  --ratios A/B,...
(default taskset0/base,taskset0+pipe/pipe) prints each program's rate ratio of condition A to B
with its 95 % Katz interval, and each port's ratio divided by the first program's (the
original's, or the one --against names: rv_port=rv_real,arm_port=arm_real when several arches
run in one interleaved run) with its interval and the p of "the same ratio" (Wald on the log
scale): how docs/workloads.md judges whether a port depends on placement as the original does.
"""
import argparse
import ctypes
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ALL = ["base", "pipe", "file", "spawn", "shell", "pgrp", "pdeathsig", "aff0", "taskset0",
       "tasksetall", "two0",
       "two", "runner1", "runner0", "fm", "fm_pin0", "fm_null", "fm_spawn"]
PR_SET_PDEATHSIG = 1
RUNNER_CPU = {}  # (argv, condition) -> {runner's CPU at the fork: [runs, failures]}
CHILD_CPU_ON = False  # --child-cpu: also the CPU the child first ran on
LAST_CHILD_CPU = {}  # pid -> read end of its CPU pipe; "cpu" -> the last one read
libc = ctypes.CDLL(None, use_errno=True)


def exact_ci(k, n):
    """Clopper-Pearson 95 % by bisection on the binomial tails (no scipy)."""
    from math import comb

    def cdf(x, p):
        return sum(comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(0, x + 1))

    def solve(f, lo=0.0, hi=1.0):
        for _ in range(60):
            mid = (lo + hi) / 2
            if f(mid):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    if n == 0:
        return 0.0, 1.0
    lower = 0.0 if k == 0 else solve(lambda p: 1 - cdf(k - 1, p) < 0.025)
    upper = 1.0 if k == n else solve(lambda p: cdf(k, p) > 0.025)
    return lower, upper


def log_ratio(k1, n1, k0, n0):
    """log of the rate ratio (k1/n1)/(k0/n0) and its standard error (Katz); with a zero count
    every cell gets 0.5 (Haldane), so the ratio stays finite."""
    from math import log, sqrt
    if 0 in (k1, k0, n1 - k1, n0 - k0):
        k1, n1, k0, n0 = k1 + 0.5, n1 + 1, k0 + 0.5, n0 + 1
    return log((k1 / n1) / (k0 / n0)), sqrt(1 / k1 - 1 / n1 + 1 / k0 - 1 / n0)


def ratio_report(counts, progs, pairs, runs, against=None):
    """For each pair A/B of conditions: every program's rate ratio with its 95 % interval, and,
    against its original (against[program], else the first program), the ratio of ratios with
    its interval and the two-sided p of 'the same ratio' (Wald on the log scale)."""
    from math import erfc, exp, sqrt
    against = against or {}
    refs = set(against.values()) | {progs[0]}
    lines = []
    for a, b in pairs:
        if any(c not in counts[progs[0]] for c in (a, b)):
            continue
        lines.append(f"{a} / {b}:")
        est = {}
        for p in progs:
            k1, k0 = sum(counts[p][a]), sum(counts[p][b])
            est[p] = log_ratio(k1, runs, k0, runs)
        for p in progs:
            k1, k0 = sum(counts[p][a]), sum(counts[p][b])
            lr, se = est[p]
            text = (f"  {p:10s} {k1}/{runs} vs {k0}/{runs}: ratio {exp(lr):.2f} "
                    f"({exp(lr - 1.96 * se):.2f}-{exp(lr + 1.96 * se):.2f})")
            ref = against.get(p, None if p in refs else progs[0])
            if ref is not None:
                d, sd = lr - est[ref][0], sqrt(se ** 2 + est[ref][1] ** 2)
                pval = erfc(abs(d) / sd / sqrt(2))
                text += (f"; against {ref}: x{exp(d):.2f} ({exp(d - 1.96 * sd):.2f}-"
                         f"{exp(d + 1.96 * sd):.2f}), p = {pval:.2g}")
            lines.append(text)
    return lines


def child_exec(argv, out_fd, pgrp, pdeathsig, affinity, cpu_fd=None):
    try:
        if cpu_fd is not None:  # --child-cpu: the CPU this child first ran on, before anything
            os.write(cpu_fd, bytes([libc.sched_getcpu() & 0xff]))
        if pgrp:
            os.setpgid(0, 0)
        if pdeathsig:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.execv(argv[0], argv)
    finally:
        os._exit(127)


def start(argv, cond, tmp, devnull):
    """Start one run; returns (pid, read_fd or None, file path or None).  cond may join tokens
    with '+' (taskset0+pipe: like for like with flakemeter's pipe)."""
    tokens = set(cond.split("+"))
    rfd = path = None
    if "pipe" in tokens:
        rfd, wfd = os.pipe()
        out = wfd
    elif "file" in tokens:
        path = os.path.join(tmp, f"out-{time.monotonic_ns()}")
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    else:
        out = devnull
    if "taskset0" in tokens:
        argv = [shutil.which("taskset"), "-c", "0"] + argv
    elif "tasksetall" in tokens:  # taskset's exec without the pinning
        allowed = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
        argv = [shutil.which("taskset"), "-c", allowed] + argv
    if "shell" in tokens:
        argv = ["/bin/sh", "-c", " ".join(argv)]
    if "spawn" in tokens:
        pid = os.posix_spawn(argv[0], argv, os.environ,
                             file_actions=[(os.POSIX_SPAWN_DUP2, out, 1),
                                           (os.POSIX_SPAWN_DUP2, out, 2)])
    else:
        aff = {0} if tokens & {"aff0", "two0"} else {1} if "aff1" in tokens else None
        cr = cw = None
        if CHILD_CPU_ON:
            cr, cw = os.pipe()
        pid = os.fork()
        if pid == 0:
            if rfd is not None:
                os.close(rfd)
            child_exec(argv, out, "pgrp" in tokens, "pdeathsig" in tokens, aff, cw)
        if cw is not None:
            os.close(cw)
            LAST_CHILD_CPU[pid] = cr
    if out != devnull:
        os.close(out)
    return pid, rfd, path


def finish(pid, rfd, path):
    cr = LAST_CHILD_CPU.pop(pid, None)
    if cr is not None:
        b = os.read(cr, 1)
        os.close(cr)
        LAST_CHILD_CPU["cpu"] = b[0] if b else -1
    if rfd is not None:
        while os.read(rfd, 65536):
            pass
        os.close(rfd)
    _, status = os.waitpid(pid, 0)
    if path:
        os.unlink(path)
    return not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0)


def batch_runner(argv, cond, m, tmp, devnull):
    """m runs under cond from this runner; returns failures.  A runner0/runner1 token pins this
    runner to that CPU for the batch (alone it means base with the runner pinned)."""
    fails = 0
    tokens = cond.split("+")
    pin = [t for t in tokens if t in ("runner0", "runner1")]
    cond = "+".join(t for t in tokens if t not in pin) or "base"
    if pin:
        saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {int(pin[0][-1])})
    try:
        if cond in ("two", "two0"):
            done = 0
            while done < m:
                k = min(2, m - done)
                runs = [start(argv, cond, tmp, devnull) for _ in range(k)]
                fails += sum(finish(*r) for r in runs)
                done += k
        else:
            for _ in range(m):
                cpu = libc.sched_getcpu()  # where this runner forks from
                failed = finish(*start(argv, cond, tmp, devnull))
                if CHILD_CPU_ON:
                    cpu = (cpu, LAST_CHILD_CPU.pop("cpu", -1))
                fails += failed
                cell = RUNNER_CPU.setdefault((tuple(argv), "+".join(tokens)), {})
                c = cell.setdefault(cpu, [0, 0])
                c[0] += 1
                c[1] += failed
    finally:
        if pin:
            os.sched_setaffinity(0, saved)
    return fails


def batch_fm(fm, argv, cond, m, tmp, label):
    extra = {"fm": [], "fm_pin0": ["--pin", "0"], "fm_null": ["--output", "null"],
             "fm_spawn": ["--launch", "spawn"]}[cond]
    db = os.path.join(tmp, "fm.db")
    r = subprocess.run([fm, "run", "--db", db, "--label", label, "-n", str(m), "-j", "1",
                        "--quiet", "--json", *extra, "--", *argv],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"flakemeter {cond}: {r.stderr.strip()}")
    o = json.loads(r.stdout)
    return o["runs"] - o["passed"]


def supported(fm, cond, tmp):
    if not cond.startswith("fm_") or cond == "fm_pin0":
        return True
    extra = {"fm_null": ["--output", "null"], "fm_spawn": ["--launch", "spawn"]}[cond]
    r = subprocess.run([fm, "run", "--db", os.path.join(tmp, "probe.db"), "-n", "1", "--quiet",
                        *extra, "--", "true"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flakemeter", required=True)
    ap.add_argument("--fm-stress", required=True)
    ap.add_argument("--micropython", required=True)
    ap.add_argument("--tests", required=True, help="MicroPython's tests/thread folder")
    ap.add_argument("--test", default="stress_recurse.py")
    ap.add_argument("--port-args", default="stress_recurse publish=late")
    ap.add_argument("--program", action="append", default=[],
                    help="NAME=ARGS: one more port variant, fm-stress ARGS (e.g. "
                         "s3000='stress_recurse publish=late startup=3000')")
    ap.add_argument("--command", action="append", default=[],
                    help="NAME=ARGV: one more program, a whole command line (e.g. "
                         "rv_port='qemu-riscv64 build-cross-riscv64/workloads/fm-stress "
                         "stress_recurse publish=late')")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--programs", default="real,port")
    ap.add_argument("--conditions", default=",".join(ALL))
    ap.add_argument("--ratios", default="taskset0/base,taskset0+pipe/pipe",
                    help="A/B,...: rate ratios of condition A to B per program, and each "
                         "port's ratio against the first program's (the original's)")
    ap.add_argument("--against", default="",
                    help="PORT=ORIGINAL,...: whose ratio each port's is compared with (default: "
                         "the first program's), e.g. rv_port=rv_real,arm_port=arm_real")
    ap.add_argument("--child-cpu", action="store_true",
                    help="the child writes the CPU it first ran on into a pipe before anything "
                         "else (one write() more before its exec); counted with the runner's")
    ap.add_argument("--json")
    a = ap.parse_args()
    global CHILD_CPU_ON
    CHILD_CPU_ON = a.child_cpu
    programs = {"real": [os.path.abspath(a.micropython), os.path.join(a.tests, a.test)],
                "port": [os.path.abspath(a.fm_stress)] + a.port_args.split()}
    for spec in a.program:
        name, args = spec.split("=", 1)
        programs[name] = [os.path.abspath(a.fm_stress)] + args.split()
    for spec in a.command:
        name, args = spec.split("=", 1)
        programs[name] = [shutil.which(w) or w if i == 0 else w for i, w in enumerate(args.split())]
    progs = [p for p in a.programs.split(",") if p]
    progs += [spec.split("=", 1)[0] for spec in a.program + a.command]
    rng = random.Random(a.seed)
    devnull = os.open(os.devnull, os.O_WRONLY)
    result = {"load_before": os.getloadavg(), "runs": a.runs, "batch": a.batch, "seed": a.seed,
              "programs": {p: programs[p] for p in progs}, "counts": {}}
    with tempfile.TemporaryDirectory() as tmp:
        conds = [c for c in a.conditions.split(",") if supported(a.flakemeter, c, tmp)]
        skipped = [c for c in a.conditions.split(",") if c not in conds]
        if skipped:
            print(f"(not supported by this flakemeter, left out: {', '.join(skipped)})")
        blocks = a.runs // a.batch
        counts = {p: {c: [] for c in conds} for p in progs}
        t0 = time.monotonic()
        for b in range(blocks):
            order = [(p, c) for p in progs for c in conds]
            rng.shuffle(order)
            for p, c in order:
                if c.startswith("fm"):
                    k = batch_fm(a.flakemeter, programs[p], c, a.batch, tmp, f"{p} {c} block {b}")
                else:
                    k = batch_runner(programs[p], c, a.batch, tmp, devnull)
                counts[p][c].append(k)
            print(f"block {b + 1}/{blocks} done ({time.monotonic() - t0:.0f} s, load "
                  f"{os.getloadavg()[0]:.1f})", file=sys.stderr)
        result["load_after"] = os.getloadavg()
        result["wall_s"] = time.monotonic() - t0
        result["counts"] = counts
    print(f"load average before {result['load_before'][0]:.1f}, after "
          f"{result['load_after'][0]:.1f}; {a.runs} runs per condition in {blocks} blocks of "
          f"{a.batch}, {result['wall_s']:.0f} s")
    for p in progs:
        base = sum(counts[p].get("base", [0])) / a.runs if "base" in counts[p] else None
        print(f"{p}: {' '.join(programs[p])}")
        for c in conds:
            k = sum(counts[p][c])
            lo, hi = exact_ci(k, a.runs)
            ratio = f"{(k / a.runs) / base:.2f}x base" if base else "-"
            print(f"  {c:10s} {k:4d}/{a.runs:<4d} {100 * k / a.runs:5.1f}%  "
                  f"({100 * lo:.1f}-{100 * hi:.1f}%)  {ratio}")
    print("by the runner's CPU at the fork (with --child-cpu: runner's, child's first CPU), "
          "one-at-a-time conditions: failures/runs")
    for p in progs:
        for c in conds:
            cell = RUNNER_CPU.get((tuple(programs[p]), c))
            if cell:
                print(f"  {p:10s} {c:24s} " + ", ".join(
                    f"CPU {cpu}: {f}/{n}" for cpu, (n, f) in sorted(cell.items())))
    result["runner_cpu"] = {f"{p}|{c}": {str(k): v for k, v in
                                         RUNNER_CPU.get((tuple(programs[p]), c), {}).items()}
                            for p in progs for c in conds}
    pairs = [tuple(r.split("/", 1)) for r in a.ratios.split(",") if "/" in r]
    against = dict(x.split("=", 1) for x in a.against.split(",") if "=" in x)
    for line in ratio_report(counts, progs, pairs, a.runs, against):
        print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
