#!/usr/bin/env python3
"""The layering of docs/design.md, read off the #include lines.

Every project header has exactly one home folder; a file may include headers of its own folder
and of the folders below it, never above:

    common/, stats/, workloads/ nothing else of ours
    plot/                       common/
    store/                      common/, stats/
    history/                    common/, store/, stats/  (and the store's friend header)
    launch/                     common/, store/, stats/, workloads/
    report/                     common/, store/, stats/, history/, launch/ (and launch's
                                workloads/ through fm_bench_emu.h)
    cli/                        any library; no library includes cli/

The store's friend header (store/fm_store_internal.h) is included only by store/ and history/,
and the PostgreSQL backend's headers (store/fm_pg.h, store/fm_pg_internal.h) only by store/.
Each cli/cmd_*.c stays at or under 350 lines: a command file parses, makes one library call and
prints.  Both forms of #include ("..." and <...>) are read, so a project header cannot slip in
through the system form.  Usage: test_layering.py SOURCE_ROOT
"""
import os
import re
import sys

LIBS = {
    "common": set(),
    "stats": set(),
    "workloads": set(),
    "plot": {"common"},
    "store": {"common", "stats"},
    "history": {"common", "store", "stats"},
    "launch": {"common", "store", "stats", "workloads"},
    "report": {"common", "store", "stats", "history", "launch", "workloads"},
    "cli": {"common", "stats", "workloads", "plot", "store", "history", "launch", "report"},
}
FRIENDS = {"fm_store_internal.h": {"store", "history"}, "fm_pg.h": {"store"},
           "fm_pg_internal.h": {"store"}}
CMD_MAX_LINES = 350
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def main():
    root = sys.argv[1]
    home = {}
    for folder in LIBS:
        for name in os.listdir(os.path.join(root, folder)):
            if name.endswith(".h"):
                if name in home:
                    print(f"header {name} is in both {home[name]}/ and {folder}/")
                    return 1
                home[name] = folder
    problems = []
    checked = 0
    for folder, allowed in LIBS.items():
        for name in sorted(os.listdir(os.path.join(root, folder))):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(folder, name)
            text = open(os.path.join(root, path), encoding="utf-8").read()
            for inc in INCLUDE.findall(text):
                base = os.path.basename(inc)
                if base not in home:
                    continue  # a system or third-party header
                checked += 1
                target = home[base]
                if target != folder and target not in allowed:
                    problems.append(f"{path} includes {base} from {target}/")
                if base in FRIENDS and folder not in FRIENDS[base]:
                    problems.append(f"{path} includes the store's private header {base}")
            if folder == "cli" and name.startswith("cmd_") and name.endswith(".c"):
                lines = text.count("\n")
                if lines > CMD_MAX_LINES:
                    problems.append(f"{path} has {lines} lines (at most {CMD_MAX_LINES})")
    for p in problems:
        print(p)
    print(f"{checked} project #include lines checked in {len(LIBS)} folders, "
          f"{len(problems)} problems")
    if checked < 50:
        print("too few #include lines found: is SOURCE_ROOT right?")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
