#!/usr/bin/env python3
"""Prints which top-level module of a crate names which, and fails on a cycle.

    scripts/module-graph.py [--why] [CRATE_SRC ...]   (default: runtime/src macros/src)

`--why` lists, under each edge, the files and names that make it.

An edge `a -> b` means that code of top-level module `a` (its file or folder
under CRATE_SRC) names `crate::b::...` (or `super::` up to the root, or
`$crate::b` in a macro). A name re-exported at the crate root
(`pub use b::Item;` in lib.rs) counts as naming `b`. Comments and string
literals are ignored, and so is code compiled only for tests: items under a
`#[cfg(...)]` that is false without `test` (or under `promdecl_loom`), and
the module files such items declare.

Exits 1 if the graph of a crate has a cycle, printing each strongly connected
component; 0 otherwise.
"""

import os
import re
import sys

# ---------------------------------------------------------------- tokens


def tokenize(text):
    """Rust tokens, good enough for paths: identifiers, `::`, `$crate`,
    punctuation; comments and literals dropped (a literal becomes `"`)."""
    toks = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif re.match(r'b?r#*"', text[i:i + 40]):
            m = re.match(r'(b?r)(#*)"', text[i:])
            end = '"' + m.group(2)
            j = text.find(end, i + m.end())
            i = n if j < 0 else j + len(end)
            toks.append('"')
        elif c == '"' or text.startswith('b"', i):
            i += 1 if c == '"' else 2
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            toks.append('"')
        elif c == "'" or text.startswith("b'", i):
            # A char literal, or a lifetime / label.
            k = i + (1 if c == "'" else 2)
            m = re.match(r"(\\(x..|u\{[0-9a-fA-F]*\}|.)|[^\\'])'", text[k:k + 12], re.S)
            if m:
                i = k + m.end()
                toks.append('"')
            else:
                m = re.match(r"'[A-Za-z_][A-Za-z0-9_]*", text[i:])
                i += m.end() if m else 1
        elif c == "$" and text.startswith("$crate", i):
            toks.append("crate")
            i += 6
        elif c.isalpha() or c == "_":
            m = re.match(r"(r#)?[A-Za-z_][A-Za-z0-9_]*", text[i:])
            toks.append(m.group(0).removeprefix("r#"))
            i += m.end()
        elif c.isdigit():
            m = re.match(r"[0-9][0-9A-Za-z_.]*", text[i:])
            i += m.end()
            toks.append("0")
        elif text.startswith("::", i):
            toks.append("::")
            i += 2
        else:
            toks.append(c)
            i += 1
    return toks


# ---------------------------------------------------------------- cfg


def cfg_value(toks):
    """Kleene value of a cfg predicate (True, False or None for unknown)
    with `test` and `promdecl_loom` false and everything else unknown."""
    pos = 0

    def pred():
        nonlocal pos
        name = toks[pos]
        pos += 1
        if name in ("all", "any", "not") and pos < len(toks) and toks[pos] == "(":
            pos += 1
            vals = []
            while toks[pos] != ")":
                vals.append(pred())
                if toks[pos] == ",":
                    pos += 1
            pos += 1
            if name == "not":
                return None if vals[0] is None else not vals[0]
            if name == "all":
                if False in vals:
                    return False
                return None if None in vals else True
            if True in vals:
                return True
            return None if None in vals else False
        if pos < len(toks) and toks[pos] == "=":
            pos += 2
            return None
        return False if name in ("test", "promdecl_loom") else None

    return pred()


def skip_attr(toks, i):
    """Index after the attribute starting at toks[i] == '#'."""
    j = i + 1
    if toks[j] == "!":
        j += 1
    depth = 0
    while True:
        if toks[j] == "[":
            depth += 1
        elif toks[j] == "]":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1


def skip_item(toks, i):
    """Index after the item starting at toks[i] (after its attributes)."""
    depth = 0
    while i < len(toks):
        t = toks[i]
        if t in "{([":
            depth += 1
        elif t in "})]":
            depth -= 1
            if depth == 0 and t == "}":
                if i + 1 < len(toks) and toks[i + 1] == ";":
                    return i + 2
                return i + 1
        elif t == ";" and depth == 0:
            return i + 1
        i += 1
    return i


# ---------------------------------------------------------------- paths


def first_segments(toks, i):
    """First segment(s) of the path after `crate ::` at toks[i]."""
    if i >= len(toks):
        return []
    if toks[i] != "{":
        return [toks[i]] if re.match(r"[A-Za-z_]", toks[i]) else []
    out, depth, start = [], 0, True
    while i < len(toks):
        t = toks[i]
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and t == ",":
            start = True
            i += 1
            continue
        if depth == 1 and start and re.match(r"[A-Za-z_]", t):
            out.append(t)
            start = False
        i += 1
    return out


