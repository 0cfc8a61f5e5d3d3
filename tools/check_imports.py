"""The import contracts `make lint` checks, with grimp (the graph library import-linter is built on):

1. the folders and modules directly under service/ import each other without cycles;
2. schemas/ (the API's models), clients/ (the client and its command line) and labrules/ (the rules both
   apply: units, the template validator) import nothing from service/, so the client installs without the
   server; labrules/ imports nothing from clients/ either.

(import-linter itself needs rich>=14, which roc-validator, used by the .eln tests, does not allow yet.)
Prints each broken contract with the imports that break it, and exits 1 if there is one.
"""

import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
# Contract 2: each package and what it must not import.
STANDALONE = {
    "schemas": ("service", "clients", "labrules"),
    "clients": ("service",),
    "labrules": ("service", "clients"),
}


def _children(graph: grimp.ImportGraph, package: str) -> list[str]:
    return sorted(graph.find_children(package))


def _depends(graph: grimp.ImportGraph, importer: str, imported: str) -> list[str]:
    found = []
    for expression in (f"{importer} -> {imported}", f"{importer}.** -> {imported}"):
        for side in ("", ".**"):
            for hit in graph.find_matching_direct_imports(import_expression=expression + side):
                found.append(f"{hit['importer']} -> {hit['imported']}")
    return sorted(set(found))


def cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The strongly connected groups of package's children with more than one member (Tarjan)."""
    children = _children(graph, package)
    edges = {a: [b for b in children if b != a and _depends(graph, a, b)] for a in children}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for child in children:
        if child not in index:
            visit(child)
    return groups


def main() -> int:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("service", "schemas", "clients", "labrules", cache_dir=None)
    broken = 0
    for group in cycles(graph, "service"):
        broken += 1
        print(f"import cycle between {', '.join(group)}:")
        for importer in group:
            for imported in group:
                if importer != imported:
                    for line in _depends(graph, importer, imported)[:3]:
                        print(f"  {line}")
    for package, forbidden in STANDALONE.items():
        for other in forbidden:
            found = _depends(graph, package, other)
            if found:
                broken += 1
                print(f"{package}/ imports {other}/:")
                for line in found:
                    print(f"  {line}")
    if not broken:
        kept = "; ".join(
            f"{package}/ imports no {', '.join(f'{o}/' for o in forbidden)}"
            for package, forbidden in STANDALONE.items()
        )
        print(f"import contracts kept: no cycle under service/; {kept}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
