"""Print the import graph between the project's packages (`make graph`): for each package,
the packages it imports, and any pair that imports each other. The layers it must keep are
the import-linter contracts in pyproject.toml."""

import sys
from collections import defaultdict

import grimp

PACKAGES = ("kivaportal", "integrations")


def package_of(module: str) -> str:
    parts = module.split(".")
    # kivaportal.<app>, integrations.<side> and integrations.kiva.sandbox are the units.
    if parts[:3] == ["integrations", "kiva", "sandbox"]:
        return "integrations.kiva.sandbox"
    return ".".join(parts[:2])


def main() -> int:
    sys.path.insert(0, ".")
    graph = grimp.build_graph(*PACKAGES)
    edges = defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = package_of(module), package_of(imported)
            if a != b and "migrations" not in module:
                edges[a].add(b)
    for package in sorted(edges):
        print(f"{package} -> {', '.join(sorted(edges[package]))}")
    cycles = sorted(
        {tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())}
    )
    print(f"\n{len(cycles)} pairs of packages importing each other")
    for a, b in cycles:
        print(f"  {a} <-> {b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
