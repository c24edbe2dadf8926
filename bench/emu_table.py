#!/usr/bin/env python3
"""Markdown tables from `flakemeter bench emu --json` (the tables of docs/emulation.md).

usage: python3 bench/emu_table.py EMU.json [EMU2.json ...]

One row per workload (with its parameters and AES implementation), one column per arch:
the emulated median and the slowdown with its interval; the native median in its own column
(the median over the arches' native runs, which alternate with each arch's emulated runs).
A second table lists the emulated runs that did not pass, by outcome.  Standard library only.
"""
import json
import statistics
import sys

ARCHES = ["aarch64", "armhf", "armel", "riscv64", "mipsel", "mips"]


def secs(s):
    if s is None:
        return "-"
    return f"{s * 1e3:.0f} ms" if s < 1 else f"{s:.2f} s"


def main(paths):
    rows = {}
    bad = []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        for r in doc["results"]:
            name = r["workload"] + (" " + r["params"] if r["params"] else "")
            row = rows.setdefault(name, {"native": [], "cells": {}})
            if r["native_median_s"] is not None:
                row["native"].append(r["native_median_s"])
            if r["ratio"] is None:
                cell = f"{secs(r['emulated_median_s'])}, -"
            else:
                cell = (f"{secs(r['emulated_median_s'])}, **{r['ratio']:.1f}×** "
                        f"({r['ratio_lower']:.1f}–{r['ratio_upper']:.1f})")
            row["cells"][r["arch"]] = cell
            failed = {k: v for k, v in r["outcomes"].items() if k != "pass" and v}
            if failed:
                bad.append((name, r["arch"], r["reps"], failed, r["first_failure"]))
    arches = [a for a in ARCHES if any(a in row["cells"] for row in rows.values())]
    print("| workload | native | " + " | ".join(arches) + " |")
    print("|---|---:|" + "---:|" * len(arches))
    for name, row in rows.items():
        native = secs(statistics.median(row["native"])) if row["native"] else "-"
        cells = [row["cells"].get(a, "-") for a in arches]
        print(f"| `{name}` | {native} | " + " | ".join(cells) + " |")
    if bad:
        print()
        print("| workload | arch | reps | not passed | first failing run |")
        print("|---|---|---:|---|---|")
        for name, arch, reps, failed, first in bad:
            what = ", ".join(f"{v} {k}" for k, v in failed.items())
            print(f"| `{name}` | {arch} | {reps} | {what} | `{first}` |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
