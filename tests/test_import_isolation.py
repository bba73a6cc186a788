"""No import circle: every module imports on its own, and runtime imports form no cycle.

Two checks, because they catch different things:
- each module is imported first in a fresh interpreter (a forked child of one that has
  not imported Consist), so a circle that breaks at import time fails here whatever
  order the test suite happened to import things in;
- the graph of runtime imports (module level and inside functions, ``TYPE_CHECKING``
  blocks excluded) has no cycle, so a circle hidden behind a function-level import
  (which would import fine) is caught too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "consist"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}

# Runs in a fresh interpreter: fork one child per module so each import starts clean.
_CHILD_SCRIPT = """
import importlib, os, sys, traceback
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed.append(name)
print("FAILED:" + ",".join(failed))
"""


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    assert "consist.formats.registry" in MODULES
    names = sorted(MODULES)
    if hasattr(__import__("os"), "fork"):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD_SCRIPT, *names], capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        failed = out.stdout.strip().rsplit("FAILED:", 1)[-1]
        assert failed == "", f"modules failing to import on their own: {failed}\n{out.stderr}"
    else:  # pragma: no cover - no fork (Windows): one interpreter per module
        for name in names:
            out = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True)
            assert out.returncode == 0, (name, out.stderr)


def _runtime_imports(path: Path) -> set[str]:
    """Consist modules ``path`` imports when it runs (any depth, TYPE_CHECKING excluded)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # ``from consist.execute import python`` imports the submodule.
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_runtime_imports_form_no_cycle() -> None:
    graph = {name: _runtime_imports(path) - {name} for name, path in MODULES.items()}
    cycle = _find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _find_cycle(graph) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None
