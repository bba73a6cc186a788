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


def execute_query(engine: Any, query: object) -> list[Any]:
    """Rows of ``query`` (a SQLAlchemy Core statement or ``text(...)`` with bound
    parameters) on a fresh connection. The connection is rolled back, never committed."""
    from sqlalchemy.sql.base import Executable

    from consist.errors import ConfigError

    if not isinstance(query, Executable):
        hint = (
            "Wrap SQL text in sqlalchemy.text(...) and bind values with .params(name=value)."
            if isinstance(query, str)
            else "Pass a SQLAlchemy statement: select(...), or text('SELECT ...')."
        )
        raise ConfigError(
            f"run_query needs a SQLAlchemy executable, got {type(query).__name__} {query!r:.80}.",
            fix=hint,
            parameter="query",
        )
    with engine.connect() as conn:
        result = conn.execute(query)
        return list(result.all()) if result.returns_rows else []


def sql_text(sql: str) -> Any:
    """``sqlalchemy.text(sql)`` for SQL typed by a user (``consist query``): every colon is
    escaped, so ``'12:30'`` or ``x::INT`` is SQL, never a bind parameter."""
    try:
        import sqlalchemy
    except ImportError as exc:
        raise MissingDependencyError(
            "Running SQL needs SQLAlchemy and duckdb_engine.", fix="pip install 'consist[sql]'"
        ) from exc
    return sqlalchemy.text(sql.replace(":", "\\:"))
