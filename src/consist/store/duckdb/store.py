"""DuckDBStore: the MetadataStore over one DuckDB file (see connect.py for the locking story).

Reads open the file read-only unless a session of this thread is already open, so
a read never creates the file, never takes the write lock and runs beside other
readers; writes open it read-write in short sessions. A store built with
``read_only=True`` refuses every write with a StoreError.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.store.base import PendingRecords, RecordDecoder, RunQuery
from consist.store.duckdb import read, write
from consist.store.duckdb.connect import DuckDBConnector, call_while_locked

T = TypeVar("T")


class DuckDBStore:
    journaled = True

    def __init__(
        self, db_path: str, *, layout: RunLayout, lock_timeout: float, read_only: bool = False
    ) -> None:
        self._connector = DuckDBConnector(db_path, lock_timeout, read_only=read_only)
        self._layout = layout
        self._lock_timeout = lock_timeout
        self._engine: Any = None
        self.db_path = self._connector.db_path

    @property
    def location(self) -> str | None:
        return self.db_path

    @contextmanager
    def session(self, *, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        with self._connector.session(blocking=blocking, timeout=timeout):
            yield

    @contextmanager
    def read_session(self) -> Iterator[None]:
        with self._connector.read_session():
            yield

    def record_runs(self, records: Sequence[ConsistRecord]) -> None:
        with self._connector.session() as conn:
            write.upsert_records(conn, records, self._layout.state_dir)

    def catch_up(self, pending: PendingRecords, decode: RecordDecoder) -> int:
        """Copy runs listed in the pending journal into the store; return how many.

        Scanning and committing happen in one write session, so they see one lock holder.
        """
        with self._connector.session() as conn:
            consumed = write.read_journal_offsets(conn)
            chunks = pending.scan(consumed)
            # One process writes a run's lines in order, so the last line of a run wins.
            by_id = {}
            for chunk in chunks:
                for line in chunk.lines:
                    record = decode(line)
                    if record is not None:
                        by_id[record.run.id] = record
            records = list(by_id.values())
            offsets = {chunk.name: chunk.end_offset for chunk in chunks}
            write.upsert_records(conn, records, self._layout.state_dir, offsets)
            consumed.update(offsets)
            write.forget_journal_files(conn, pending.remove_consumed(consumed))
            return len(records)

    def _read(self, query: Callable[[Any], T], nothing: T) -> T:
        with self._connector.read_session() as conn:
            return nothing if conn is None else query(conn)

    def journal_offsets(self) -> dict[str, int]:
        return self._read(write.read_journal_offsets, {})

    def get_run(self, run_id: str) -> Run | None:
        return self._read(lambda conn: read.get_run(conn, run_id), None)

    def query_runs(self, query: RunQuery) -> list[Run]:
        return self._read(lambda conn: read.query_runs(conn, query), [])

    def get_run_artifacts(self, run_id: str) -> tuple[list[Artifact], list[Artifact]]:
        nothing: tuple[list[Artifact], list[Artifact]] = ([], [])
        return self._read(lambda conn: read.get_run_artifacts(conn, run_id, self._layout), nothing)

    def count_runs(self) -> int:
        return self._read(read.count_runs, 0)

    def sql_engine(self) -> object | None:
        """A NullPool SQLAlchemy engine whose connects wait for other processes' locks."""
        read_only = self._connector.read_only
        if read_only and not os.path.exists(self.db_path):
            return None  # a reader must not create the file
        if self._engine is None:
            from consist._libs.sqlalchemy import create_duckdb_engine

            retry = partial(call_while_locked, db_path=self.db_path, timeout=self._lock_timeout)
            self._engine = create_duckdb_engine(self.db_path, retry, read_only=read_only)
        engine: object = self._engine
        return engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
