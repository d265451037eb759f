#!/usr/bin/env python3
"""Checks the README's table of examples against examples/ and Cargo.toml.

    python3 scripts/check-examples.py

Every program in examples/ must have exactly one row in the table under
"## Examples" in README.md, every row must name an existing example, and the
row's command must be `cargo run --example NAME ...` with a `--features` list
that holds every feature the example requires (`required-features` of its
`[[example]]` in Cargo.toml) and only features the package has. So a newcomer
who copies a command never meets cargo's "requires the features" error.

Reads files only (no build, well under a second). Prints one line per
problem and exits 1 if there was any, else prints a summary and exits 0.
"""
import pathlib
import re
import shlex
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def table_rows(readme):
    """(line number, cells) of each body row of the table under ## Examples."""
    lines = readme.splitlines()
    try:
        start = lines.index("## Examples")
    except ValueError:
        return None
    rows, seen_table = [], False
    for n, line in enumerate(lines[start + 1:], start + 2):
        if line.startswith("## "):
            break
        if line.startswith("|"):
            seen_table = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] in ("example",) or set(cells[0]) <= set("-: "):
                continue
            rows.append((n, cells))
        elif seen_table:
            break
    return rows


def main():
    problems = []
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    features = set(manifest.get("features", {}))
    required = {e["name"]: set(e.get("required-features", [])) for e in manifest.get("example", [])}
    examples = sorted(p.stem for p in (ROOT / "examples").glob("*.rs"))

    rows = table_rows((ROOT / "README.md").read_text())
    if rows is None:
        print("README.md: no '## Examples' section")
        return 1
    documented = {}
    for n, cells in rows:
        where = f"README.md:{n}"
        link = re.search(r"\(examples/([A-Za-z0-9_]+)\.rs\)", cells[0])
        if len(cells) != 3 or not link:
            problems.append(f"{where}: a row is | [`name`](examples/name.rs) | what it shows | `command` |")
            continue
        name = link.group(1)
        if name in documented:
            problems.append(f"{where}: {name} already has a row (line {documented[name]})")
        documented[name] = n
        if name not in examples:
            problems.append(f"{where}: examples/{name}.rs does not exist")
        command = re.fullmatch(r"`([^`]+)`", cells[2])
        if not command:
            problems.append(f"{where}: the command is not one `code span`")
            continue
        words = shlex.split(command.group(1).split("<")[0])
        if words[:4] != ["cargo", "run", "--example", name]:
            problems.append(f"{where}: the command does not start with `cargo run --example {name}`")
        flags = words[: words.index("--")] if "--" in words else words
        given = set()
        for i, w in enumerate(flags):
            if w == "--features" and i + 1 < len(flags):
                given |= set(re.split(r"[ ,]+", flags[i + 1]))
            elif w.startswith("--features="):
                given |= set(re.split(r"[ ,]+", w.split("=", 1)[1]))
        given.discard("")
        if unknown := sorted(given - features):
            problems.append(f"{where}: {name}: no such feature in Cargo.toml: {', '.join(unknown)}")
        if missing := sorted(required.get(name, set()) - given):
            problems.append(f"{where}: {name} requires --features {','.join(missing)} (Cargo.toml)")
    for name in examples:
        if name not in documented:
            problems.append(f"README.md: examples/{name}.rs has no row in the table under ## Examples")

    for p in problems:
        print(p)
    if problems:
        print(f"check-examples: {len(problems)} problem(s)")
        return 1
    print(f"check-examples: the README's table lists all {len(examples)} examples with the features they need")
    return 0


if __name__ == "__main__":
    sys.exit(main())
