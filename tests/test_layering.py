"""The layering contract of DESIGN.md §2.3, checked on the source with ``ast``.

A module may import from its own layer or the layers below it, never above.
Imports under ``if TYPE_CHECKING:`` are ignored (they do not run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "consist"

# Top to bottom.
LAYERS: list[set[str]] = [
    {"cli"},
    {"web"},  # the ui's pages: clients of tracker, served by cli
    {"api", "tracker", "maintenance", "core", "integrations"},
    {"flow", "services", "workflow"},
    {"request", "cache", "execute", "persist", "query", "views", "adapters"},
    {"identity", "store", "formats"},
    {"fs"},
    {"model", "options", "settings", "errors", "context", "_libs"},
]
LAYER_OF = {name: depth for depth, names in enumerate(LAYERS) for name in names}
OPTIONAL_THIRD_PARTY = {
    "pandas", "pyarrow", "sqlalchemy", "duckdb_engine", "pydantic", "git",
    "h5py", "tables", "xarray", "netCDF4", "h5netcdf", "zarr", "geopandas", "pyogrio",
    "shapely", "openmatrix", "dlt", "sqlmodel", "rich", "psycopg", "distributed", "dask",
    "yaml", "pyhocon", "typer", "click",
}  # fmt: skip
# The command line is the front end its extra (consist[cli]) exists for: its modules are
# built of typer/rich objects, and only the console script imports them.
CLI_THIRD_PARTY = {"typer", "click", "rich"}
# Besides store/duckdb, formats/relation.py hands tables out as DuckDB relations, and
# views/ builds hybrid views and stages ingestion with DuckDB.
DUCKDB_MODULES = {("store", "duckdb"), ("formats", "relation.py")}


def _top_package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if rel.parts else ""


def _runtime_imports(path: Path) -> list[tuple[str, int]]:
    """(module imported, line) for every import that runs."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.parent != SRC or p.name != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_respect_the_layers(path: Path) -> None:
    own = _top_package(path)
    if own not in LAYER_OF:
        pytest.fail(f"{own!r} is not placed in a layer; add it to LAYERS")
    for module, line in _runtime_imports(path):
        parts = module.split(".")
        if parts[0] == "consist" and len(parts) > 1:
            target = parts[1]
            assert LAYER_OF[target] >= LAYER_OF[own], (
                f"{path.relative_to(SRC)}:{line} imports consist.{target} from a higher layer"
            )
            if own == "model":
                assert target in {"model", "errors", "settings"}, f"model imports {module}"
            if own == "identity":
                assert target != "store", "identity must not import store"
        elif parts[0] == "duckdb":
            rel = path.relative_to(SRC).parts
            assert rel[:2] in DUCKDB_MODULES or rel[0] == "views", (
                f"{path.relative_to(SRC)}:{line}: only store/duckdb, views and "
                "formats/relation.py import duckdb"
            )
        elif parts[0] in OPTIONAL_THIRD_PARTY:
            assert own == "_libs" or (own == "cli" and parts[0] in CLI_THIRD_PARTY), (
                f"{path.relative_to(SRC)}:{line}: optional {parts[0]} outside _libs"
            )
