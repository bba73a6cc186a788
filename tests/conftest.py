"""Shared fixtures for the integration tests of the Tracker API."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from consist import Tracker

_module_counter = itertools.count()


@pytest.fixture
def tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracker]:
    """A DuckDB-backed tracker whose working directory is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    instance = Tracker(
        run_dir=tmp_path / "runs",
        db_path=tmp_path / "db.duckdb",
        code_identity="callable_module",
    )
    yield instance
    instance.close()


@pytest.fixture
def json_tracker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracker]:
    """A JSON-only tracker (``db_path=None``) whose working directory is ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    instance = Tracker(run_dir=tmp_path / "runs", db_path=None, code_identity="callable_module")
    yield instance
    instance.close()


@pytest.fixture
def write_module(tmp_path: Path) -> Iterator[Callable[[str, str], ModuleType]]:
    """Write ``source`` to ``tmp_path/relpath`` and import it under a unique module name."""
    names: list[str] = []

    def _write(relpath: str, source: str) -> ModuleType:
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        name = f"consist_test_mod_{next(_module_counter)}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield _write
    for name in names:
        sys.modules.pop(name, None)


# --- PostgreSQL (issue 17): one throwaway server per test session, one database per test ---

_pg_databases = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A PostgreSQL server started for this session (tests/pg_server.py). Missing: a failure."""
    import os

    if os.environ.get("CONSIST_SKIP_POSTGRES") == "1":
        pytest.skip("CONSIST_SKIP_POSTGRES=1")
    from pg_server import PgServer

    server = PgServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: object) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    import os

    name = f"consist_test_{os.getpid()}_{next(_pg_databases)}"
    return pg_server.create_database(name)  # type: ignore[attr-defined, no-any-return]
