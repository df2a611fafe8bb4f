"""The shape issue 11 asks for: queries/ and summaries/ import each other without a circle (counting
imports inside functions too), and the query registry needs nothing of the summaries."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("queries", "summaries")


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in PACKAGES:
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif node.module.split(".")[0] in PACKAGES:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES}
    return found


def graph() -> dict[str, set[str]]:
    return {f"{package}.{path.stem}": imports_of(path) for package in PACKAGES
            for path in (ROOT / package).glob("*.py") if path.stem != "__init__"}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, done = [], set()

    def visit(node: str, stack: list[str]) -> None:
        for dep in sorted(edges.get(node, ())):
            if dep in stack:
                found.append([*stack[stack.index(dep):], dep])
            elif dep not in done:
                visit(dep, [*stack, dep])
        done.add(node)

    for node in sorted(edges):
        visit(node, [node])
    return found


def test_the_queries_and_summaries_packages_have_no_import_circle():
    edges = graph()
    assert len(edges) >= 15
    assert cycles(edges) == []
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b", "a"]]  # the check itself finds one


def test_the_registry_and_frame_know_nothing_of_the_summaries():
    edges = graph()
    assert not any(dep.startswith("summaries") for dep in edges["queries.registry"] | edges["queries.frame"])
    assert all(not dep.startswith("summaries") for name, deps in edges.items() if name.startswith("queries.")
               for dep in deps)
