#!/usr/bin/env python3
"""A real Slurm job array of `flakemeter run --shard auto`, merged (issue 17).

usage: test_slurm.py FLAKEMETER

The test starts a single-node Slurm (Debian's slurm-wlm: slurmctld + slurmd, auth/none, state,
spool and logs in a temporary folder) and submits two 4-task arrays of the same seeded
campaign: `--array=0-3` and `--array=1-4` (Slurm task ids counted from 1: `--shard auto` must
still give shards 0..3).  Each array's 4 stores, merged with `flakemeter merge` and read at once
with `show --db` repeated, must give exactly the counts of one unsharded campaign of the same
seed and run count: the shards drew disjoint run indices and together every index once.

The daemons live in private namespaces (unshare --net --pid --mount): a network with only the
loopback device (plus a /32 on it, since Slurm resolves its listening address with
AI_ADDRCONFIG), so they listen on nothing outside; and a PID namespace whose init is this
script, so every daemon and job step dies with it whatever happens.  Exit 77 (skip) with the
reason when not root, when Slurm or unshare is missing, or when Slurm does not come up within
30 s.  By hand, the same: python3 tests/launch/test_slurm.py build/cli/flakemeter.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FLAKEMETER = os.path.abspath(sys.argv[1])
RUNS, SEED, P = 400, 11, 0.2


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def outside():
    if os.geteuid() != 0:
        skip("needs root: the daemons run in private network and PID namespaces (unshare)")
    for tool in ("slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "unshare", "ip"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed (Debian: slurm-wlm, util-linux, iproute2)")
    env = dict(os.environ, FM_SLURM_INSIDE="1")
    r = subprocess.run(["unshare", "--net", "--pid", "--fork", "--mount-proc", sys.executable,
                        os.path.abspath(__file__), *sys.argv[1:]], env=env)
    sys.exit(r.returncode)


CONF = """\
ClusterName=fmtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

JOB = """\
#!/bin/sh
# One task of the array: the shard comes from SLURM_ARRAY_TASK_* (--shard auto).
exec {fm} run --shard auto --db "{d}/shard_$SLURM_ARRAY_TASK_ID.db" -n {n} --seed {seed} -j 1 \\
    bernoulli p={p} > "{d}/task_$SLURM_ARRAY_TASK_ID.txt" 2>&1
"""


def fm(*args):
    return subprocess.run([FLAKEMETER, *args], capture_output=True, text=True, timeout=120)


def counts(*db_args):
    r = fm("show", *db_args, "--json")
    if r.returncode != 0:
        fail(f"show {' '.join(db_args)}: {r.stderr.strip()}")
    v = json.loads(r.stdout)
    return {k: v[k] for k in ("runs", "passed", "failed", "crashed", "timed_out", "errors",
                              "estimate", "lower", "upper")}


def inside(d):
    def log_tail():
        out = []
        for f in ("slurmctld.log", "slurmd.log"):
            p = os.path.join(d, f)
            if os.path.exists(p):
                out.append(f + ": " + " | ".join(open(p).read().splitlines()[-3:]))
        return "; ".join(out)

    try:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "addr", "add", "10.254.0.1/32", "dev", "lo"], check=True)
    except subprocess.CalledProcessError as e:
        skip(f"cannot set up the private network: {e}")
    os.makedirs(os.path.join(d, "state"))
    os.makedirs(os.path.join(d, "spool"))
    host = subprocess.run(["hostname", "-s"], capture_output=True, text=True).stdout.strip()
    conf = os.path.join(d, "slurm.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(host=host, d=d, cpus=os.cpu_count()))
    os.environ["SLURM_CONF"] = conf
    daemons = [subprocess.Popen([exe, "-D", *extra, "-f", conf], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
               for exe, extra in (("slurmctld", ["-i"]), ("slurmd", []))]
    try:
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
            if "idle" in r.stdout:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in daemons):
                skip(f"Slurm did not come up within 30 s ({log_tail()})")
            time.sleep(0.2)
        print(f"Slurm up in {30 - (deadline - time.monotonic()):.1f} s")

        arrays = {"0-3": os.path.join(d, "a0"), "1-4": os.path.join(d, "a1")}
        jobs = []
        for spec, sub in arrays.items():
            os.makedirs(sub)
            script = os.path.join(sub, "job.sh")
            with open(script, "w") as f:
                f.write(JOB.format(fm=FLAKEMETER, d=sub, n=RUNS // 4, seed=SEED, p=P))
            os.chmod(script, 0o755)
            r = subprocess.run(
                ["sbatch", "--parsable", f"--array={spec}", "-o",
                 os.path.join(sub, "slurm_%a.out"), "-D", sub, script],
                capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"sbatch: exit {r.returncode}: {r.stderr.strip()}")
            jobs.append(r.stdout.strip().split(";")[0])
        # Wait for both arrays (squeue lists a job until all its tasks ended; faster than
        # sbatch --wait, which polls every 10 s).
        deadline = time.monotonic() + 240
        while subprocess.run(["squeue", "-h", "-j", ",".join(jobs)], capture_output=True,
                             text=True).stdout.strip():
            if time.monotonic() > deadline:
                fail(f"the arrays did not end within 240 s ({log_tail()})")
            time.sleep(0.3)

        ref_db = os.path.join(d, "unsharded.db")
        r = fm("run", "--db", ref_db, "-n", str(RUNS), "--seed", str(SEED), "bernoulli",
               f"p={P}")
        if r.returncode != 0:
            fail(f"unsharded run: {r.stderr.strip()}")
        want = counts("--db", ref_db)
        print(f"unsharded: {want}")
        failures = 0
        for spec, sub in arrays.items():
            ids = range(0, 4) if spec == "0-3" else range(1, 5)
            shards = [os.path.join(sub, f"shard_{i}.db") for i in ids]
            missing = [s for s in shards if not os.path.exists(s)]
            if missing:
                fail(f"--array={spec}: no store {missing}; task output: "
                     + " | ".join(open(os.path.join(sub, f)).read().strip()
                                  for f in os.listdir(sub) if f.startswith("task_")))
            each = [counts("--db", s)["runs"] for s in shards]
            merged = os.path.join(sub, "merged.db")
            r = fm("merge", "-o", merged, *shards)
            if r.returncode != 0:
                fail(f"merge: {r.stderr.strip()}")
            got = counts("--db", merged)
            multi = counts(*[a for s in shards for a in ("--db", s)])
            ok = each == [RUNS // 4] * 4 and got == want and multi == want
            failures += not ok
            print(f"--array={spec}: shards {each}, merged {got}, read as one {multi}: "
                  f"{'ok' if ok else 'DIFFERENT'}")
        return failures
    finally:
        for p in daemons:
            p.terminate()
        for p in daemons:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    if os.environ.get("FM_SLURM_INSIDE") != "1":
        outside()
    with tempfile.TemporaryDirectory(prefix="fm-slurm-") as d:
        failures = inside(d)
    print(f"slurm: {'0 failed' if failures == 0 else f'{failures} failed'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