def scan(path, depth):
    """(first segments named from the crate root, test-only module files,
    `#[macro_export]` macros, which live at the root)."""
    toks = tokenize(open(path, encoding="utf-8").read())
    names, test_mods, inline, macros = [], set(), [], set()
    i = 0
    brace = 0
    while i < len(toks):
        t = toks[i]
        if t == "#" and i + 1 < len(toks) and toks[i + 1] in ("[", "!"):
            j = skip_attr(toks, i)
            attr = toks[i:j]
            k = attr.index("[") + 1
            if attr[k] == "cfg" and attr[k + 1] == "(" and cfg_value(attr[k + 2:-2]) is False:
                while j < len(toks) and toks[j] == "#":
                    j = skip_attr(toks, j)
                m = j
                while toks[m] in ("pub", "(", "crate", "super", "self", ")", "in"):
                    m += 1
                if toks[m] == "mod" and toks[m + 2] == ";":
                    test_mods.add(toks[m + 1])
                i = skip_item(toks, j)
                continue
            if attr[k] == "macro_export" and toks[j:j + 2] == ["macro_rules", "!"]:
                macros.add(toks[j + 2])
            i = j
            continue
        if t == "mod" and i + 2 < len(toks) and toks[i + 2] == "{":
            inline.append(brace)
            depth += 1
            brace += 1
            i += 3
            continue
        if t == "{":
            brace += 1
        elif t == "}":
            brace -= 1
            if inline and inline[-1] == brace:
                inline.pop()
                depth -= 1
        elif t == "crate" and i + 1 < len(toks) and toks[i + 1] == "::":
            names += first_segments(toks, i + 2)
        elif t == "super" and (i == 0 or toks[i - 1] != "::"):
            ups, k = 0, i
            while k + 1 < len(toks) and toks[k] == "super" and toks[k + 1] == "::":
                ups += 1
                k += 2
            if ups >= depth:
                names += first_segments(toks, k)
        i += 1
    return names, test_mods, macros


def module_files(src, top, lib_test_mods):
    """Files of top-level module `top`, without test-only submodules."""
    single = os.path.join(src, top + ".rs")
    folder = os.path.join(src, top)
    out = []

    def walk(mod_file, mod_dir, depth):
        names, test_mods, macros = scan(mod_file, depth)
        out.append((mod_file, names, macros))
        if not os.path.isdir(mod_dir):
            return
        for entry in sorted(os.listdir(mod_dir)):
            p = os.path.join(mod_dir, entry)
            stem = entry[:-3] if entry.endswith(".rs") else entry
            if stem in test_mods or stem == "mod.rs"[:-3]:
                continue
            if entry.endswith(".rs"):
                walk(p, os.path.join(mod_dir, stem), depth + 1)
            elif os.path.isdir(p) and os.path.exists(os.path.join(p, "mod.rs")):
                walk(os.path.join(p, "mod.rs"), p, depth + 1)

    if os.path.exists(single):
        walk(single, folder, 1)
    else:
        walk(os.path.join(folder, "mod.rs"), folder, 1)
    return out


def root_reexports(lib_toks, modules):
    """Names re-exported at the crate root, mapped to their module."""
    out = {}
    i = 0
    while i < len(lib_toks):
        if lib_toks[i] == "use" and i + 1 < len(lib_toks) and lib_toks[i + 1] in modules:
            mod = lib_toks[i + 1]
            j = i + 1
            while lib_toks[j] != ";":
                t = lib_toks[j]
                if re.match(r"[A-Za-z_]", t) and t not in ("self", "as", "crate"):
                    out.setdefault(t, mod)
                j += 1
            i = j
        i += 1
    return out


def crate_graph(src):
    lib = os.path.join(src, "lib.rs")
    lib_toks = tokenize(open(lib, encoding="utf-8").read())
    _, lib_test_mods, _ = scan(lib, 0)
    modules = set()
    i = 0
    while i < len(lib_toks):
        if lib_toks[i] == "mod" and i + 2 < len(lib_toks) and lib_toks[i + 2] in (";", "{"):
            modules.add(lib_toks[i + 1])
        i += 1
    modules -= lib_test_mods
    reexports = root_reexports(lib_toks, modules)
    files = {}
    for m in sorted(modules):
        if os.path.exists(os.path.join(src, m + ".rs")) or os.path.exists(os.path.join(src, m, "mod.rs")):
            files[m] = module_files(src, m, lib_test_mods)
            for _, _, macros in files[m]:
                reexports.update({name: m for name in macros})
    graph, why, unknown = {m: set() for m in modules}, {}, set()
    for m, found in files.items():
        for path, names, _ in found:
            for name in names:
                target = name if name in modules else reexports.get(name)
                if target is None:
                    unknown.add(name)
                elif target != m:
                    graph[m].add(target)
                    why.setdefault((m, target), set()).add(f"{os.path.relpath(path, src)}: crate::{name}")
    return graph, why, unknown


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = sys.argv[1:]
    verbose = "--why" in args
    args = [a for a in args if a != "--why"]
    srcs = args or [os.path.join(root, "runtime/src"), os.path.join(root, "macros/src")]
    failed = False
    for src in srcs:
        graph, why, unknown = crate_graph(src)
        print(f"# {os.path.relpath(src, root)}")
        width = max(map(len, graph), default=0)
        for m in sorted(graph):
            print(f"{m:<{width}} -> {', '.join(sorted(graph[m])) or '(nothing)'}")
            if verbose:
                for t in sorted(graph[m]):
                    for line in sorted(why[(m, t)]):
                        print(f"{'':<{width}}      {t}: {line}")
        if unknown:
            print(f"(root names not resolved to a module: {', '.join(sorted(unknown))})")
        cycles = [c for c in sccs(graph) if len(c) > 1]
        for c in cycles:
            print(f"CYCLE among {len(c)} modules: {', '.join(c)}")
        if not cycles:
            print("no cycle")
        print()
        failed |= bool(cycles)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
