#!/usr/bin/env python3
"""layers.py: the layer rule and the no-cycle rule, for tests/style/check.sh.

Run from the source root with SGW_BUILD_ROOT set (meson test sets both).

 a. Layer rule on quoted includes.  A file in gateway/core/ may include only
    headers in gateway/core/ (not even the build's generated config.h); a
    file in backends/ only headers in backends/ or gateway/core/.  An include is
    resolved as the compiler does: against the including file's folder, then
    the allowed folders; it fails when the first file found is outside them or
    nothing is found.  gateway/ctl/ (scepgwctl, a separate CLI) is not checked.
 b. No cycle between .c files.  A.c -> B.c when A.c's object file leaves
    undefined (nm: U) a symbol that B.c's object defines (T, D, B, R, ...).
    The objects are those of the static libraries sgwcore, backends and
    gateway (their *.p folders in the build root), mapped back to their
    sources through compile_commands.json.  Every strongly connected
    component of more than one file is a cycle, reported as a chain of files
    with the symbols of each step.  There is no allow-list: any cycle fails.

The last line printed is a summary: the number of files, the number of
levels (the longest chain of dependencies) and of cycles.
"""
import collections
import json
import os
import re
import subprocess
import sys

LAYERS = (
    ("gateway/core/", "core", ("gateway/core",), "gateway/core/"),
    ("backends/", "backends", ("backends", "gateway/core"), "backends/ or gateway/core/"),
)
SKIP = ("gateway/ctl/",)
LIBS = ("libsgwcore.a.p", "libbackends.a.p", "libgateway.a.p")
DEFINED = set("TDBRCGSVWi")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
MAX_SYMBOLS = 6


def inside(path, folders):
    return any(path == f or path.startswith(f + "/") for f in folders)


def include_problems(build):
    out = []
    for prefix, layer, allowed, words in LAYERS:
        for root, dirs, files in os.walk(prefix.rstrip("/")):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                if not name.endswith((".c", ".h")) or path.startswith(SKIP):
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for hdr in INCLUDE.findall(text):
                    found = None
                    for d in (root,) + allowed:
                        p = os.path.normpath(os.path.join(d, hdr))
                        if os.path.isfile(p):
                            found = p
                            break
                    if found is None or not inside(found, allowed):
                        out.append("%s includes %s: a %s file may include only headers in %s"
                                   % (path, hdr, layer, words))
    return out


def objects(build):
    """{object path: source path relative to the source root}, for the objects
    of the libraries that compile_commands.json names (an object left behind
    by a file that moved is not among them)."""
    src = os.getcwd()
    with open(os.path.join(build, "compile_commands.json")) as f:
        cmds = json.load(f)
    objs = {}
    for e in cmds:
        o = os.path.abspath(os.path.join(e["directory"], e["output"]))
        if os.path.basename(os.path.dirname(o)) not in LIBS:
            continue
        if not os.path.isfile(o):
            raise SystemExit("layers: %s is not built: build first" % o)
        objs[o] = os.path.relpath(os.path.normpath(os.path.join(e["directory"], e["file"])), src)
    return dict(sorted(objs.items()))


def symbol_graph(objs):
    """(files, {a: {b: {symbols a takes from b}}})"""
    nm = subprocess.run(["nm", "-A", "-P"] + sorted(objs), check=True, capture_output=True,
                        text=True).stdout
    defs, undef = {}, collections.defaultdict(set)
    for line in nm.splitlines():
        f = line.split()
        if len(f) < 3 or not f[0].endswith(":"):
            continue
        obj, sym, kind = objs[f[0][:-1]], f[1], f[2]
        if kind == "U":
            undef[obj].add(sym)
        elif kind in DEFINED:
            defs.setdefault(sym, obj)
    graph = {s: collections.defaultdict(set) for s in objs.values()}
    for a, syms in undef.items():
        for s in syms:
            b = defs.get(s)
            if b is not None and b != a:
                graph[a][b].add(s)
    return sorted(graph), graph


def components(nodes, graph):
    """Tarjan: strongly connected components, each a sorted list."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
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
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def shortest_cycle(start, comp, graph):
    """The shortest chain start -> ... -> start inside comp (breadth first)."""
    prev, queue = {start: None}, collections.deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph[v]):
            if w == start:
                chain = [v]
                while prev[chain[-1]] is not None:
                    chain.append(prev[chain[-1]])
                return chain[::-1] + [start]
            if w in comp and w not in prev:
                prev[w] = v
                queue.append(w)
    return [start]


def describe(comp, graph):
    """Cycles that together visit every file of the component."""
    left, lines = set(comp), []
    while left:
        chain = shortest_cycle(min(left), set(comp), graph)
        left -= set(chain)
        steps = []
        for a, b in zip(chain, chain[1:]):
            syms = sorted(graph[a][b])
            more = " +%d more" % (len(syms) - MAX_SYMBOLS) if len(syms) > MAX_SYMBOLS else ""
            steps.append("%s->%s: %s%s" % (os.path.basename(a), os.path.basename(b),
                                            ", ".join(syms[:MAX_SYMBOLS]), more))
        lines.append("include cycle: %s (symbols: %s)" % (" -> ".join(chain), "; ".join(steps)))
    return lines


def levels(comps, graph):
    """The longest chain of dependencies, counted in components."""
    of = {v: i for i, c in enumerate(comps) for v in c}
    depth = {}
    for i, c in enumerate(comps):  # Tarjan emits a component after all it depends on
        below = {of[w] for v in c for w in graph[v]} - {i}
        depth[i] = 1 + max((depth[j] for j in below), default=0)
    return max(depth.values(), default=0)


def main():
    build = os.environ.get("SGW_BUILD_ROOT")
    if not build:
        sys.exit("layers: SGW_BUILD_ROOT is not set")
    problems = include_problems(build)
    for p in problems:
        print(p)
    objs = objects(build)
    if not objs:
        print("layers: no object files of %s under %s: build first" % (", ".join(LIBS), build))
        return 1
    nodes, graph = symbol_graph(objs)
    comps = components(nodes, graph)
    bad = 0
    for comp in comps:
        if len(comp) < 2:
            continue
        for line in describe(comp, graph):
            print(line)
        bad += 1
    summary = "%d .c files in %d levels, " % (len(nodes), levels(comps, graph))
    summary += "%d cycle%s" % (bad, "" if bad == 1 else "s") if bad else "no cycle"
    if problems:
        summary += ", %d upward include%s" % (len(problems), "" if len(problems) == 1 else "s")
    print(summary)
    return 1 if problems or bad else 0


if __name__ == "__main__":
    sys.exit(main())
