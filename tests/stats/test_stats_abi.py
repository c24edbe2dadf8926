#!/usr/bin/env python3
"""libfmstats as other programs see it: the header, the version script and the library agree,
and a program built only from the installed files (pkg-config libfmstats) links and computes.

1. The functions declared in fm_stats.h, the names listed in libfmstats.sym and the symbols the
   shared library exports (nm -D) are the same three sets, and every export carries a
   LIBFMSTATS_ version node: an internal helper cannot leak into the ABI, nor can an API
   function go missing.
2. `meson install --destdir` into a scratch folder; a small consumer is compiled with the
   flags of the installed libfmstats.pc (its prefix moved into the scratch folder) and run
   against the installed .so; it must print the exact 95 % interval for 3 failures in 50 runs
   as R 4.2.2's binom.test(3, 50) gives it (tests/reference/intervals_r.csv), to 1e-12.

Usage: test_stats_abi.py SOURCE_ROOT BUILD_ROOT LIBFMSTATS_SO B_SANITIZE
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

fails = 0


def check(ok, what):
    global fails
    if not ok:
        fails += 1
        print("FAIL:", what)


def main():
    src, build, so, sanitize = sys.argv[1:5]
    header = open(os.path.join(src, "stats", "fm_stats.h"), encoding="utf-8").read()
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    declared = set(re.findall(r"\b(fm_stats_[a-z0-9_]+)\s*\(", header))
    sym = open(os.path.join(src, "stats", "libfmstats.sym"), encoding="utf-8").read()
    sym = re.sub(r"/\*.*?\*/", "", sym, flags=re.S)
    listed = set(re.findall(r"\b(fm_stats_[a-z0-9_]+)\s*;", sym))
    nm = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True,
                        check=True).stdout
    exported, unversioned = set(), []
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] == "A":
            continue
        name, _, version = parts[2].partition("@@")
        exported.add(name)
        if not version.startswith("LIBFMSTATS_"):
            unversioned.append(parts[2])
    check(len(declared) >= 30, f"only {len(declared)} functions found in fm_stats.h")
    check(declared == listed, f"header vs libfmstats.sym: only in header {sorted(declared - listed)}, "
          f"only in .sym {sorted(listed - declared)}")
    check(exported == declared, f"library vs header: exported only {sorted(exported - declared)}, "
          f"missing {sorted(declared - exported)}")
    check(not unversioned, f"exports without a LIBFMSTATS_ version: {unversioned}")
    print(f"ABI: {len(declared)} functions in fm_stats.h, {len(listed)} in libfmstats.sym, "
          f"{len(exported)} exported")

    if shutil.which("pkg-config") is None or shutil.which("cc") is None:
        print("SKIP consumer: no pkg-config or cc here")
        return 77 if fails == 0 else 1
    with tempfile.TemporaryDirectory() as tmp:
        dest = os.path.join(tmp, "root")
        r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                            "--destdir", dest], capture_output=True, text=True)
        check(r.returncode == 0, f"meson install: {r.stdout}{r.stderr}")
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs
               if f == "libfmstats.pc"]
        check(len(pcs) == 1, f"installed libfmstats.pc: {pcs}")
        if fails:
            return 1
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]))
        prefix = subprocess.run(["pkg-config", "--variable=prefix", "libfmstats"],
                                capture_output=True, text=True, env=env).stdout.strip()
        relocate = ["--define-variable=prefix=" + dest + prefix]
        flags = subprocess.run(["pkg-config"] + relocate + ["--cflags", "--libs", "libfmstats"],
                               capture_output=True, text=True, env=env)
        check(flags.returncode == 0, f"pkg-config: {flags.stderr}")
        prog = os.path.join(tmp, "consumer.c")
        with open(prog, "w") as f:
            f.write('#include <fm_stats.h>\n#include <stdio.h>\n'
                    'int main(void) {\n'
                    '    fm_interval ci;\n'
                    '    if (fm_stats_interval(3, 50, 0.95, FM_CI_EXACT, FM_CI_TWO_SIDED, &ci))\n'
                    '        return 1;\n'
                    '    printf("%.17g %.17g\\n", ci.lower, ci.upper);\n'
                    '    return 0;\n}\n')
        exe = os.path.join(tmp, "consumer")
        cmd = ["cc", prog, "-o", exe] + flags.stdout.split()
        if sanitize not in ("", "none"):
            cmd.append("-fsanitize=" + sanitize)
        r = subprocess.run(cmd, capture_output=True, text=True)
        check(r.returncode == 0, f"compile {' '.join(cmd)}: {r.stderr}")
        if fails:
            return 1
        libdir = os.path.dirname(subprocess.run(
            ["pkg-config"] + relocate + ["--variable=libdir", "libfmstats"],
            capture_output=True, text=True, env=env).stdout.strip() + "/x")
        run_env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        r = subprocess.run([exe], capture_output=True, text=True, env=run_env)
        check(r.returncode == 0, f"consumer exit {r.returncode}: {r.stderr}")
        got = [float(x) for x in r.stdout.split()] if r.returncode == 0 else []
        want = [0.012548587835334061, 0.16548194660377291]  # R 4.2.2: binom.test(3, 50)
        check(len(got) == 2 and all(abs(g - w) < 1e-12 for g, w in zip(got, want)),
              f"consumer printed {r.stdout!r}, expected {want}")
        ldd = subprocess.run(["ldd", exe], capture_output=True, text=True, env=run_env).stdout
        check(dest in ldd, f"the consumer did not load the installed libfmstats: {ldd}")
        print("consumer: built with pkg-config libfmstats from the installed files, printed",
              r.stdout.strip())
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
