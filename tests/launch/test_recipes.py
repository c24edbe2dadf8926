#!/usr/bin/env python3
"""The fleet recipes of docs/scale/ parse and, run as their engine would, give one campaign.

usage: test_recipes.py FLAKEMETER SOURCE_ROOT   (with Debian's /usr/bin/python3: python3-yaml)

For each recipe (a Kubernetes Indexed Job, a GitHub Actions matrix, GitLab `parallel:`, a Slurm
array script) the test checks what its engine needs (the Job is Indexed and its count is the
FLAKEMETER_SHARD_COUNT it gives; the matrix indices are 0..N-1 and N is the --shard count; the
merge job waits for the shards) and then runs the shard commands themselves, with the variables
the engine would set for each shard (JOB_COMPLETION_INDEX, ${{ matrix.i }}, CI_NODE_INDEX and
CI_NODE_TOTAL, SLURM_ARRAY_TASK_*), and the recipe's own merge commands.  The merged store must
hold one campaign with every shard's runs once: shards * runs-per-shard distinct runs.  Only
the run count is lowered (-n 2500 to -n 40, to keep the suite fast) and paths are moved into a
temporary folder.  Exit 77 when PyYAML is missing.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIP: PyYAML is not installed (Debian: python3-yaml; run with /usr/bin/python3)")
    sys.exit(77)

FLAKEMETER = os.path.abspath(sys.argv[1])
DOCS = os.path.join(sys.argv[2], "docs", "scale")
RUNS = 40
failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print(f"FAIL: {what}")
    return ok


def sh(cmd, cwd, env):
    """Run one recipe line as the engine's shell would, with our flakemeter first on PATH."""
    bindir = os.path.join(cwd, ".bin")
    os.makedirs(bindir, exist_ok=True)
    link = os.path.join(bindir, "flakemeter")
    if not os.path.exists(link):
        os.symlink(FLAKEMETER, link)
    cmd = cmd.replace("-n 2500", f"-n {RUNS}")
    full = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"], **env)
    r = subprocess.run(["/bin/sh", "-c", cmd], cwd=cwd, env=full, capture_output=True, text=True,
                       timeout=300)
    check(r.returncode == 0, f"`{cmd}` with {env}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def one_campaign(db, shards, what):
    r = subprocess.run([FLAKEMETER, "show", "--list", "--db", db, "--json"], capture_output=True,
                       text=True)
    if not check(r.returncode == 0, f"{what}: show --list: {r.stderr.strip()}"):
        return
    rows = json.loads(r.stdout)
    runs = [row.get("runs") for row in rows]
    check(len(rows) == 1 and runs[0] == shards * RUNS,
          f"{what}: want one campaign of {shards} x {RUNS} runs, have {runs}")
    print(f"{what}: {len(rows)} campaign, runs {runs}")


def kubernetes(tmp):
    job = yaml.safe_load(open(os.path.join(DOCS, "k8s-indexed-job.yaml")))
    spec = job["spec"]
    check(job["kind"] == "Job" and spec.get("completionMode") == "Indexed",
          "k8s: not an Indexed Job")
    n = spec["completions"]
    pod = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in pod.get("env", [])}
    check(env.get("FLAKEMETER_SHARD_COUNT") == str(n),
          f"k8s: FLAKEMETER_SHARD_COUNT {env.get('FLAKEMETER_SHARD_COUNT')} != completions {n}")
    check(spec.get("parallelism") == n, "k8s: parallelism is not completions")
    cmd = pod["args"][0]
    check("--shard auto" in cmd and "$JOB_COMPLETION_INDEX" in cmd,
          f"k8s: the pod does not shard by its index: {cmd}")
    cmd = cmd.replace("/results", tmp)
    for i in range(n):
        sh(cmd, tmp, dict(env, JOB_COMPLETION_INDEX=str(i)))
    sh(f"flakemeter merge -o all.db {tmp}/shard-*.db", tmp, {})
    one_campaign(os.path.join(tmp, "all.db"), n, "k8s")
    # The shards read as one without a merge: show and report take the glob.
    r = subprocess.run([FLAKEMETER, "show", "--json", "--db", f"{tmp}/shard-*.db"],
                       capture_output=True, text=True)
    check(r.returncode == 0 and json.loads(r.stdout)["runs"] == n * RUNS,
          f"k8s: show --db 'shard-*.db': {r.returncode} {r.stderr.strip()}")
    md = os.path.join(tmp, "shards.md")
    r = subprocess.run([FLAKEMETER, "report", "--db", f"{tmp}/shard-*.db", "-o", md],
                       capture_output=True, text=True)
    check(r.returncode == 0 and f"| {n * RUNS} |" in open(md).read().replace("\u00a0", " "),
          f"k8s: report --db 'shard-*.db': {r.returncode} {r.stderr.strip()}")


