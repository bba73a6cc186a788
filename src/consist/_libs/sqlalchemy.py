"""Gateway to SQLAlchemy + duckdb_engine, imported only when Tracker.engine is used."""

from __future__ import annotations

import random
import time
from typing import Any

from consist.errors import MissingDependencyError
from consist.settings import STORE_LOCK_TIMEOUT_SECONDS


def create_duckdb_engine(db_path: str) -> Any:
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError as exc:
        raise MissingDependencyError(
            "Tracker.engine needs SQLAlchemy and duckdb_engine.", fix="pip install 'consist[sql]'"
        ) from exc
    # NullPool: a pooled DuckDB connection would hold the file lock and block other processes.
    engine = sqlalchemy.create_engine(f"duckdb:///{db_path}", poolclass=NullPool)

    @sqlalchemy.event.listens_for(engine, "do_connect")
    def _connect_waiting_for_lock(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # Another process may hold the file for a short sync: wait, as every store access does.
        deadline = time.monotonic() + STORE_LOCK_TIMEOUT_SECONDS
        delay = 0.002
        while True:
            try:
                return dialect.connect(*cargs, **cparams)
            except Exception as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)

    return engine
