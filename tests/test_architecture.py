"""Layout rules: no function in python/fedledger over 100 lines, no import cycle among its modules.

Import cycles are found on grimp's graph (the one import-linter checks), which counts every
import statement, at module level or inside a function; imports under `if TYPE_CHECKING:` are
left out, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import grimp

PACKAGE = Path(__file__).parents[1] / "python" / "fedledger"
MAX_FUNCTION_LINES = 100


def long_functions(files: Iterable[Path], limit: int) -> list[str]:
    """'path:line name (n lines)' for every function or method longer than `limit` lines."""
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    found.append(f"{path}:{node.lineno} {node.name} ({lines} lines)")
    return found


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of modules that import each other in a circle (Tarjan's strongly connected
    components with more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(cycles)


def test_no_function_in_the_package_is_longer_than_100_lines() -> None:
    offenders = long_functions(sorted(PACKAGE.rglob("*.py")), MAX_FUNCTION_LINES)
    assert offenders == [], "split these functions:\n" + "\n".join(offenders)


def test_no_import_cycle_between_modules_of_the_package() -> None:
    graph = grimp.build_graph("fedledger", exclude_type_checking_imports=True, cache_dir=None)
    cycles = import_cycles(graph)
    assert cycles == [], "modules importing each other in a circle:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_long_functions_flags_a_method_one_line_over_the_limit(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    body = "".join(f"        x{i} = {i}\n" for i in range(100))
    source.write_text(f"class A:\n    def f(self):\n{body}\n    def g(self):\n        pass\n")

    assert long_functions([source], 100) == [f"{source}:2 f (101 lines)"]
    assert long_functions([source], 101) == []


def test_import_cycles_finds_a_three_module_circle_and_nothing_else() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=importer, imported=imported)

    assert import_cycles(graph) == [["p.a", "p.b", "p.c"]]
