"""The package's import graph is one-way: no module imports itself back, no two subpackages
import each other.

Every module under ``dfembed/`` is parsed with :mod:`ast`; an edge is any ``import`` or
``from ... import`` of a dfembed module, at the top of the file or inside a function or
class (a lazy import still ties the two modules: it only delays the failure to the first
call), with relative imports resolved and ``from package import name`` counted as an
import of the submodule ``name`` where there is one.

What counts, and why:

* Imports under ``if TYPE_CHECKING:`` do not count: they never run, and naming a lower
  module's class in an annotation is how a record of classes (``encoders/kind.py``) stays
  below the classes it describes.
* Only imports written in a module count. Importing ``dfembed.models.files`` also runs
  ``dfembed/__init__.py`` and ``dfembed/models/__init__.py``, for every module alike: that
  implicit edge says nothing about how the code is layered.
* No exception for the package root: ``dfembed/__init__.py`` re-exports the public names and
  registers the accessor, and no module imports it back (the version lives in
  ``dfembed/_version.py``, which imports nothing of dfembed, for that reason).
* :data:`ALLOWED_CYCLE_EDGES` lists the edges tolerated while other work removes them; it is
  empty, and an edge listed there that no longer exists fails, so the list only shrinks.
* Subpackages (``models``, ``runtime``, ``encoders``, ``engine``, ``io``, ``analytics``)
  import in one direction only: ``runtime`` builds on ``models`` (a graph's declared facts
  are read in :mod:`dfembed.models.onnx_graph`), never the reverse.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dfembed

ROOT = Path(dfembed.__file__).parent
#: ``(importer, imported)`` edges allowed to close a cycle, each with the reason and the
#: work that removes it. Empty: add to it only with a name and a reason, never to pass.
ALLOWED_CYCLE_EDGES: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name, with its file and whether it is a
    package's ``__init__``."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def _targets(node: ast.AST, module: str, package: bool, modules: dict) -> list[str]:
    """The dfembed modules an import statement in ``module`` names."""
    if isinstance(node, ast.Import):
        named = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            prefix = ".".join([*base, *([node.module] if node.module else [])])
        else:
            prefix = node.module or ""
        named = [
            f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix
            for alias in node.names
        ]
    found = []
    for name in named:
        while name and name not in modules:  # an attribute of a module: the module
            name = name.rpartition(".")[0]
        if name.split(".")[0] == "dfembed":
            found.append(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}``, top-level and function-level imports alike."""
    modules = _modules()
    graph = {}
    for module, (path, package) in modules.items():
        edges = set()
        for node in _run_time_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges.update(_targets(node, module, package, modules))
        edges.discard(module)
        graph[module] = edges
    return graph


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _run_time_nodes(tree: ast.AST):
    """Every node of ``tree`` except what sits in an ``if TYPE_CHECKING:`` body (its
    ``else:`` branch runs, so it is kept)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _subpackage(module: str, modules: dict) -> str | None:
    """``models`` for ``dfembed.models.hub`` (and ``dfembed.models``); ``None`` for a
    top-level module such as ``dfembed.accessors``."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and modules[module][1]):
        return parts[1]
    return None


def test_no_import_cycle_between_modules():
    graph = import_graph()
    for importer, imported in ALLOWED_CYCLE_EDGES:
        assert imported in graph[importer], f"{importer} -> {imported} is gone: unlist it"
        graph[importer] = graph[importer] - {imported}
    found = cycles(graph)
    described = ["\n".join(f"  {m} -> {sorted(graph[m] & set(c))}" for m in c) for c in found]
    assert not found, "import cycles:\n" + "\n\n".join(described)


def test_no_two_subpackages_import_each_other():
    modules = _modules()
    between: dict[tuple[str, str], list[str]] = {}
    for importer, targets in import_graph().items():
        for imported in targets:
            pair = (_subpackage(importer, modules), _subpackage(imported, modules))
            if None not in pair and pair[0] != pair[1]:
                between.setdefault(pair, []).append(f"{importer} -> {imported}")
    both_ways = [
        between[pair] + between[pair[::-1]]
        for pair in sorted(between)
        if pair[::-1] in between and pair < pair[::-1]
    ]
    assert not both_ways, f"subpackages importing each other: {both_ways}"


def test_runtime_builds_on_models_not_the_reverse():
    imported = {m for module, targets in import_graph().items() for m in targets
                if module.startswith("dfembed.models")}  # fmt: skip
    assert not {m for m in imported if m.startswith("dfembed.runtime")}


def test_the_graph_sees_lazy_and_relative_imports():
    """The parser finds what the checks rely on: a function-level import, a relative one
    resolved to its module, and ``from . import module``."""
    graph = import_graph()
    assert "dfembed.engine.dashboard_page" in graph["dfembed.engine.dashboard"]
    assert "dfembed.encoders.cached" in graph["dfembed.encoders.base"]  # inside encode()
    assert {"dfembed.engine.metrics", "dfembed.engine.reports"} <= graph["dfembed.engine.plugin"]
    assert "dfembed.models.onnx_graph" in graph["dfembed.runtime.graphs"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_type_checking_imports_are_left_out_and_their_else_kept():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import dfembed.encoders.base\n"
        "else:\n    import dfembed.columns\n"
        "def f():\n    import dfembed.inputs\n"
    )
    names = {
        alias.name
        for node in _run_time_nodes(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert names == {"dfembed.columns", "dfembed.inputs"}
    assert "dfembed.encoders.base" not in import_graph()["dfembed.encoders.kind"]