def github(tmp):
    wf = yaml.safe_load(open(os.path.join(DOCS, "github-actions.yml")))
    measure, merge = wf["jobs"]["measure"], wf["jobs"]["merge"]
    indices = measure["strategy"]["matrix"]["i"]
    run = next(s["run"] for s in measure["steps"] if "flakemeter run" in s.get("run", ""))
    m = re.search(r"--shard \$\{\{ matrix\.i \}\}/(\d+)", run)
    if not check(m is not None, f"github: no --shard ${{{{ matrix.i }}}}/N in {run}"):
        return
    n = int(m.group(1))
    check(indices == list(range(n)), f"github: matrix {indices} is not 0..{n - 1}")
    check(merge.get("needs") == "measure", "github: the merge job does not wait for the shards")
    up = [s for s in measure["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    check(len(up) == 1, "github: the shards upload no artifact")
    os.makedirs(os.path.join(tmp, "shards"))
    for i in indices:
        work = os.path.join(tmp, f"runner{i}")
        os.makedirs(work)
        sh(run.replace("${{ matrix.i }}", str(i)), work, {})
        # upload-artifact + download-artifact(merge-multiple) into shards/
        path = up[0]["with"]["path"].replace("${{ matrix.i }}", str(i))
        shutil.copy(os.path.join(work, path), os.path.join(tmp, "shards"))
    summary = os.path.join(tmp, "summary.md")
    for s in merge["steps"]:
        if "run" in s and s.get("name") != "Install flakemeter":
            sh(s["run"], tmp, {"GITHUB_STEP_SUMMARY": summary})
    one_campaign(os.path.join(tmp, "all.db"), n, "github")
    check(os.path.getsize(summary) > 0, "github: nothing written to the step summary")


def gitlab(tmp):
    ci = yaml.safe_load(open(os.path.join(DOCS, "gitlab-ci.yml")))
    measure, merge = ci["measure"], ci["merge"]
    n = measure["parallel"]
    check(merge.get("needs") == ["measure"], "gitlab: the merge job does not wait for the shards")
    check(any("--shard auto" in line for line in measure["script"]),
          "gitlab: the shards do not use --shard auto")
    for i in range(1, n + 1):  # GitLab counts from 1
        for line in measure["script"]:
            sh(line, tmp, {"CI_NODE_INDEX": str(i), "CI_NODE_TOTAL": str(n)})
    for line in merge["script"]:
        sh(line, tmp, {})
    one_campaign(os.path.join(tmp, "all.db"), n, "gitlab")


def slurm(tmp):
    text = open(os.path.join(DOCS, "slurm-array.sbatch")).read()
    m = re.search(r"^#SBATCH --array=(\d+)-(\d+)$", text, re.M)
    if not check(m is not None, "slurm: no #SBATCH --array=A-B"):
        return
    lo, hi = int(m.group(1)), int(m.group(2))
    body = re.sub(r"\\\n\s*", "", text)  # join continued lines
    cmd = next(line for line in body.splitlines() if line.startswith("exec flakemeter"))
    for task in range(lo, hi + 1):
        sh(cmd, tmp, {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": str(lo),
                      "SLURM_ARRAY_TASK_MAX": str(hi), "SLURM_ARRAY_TASK_STEP": "1",
                      "SLURM_ARRAY_TASK_COUNT": str(hi - lo + 1), "SLURM_CPUS_PER_TASK": "1"})
    sh("flakemeter merge -o all.db shard-*.db", tmp, {})
    one_campaign(os.path.join(tmp, "all.db"), hi - lo + 1, "slurm")


for recipe in (kubernetes, github, gitlab, slurm):
    with tempfile.TemporaryDirectory(prefix="fm-recipe-") as tmp:
        recipe(tmp)
print(f"recipes: {failures} failed")
sys.exit(1 if failures else 0)
