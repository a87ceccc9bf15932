"""The batch package's modules import each other without a cycle, counting imports made inside functions
and those made for type checking only (``python -m tests.test_batch_imports`` prints the graph)."""

import ast
import graphlib
from pathlib import Path

import summarizer.batch

PACKAGE = "summarizer.batch"
FOLDER = Path(summarizer.batch.__file__).parent


def batch_imports() -> dict[str, set[str]]:
    """Each module of the package (the package itself as ``__init__``) -> the package's modules it imports."""
    modules = {path.stem for path in FOLDER.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name in sorted(modules):
        found: set[str] = set()
        for node in ast.walk(ast.parse((FOLDER / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[2] for a in node.names if a.name.startswith(PACKAGE + ".")}
            elif isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
                found |= {a.name if a.name in modules else "__init__" for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
                found.add((node.module or "").split(".")[2])
        graph[name] = found - {name}
    return graph


def test_the_batch_package_has_no_import_cycle() -> None:
    graph = batch_imports()
    assert {"runner", "pool", "worker", "executing", "store"} <= set(graph)  # the walk found the modules
    assert "runner" not in graph["pool"] and not {"runner", "pool"} & graph["worker"]  # was workers <-> runner
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_a_cycle_would_be_found() -> None:
    graph = batch_imports()
    graph["store"] = graph["store"] | {"runner"}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError:
        return
    raise AssertionError("a cycle through store and runner went unnoticed")


if __name__ == "__main__":
    for module, imported in batch_imports().items():
        print(f"{module:12} -> {', '.join(sorted(imported)) or '-'}")
