"""The package's modules import each other without a cycle, counting imports made inside functions and those
made for type checking only (``python -m tests.test_imports`` prints the graph)."""

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"summarizer": ROOT / "summarizer", "summarizer.schemas": ROOT / "schemas"}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (``schemas/`` ships as ``summarizer.schemas``)."""
    found: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()

    def owner(name: str) -> str:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        return name if name in known else ""

    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("summarizer"):
                module = node.module or ""
                found |= {f"{module}.{a.name}" if f"{module}.{a.name}" in known else owner(module) for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {owner(a.name) for a in node.names if a.name.startswith("summarizer")}
        graph[name] = found - {name, ""}
    return graph


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert {"summarizer.cli", "summarizer.batch.cli", "summarizer.updates.diff", "summarizer.schemas.output"} <= set(
        graph
    )
    assert "summarizer.cli" not in graph["summarizer.batch.cli"]  # the model options live in summarizer.options
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_a_cycle_would_be_found() -> None:
    graph = import_graph()
    graph["summarizer.segment"] = graph["summarizer.segment"] | {"summarizer.pipeline"}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError:
        return
    raise AssertionError("a cycle through segment and pipeline went unnoticed")


def test_every_package_is_listed_for_the_build() -> None:
    """A package missing from pyproject's list works in a checkout and is absent from an installed wheel."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later; the build itself is checked there

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages <= listed, sorted(packages - listed)


if __name__ == "__main__":
    for module, imported in sorted(import_graph().items()):
        print(f"{module:34} -> {', '.join(sorted(imported)) or '-'}")
