#!/usr/bin/env python3
"""Prints criterion's point estimates as Markdown tables, one per group, with
each row's ratio to the fastest like-for-like competitor (a row whose name has
no '/' and is not promdecl's). Reads target/criterion/<group>/<case>/new/
estimates.json, so run it right after `cargo bench`.

    scripts/bench-table.py [CRITERION_DIR] [--median] [--prefix PREFIX]

--median uses criterion's median instead of its mean; --prefix keeps only the
groups whose directory name starts with PREFIX (`neutral_` for
benches/neutral.rs)."""
import json
import pathlib
import sys

args = sys.argv[1:]
stat = "mean"
prefix = ""
if "--median" in args:
    args.remove("--median")
    stat = "median"
if "--prefix" in args:
    i = args.index("--prefix")
    prefix = args[i + 1]
    del args[i : i + 2]
root = pathlib.Path(args[0] if args else "target/criterion")
OTHERS = ("prometheus", "prometheus-client", "measured", "metrics")


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.2f} ns"


for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report" and p.name.startswith(prefix)):
    rows = []
    for est in sorted(group.glob("**/new/estimates.json")):
        case = str(est.parent.parent.relative_to(group))
        rows.append((case, json.loads(est.read_text())[stat]["point_estimate"]))
    if not rows:
        continue
    # Criterion writes "crate/variant" as "crate_variant": only the bare
    # names of the other crates are like-for-like.
    others = [t for c, t in rows if c in OTHERS]
    fastest = min(others) if others else None
    print(f"\n### {group.name}\n\n| case | time ({stat}) | vs fastest other crate |\n|---|---:|---:|")
    for case, t in rows:
        ratio = f"{t / fastest:.2f}x" if fastest else ""
        print(f"| {case} | {fmt(t)} | {ratio} |")
