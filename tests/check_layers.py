#!/usr/bin/env python3
"""check_layers: the layers of hapanel's C code, bottom to top, and the
check that keeps them so.

Every C file under server/ and db/ belongs to the layer of its folder
(db/ is the layer "db"). A file may include headers of its own layer and of
the layers below it, never above; no two modules (a .c with its .h) may
include each other, directly or through others (a cycle); and every .c file
includes core/banned.h, last. Prints each offence with the file and line and
exits 1 when there is one.

This list is the one place the order is written: CMakeLists.txt reads it to
build one static library per layer, each linked against the layers below it
only, so a call upwards is a link error as well."""

import os
import re
import sys

LAYERS = ["core", "redis", "model", "db", "ha", "notify", "monitor", "actions", "web", "app"]

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def layer_of(rel):
    """The layer of a path relative to the repository root, or None."""
    parts = rel.split("/")
    if parts[0] == "db":
        return "db"
    if parts[0] == "server" and len(parts) > 2 and parts[1] in LAYERS:
        return parts[1]
    return None


def sources():
    out = []
    for top in ("server", "db"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), ROOT))
    return sorted(out)


def resolve(src, name):
    """The file an #include "name" in src means: next to src, else under
    server/, else under the repository root (for db/...)."""
    for base in (os.path.dirname(src), "server", ""):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.exists(os.path.join(ROOT, cand)):
            return cand
    return None


def main(argv):
    files = sources()
    problems = []
    graph = {}
    for f in files:
        lf = layer_of(f)
        if lf is None:
            problems.append("%s: not in a layer folder (%s)" % (f, ", ".join(LAYERS)))
            continue
        graph[f] = []
        last_include = None
        with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                if re.match(r'\s*#\s*include\s', line):
                    last_include = (lineno, line)
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                target = resolve(f, m.group(1))
                if target is None:
                    if not m.group(1).startswith("embed_"):
                        problems.append("%s:%d: #include \"%s\" names no file" % (f, lineno, m.group(1)))
                    continue
                if target.endswith(".c"):
                    problems.append("%s:%d: includes a .c file (%s)" % (f, lineno, target))
                lt = layer_of(target)
                if lt is None:
                    continue
                graph[f].append(target)
                if LAYERS.index(lt) > LAYERS.index(lf):
                    problems.append("%s:%d: includes %s: layer %s points up to %s (order: %s)" % (
                        f, lineno, target, lf, lt, " < ".join(LAYERS)))
        if f.endswith(".c") and (last_include is None or '"core/banned.h"' not in last_include[1]):
            problems.append("%s: does not include \"core/banned.h\" last" % f)
    # cycles between files (a .c and its .h count as one module)
    def mod(path):
        return os.path.splitext(path)[0]
    mgraph = {}
    for f, deps in graph.items():
        mgraph.setdefault(mod(f), set()).update(mod(d) for d in deps if mod(d) != mod(f))
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(mgraph.get(m, ())):
            if state.get(d) == 1:
                cyc = stack[stack.index(d):] + [d]
                problems.append("include cycle: %s" % " -> ".join(cyc))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2
    for m in sorted(mgraph):
        if m not in state:
            visit(m)
    for p in problems:
        print(p)
    print("%d files in %d layers, %d problem(s)" % (len(graph), len(LAYERS), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
