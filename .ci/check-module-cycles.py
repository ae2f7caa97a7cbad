#!/usr/bin/env python3
"""Module dependencies inside each crate go one way: no module reaches `crate::a` from `crate::b` while `a` reaches
`b`. Reads `crate::…` and `super::…` paths in code (comments and #[cfg(test)] modules left out)."""
import os
import re
import sys

CRATES = ["protocol", "mockserver", "scenarios", "harness", "benches"]


def top_module(src, path):
    parts = os.path.relpath(path, src)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts[0] if parts else None


def graph_of(src):
    graph = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            module = top_module(src, path)
            if module is None:
                continue
            code = re.sub(r"//.*", "", open(path, encoding="utf-8").read().split("#[cfg(test)]")[0])
            deps = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", code))
            # `super::x` from a top-level module's own submodule stays inside it.
            graph.setdefault(module, set()).update(d for d in deps if d != module)
    return graph


def cycles_of(graph):
    found, seen, stack = [], set(), []

    def visit(node):
        seen.add(node)
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if dep in stack:
                found.append(stack[stack.index(dep):] + [dep])
            elif dep not in seen:
                visit(dep)
        stack.pop()

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    return found


failed = False
for crate in CRATES:
    for cycle in cycles_of(graph_of(os.path.join(crate, "src"))):
        print(f"{crate}: import cycle {' → '.join(cycle)}")
        failed = True
if failed:
    sys.exit("break each cycle: move the shared type to the module it belongs to, or to a small module both import")
print("no import cycles between modules in", ", ".join(CRATES))
