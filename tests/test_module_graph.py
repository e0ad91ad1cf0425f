"""The extractor's modules import one another without a cycle.

Every import of one module of the package by another counts: ``from .x import``,
``from . import x``, ``from extractor.x import``, at module level, under
``TYPE_CHECKING`` or inside a function. A deferred import does not untie two
modules, it only hides the knot until run time: a request would climb back up
the pipeline. The package's ``__init__`` is left out: it is loaded before any of
its modules, and ``from . import __version__`` reads a name it set first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

#: the source, not the installed copy: a wheel built over a stale ``build/`` can
#: carry a module the source no longer has
PACKAGE = Path(__file__).resolve().parents[1] / "extractor"


def imports(source: str, modules: set[str]) -> dict[str, int]:
    """The package's modules ``source`` imports, each with the line of its first import."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            dotted = [f"extractor.{name}" for name in names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            dotted = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            dotted = [a.name for a in node.names]
        else:
            continue
        for name in dotted:
            package, _, rest = name.partition(".")
            module = rest.split(".")[0]
            if package == "extractor" and module in modules:
                found[module] = min(found.get(module, node.lineno), node.lineno)
    return dict(sorted(found.items(), key=lambda item: item[1]))


def module_graph(package: Path) -> dict[str, dict[str, int]]:
    """Module -> the modules it imports, with lines (``__init__`` left out, see above)."""
    files = {p.stem: p for p in sorted(package.glob("*.py")) if p.stem != "__init__"}
    return {name: imports(path.read_text(), set(files)) for name, path in files.items()}


def cycle(graph: dict[str, set[str]] | dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle, its first module repeated at the end; None when there is none."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in graph.get(module, ()):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, path)) is not None:
                return found
        path.pop()
        state[module] = "done"
        return None

    for module in graph:
        if module not in state and (found := visit(module, [])) is not None:
            return found
    return None


def reaches(graph: dict[str, dict[str, int]], start: str, goal: str) -> bool:
    seen, stack = {start}, [start]
    while stack:
        for target in graph.get(stack.pop(), {}):
            if target == goal:
                return True
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return start == goal


# (id, graph, the cycle found)
GRAPHS = [
    ("no module", {}, None),
    ("no import", {"a": set()}, None),
    ("a chain", {"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ("a diamond", {"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, None),
    ("two modules that import each other", {"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
    ("a loop of three under a root",
     {"r": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ("a module that imports itself", {"a": {"a"}}, ["a", "a"]),
]  # fmt: skip


@pytest.mark.parametrize("graph, expected", [g[1:] for g in GRAPHS], ids=[g[0] for g in GRAPHS])
def test_cycle(graph, expected):
    assert cycle(graph) == expected


# (id, source, the package's modules it imports)
SOURCES = [
    ("a name from a module", "from .scan import analyse\n", {"scan"}),
    ("inside a function", "def f():\n    from .batch import scan\n", {"batch"}),
    ("modules by name", "from . import evaluate, memo\n", {"evaluate", "memo"}),
    ("under TYPE_CHECKING", "if TYPE_CHECKING:\n    from . import evaluate\n", {"evaluate"}),
    ("the package's absolute name", "from extractor.errors import SourceError\n", {"errors"}),
    ("import extractor.x", "import extractor.evaluate as e\n", {"evaluate"}),
    ("a name the package sets", "from . import __version__\n", set()),
    ("another package", "from pcpp import Preprocessor\nimport re\n", set()),
]
MODULES = {"scan", "batch", "evaluate", "memo", "errors"}


@pytest.mark.parametrize("source, expected", [s[1:] for s in SOURCES], ids=[s[0] for s in SOURCES])
def test_imports(source, expected):
    assert set(imports(source, MODULES)) == expected


def test_the_modules_import_without_a_cycle():
    graph = module_graph(PACKAGE)
    assert {"source", "layout", "preprocess", "evaluate", "scan", "batch"} <= set(graph)
    found = cycle(graph)
    if found is not None:
        pairs = zip(found, found[1:], strict=False)
        steps = [f"{a}.py:{graph[a][b]} imports {b}" for a, b in pairs]
        pytest.fail("import cycle: " + "; ".join(steps))
