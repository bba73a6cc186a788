"""DuckDBStore: the MetadataStore over one DuckDB file (see connect.py for the locking story)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.store.base import PendingRecords, RunQuery
from consist.store.duckdb import read, write
from consist.store.duckdb.connect import DuckDBConnector


class DuckDBStore:
    def __init__(self, db_path: str, *, layout: RunLayout, lock_timeout: float) -> None:
        self._connector = DuckDBConnector(db_path, lock_timeout)
        self._layout = layout
        self.db_path = self._connector.db_path

    @contextmanager
    def session(self, *, blocking: bool = True, timeout: float | None = None) -> Iterator[Any]:
        """One connection for a group of operations; raises StoreBusy if not blocking."""
        with self._connector.session(blocking=blocking, timeout=timeout) as conn:
            yield conn

    def record_runs(self, records: Sequence[ConsistRecord]) -> None:
        with self.session() as conn:
            write.upsert_records(conn, records, self._layout.state_dir)

    def ingest_journal(
        self, journal: PendingRecords, decode: Callable[[bytes], ConsistRecord | None]
    ) -> int:
        """Copy runs listed in the pending journal into the store; return how many.

        Must run inside :meth:`session` so scanning and committing see one lock holder.
        """
        with self.session() as conn:
            consumed = write.read_journal_offsets(conn)
            chunks = journal.scan(consumed)
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
            write.forget_journal_files(conn, journal.remove_consumed(consumed))
            return len(records)

    def get_run(self, run_id: str) -> Run | None:
        with self.session() as conn:
            return read.get_run(conn, run_id)

    def query_runs(self, query: RunQuery) -> list[Run]:
        with self.session() as conn:
            return read.query_runs(conn, query)

    def get_run_artifacts(self, run_id: str) -> tuple[list[Artifact], list[Artifact]]:
        with self.session() as conn:
            return read.get_run_artifacts(conn, run_id, self._layout)

    def count_runs(self) -> int:
        with self.session() as conn:
            return read.count_runs(conn)
