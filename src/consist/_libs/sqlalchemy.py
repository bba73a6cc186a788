"""Gateway to SQLAlchemy + duckdb_engine, imported only when Tracker.engine is used."""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def create_duckdb_engine(db_path: str) -> Any:
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError as exc:
        raise MissingDependencyError(
            "Tracker.engine needs SQLAlchemy and duckdb_engine.", fix="pip install 'consist[sql]'"
        ) from exc
    # NullPool: a pooled DuckDB connection would hold the file lock and block other processes.
    return sqlalchemy.create_engine(f"duckdb:///{db_path}", poolclass=NullPool)
