"""Gateway to SQLAlchemy + duckdb_engine, imported only when Tracker.engine is used."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consist.errors import MissingDependencyError


def create_duckdb_engine(
    db_path: str, connect_retry: Callable[[Callable[[], Any]], Any], *, read_only: bool = False
) -> Any:
    """A NullPool engine whose connects go through ``connect_retry`` (waits for the lock)."""
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError as exc:
        raise MissingDependencyError(
            "Tracker.engine needs SQLAlchemy and duckdb_engine.", fix="pip install 'consist[sql]'"
        ) from exc
    # NullPool: a pooled DuckDB connection would hold the file lock and block other processes.
    engine = sqlalchemy.create_engine(
        f"duckdb:///{db_path}",
        poolclass=NullPool,
        connect_args={"read_only": True} if read_only else {},
    )

    @sqlalchemy.event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return connect_retry(lambda: dialect.connect(*cargs, **cparams))

    return engine
