"""Gateway to psycopg 3 (the PostgreSQL driver), imported only when a PostgreSQL store is used."""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def psycopg() -> Any:
    """The ``psycopg`` module, or MissingDependencyError naming the extra to install."""
    try:
        import psycopg as module
    except ImportError as exc:
        raise MissingDependencyError(
            "A PostgreSQL db_path needs psycopg 3 and SQLAlchemy.",
            fix="pip install 'consist[postgres]'",
        ) from exc
    return module


def create_postgres_engine(url: str, *, connect_timeout: int) -> Any:
    """A SQLAlchemy engine for users' SQL over the store: a small pool of short-lived
    connections (checked before use, recycled), so many workers never exhaust the server."""
    psycopg()  # the driver first, for the clearer message
    try:
        import sqlalchemy
    except ImportError as exc:
        raise MissingDependencyError(
            "Tracker.engine on a PostgreSQL store needs SQLAlchemy.",
            fix="pip install 'consist[postgres]'",
        ) from exc
    return sqlalchemy.create_engine(
        "postgresql+psycopg:" + url.removeprefix("postgresql:"),
        pool_size=1,
        max_overflow=2,
        pool_pre_ping=True,
        pool_recycle=300,
        pool_timeout=30,
        connect_args={"connect_timeout": connect_timeout},
    )
