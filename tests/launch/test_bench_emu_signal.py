#!/usr/bin/env python3
"""SIGINT/SIGTERM/SIGHUP of `flakemeter bench emu` leave no process and a consistent store (issue
14, item 18: bench emu's signals now go through a signalfd, the run engine's design).

usage: test_bench_emu_signal.py FLAKEMETER FM_STRESS SOURCE_DIR
The native fm-stress is copied to a file with a unique name and qemu-aarch64 to a folder of that
name put first in PATH, so each live process of the benchmark can be found by /proc/PID/exe.  For
each signal: start a benchmark of slow runs (about 0.1 s native, 1.5 s under QEMU), wait until it
has stored a rep and is inside a run, send the signal, and require: exit 130/143/129 within 10 s,
no live process of either copy 3 s later, the store passes PRAGMA integrity_check, and the native
and emulated campaigns hold the same run indices (a rep is stored whole or not at all).
Needs qemu-aarch64 and SOURCE_DIR/build-cross-aarch64 (tools/cross/build.sh aarch64); without them
it exits 77 saying so, unless FM_REQUIRE_CROSS=1 (CI), which makes that a failure.
"""
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

FM, FM_STRESS, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
failures = checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def live_with_exe(paths):
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/exe") in paths:
                    found.append(int(d))
            except OSError:
                pass
    return found


qemu = shutil.which("qemu-aarch64")
cross = os.path.join(SRC, "build-cross-aarch64", "workloads", "fm-stress")
if qemu is None or not os.access(cross, os.X_OK):
    why = "qemu-aarch64 is not installed" if qemu is None else f"no cross build {cross}"
    if os.environ.get("FM_REQUIRE_CROSS") == "1":
        print(f"FAIL: {why} (FM_REQUIRE_CROSS=1)")
        sys.exit(1)
    print(f"SKIP: {why} (tools/cross/build.sh aarch64)")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="fm-emu-signal-")
tag = f"fm-emu-{os.getpid()}-{secrets.token_hex(4)}"
native = os.path.join(tmp, tag)
shutil.copy(FM_STRESS, native)
os.chmod(native, 0o755)
bindir = os.path.join(tmp, tag + "-bin")
os.mkdir(bindir)
qemu_copy = os.path.join(bindir, "qemu-aarch64")
shutil.copy(qemu, qemu_copy)
os.chmod(qemu_copy, 0o755)
env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
ours = {native, qemu_copy}

WANT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
for sig, code in WANT.items():
    name = signal.Signals(sig).name
    db = os.path.join(tmp, f"{name}.db")
    p = subprocess.Popen([FM, "bench", "emu", "--arch", "aarch64", "--workload",
                          "stress_heap:threads=1:iters=2000000", "-n", "40", "--warmup", "0",
                          "--native", native, "--cross-dir", SRC, "--db", db, "-q"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    # Wait for a stored rep (both campaigns), then for a run in flight.
    end, stored = time.monotonic() + 120, 0
    while time.monotonic() < end and p.poll() is None and stored < 1:
        time.sleep(0.1)
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            stored = con.execute("SELECT count(*) FROM runs").fetchone()[0] // 2
            con.close()
        except sqlite3.Error:
            pass
    while time.monotonic() < end and p.poll() is None and not live_with_exe(ours):
        time.sleep(0.01)
    check(p.poll() is None and live_with_exe(ours), f"{name}: no run in flight to interrupt")
    p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        check(False, f"{name}: bench emu did not stop within 10 s")
    check(p.returncode == code, f"{name}: exit {p.returncode}, wanted {code}: {err.strip()}")
    end = time.monotonic() + 3
    while live_with_exe(ours) and time.monotonic() < end:
        time.sleep(0.05)
    left = live_with_exe(ours)
    check(left == [], f"{name}: {len(left)} processes of the benchmark left")
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    con = sqlite3.connect(db)
    check(con.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"{name}: integrity")
    sides = {}
    for (label, idx) in con.execute("SELECT c.label, r.run_index FROM runs r JOIN campaigns c "
                                    "ON c.id = r.campaign"):
        sides.setdefault("emulated" if "qemu" in label else "native", set()).add(idx)
    con.close()
    n, e = sides.get("native", set()), sides.get("emulated", set())
    check(len(n) >= 1 and n == e, f"{name}: native reps {sorted(n)} vs emulated {sorted(e)}")
    print(f"{name}: exit {p.returncode}, {len(n)} reps stored whole, {len(left)} processes left")

shutil.rmtree(tmp, ignore_errors=True)
print(f"{checks - failures}/{checks} checks passed")
sys.exit(1 if failures else 0)
