"""DuckDBStore: the MetadataStore over one DuckDB file (see connect.py for the locking story).

Reads open the file read-only unless a session of this thread is already open, so
a read never creates the file, never takes the write lock and runs beside other
readers; writes open it read-write in short sessions. A store built with
``read_only=True`` refuses every write with a StoreError.

Given a RejectedRecords sink, ``record_runs`` and ``catch_up`` isolate records
DuckDB refuses (write.upsert_isolating) and set unreadable journal lines aside.
``lineage`` reads the ``consist_generation`` table and why the session created the
file (connect.py), for persist/sync.py's self-healing.

A read-only connection may be kept between queries under the shared gate (connect.py);
while the same one serves, no Consist writer can have changed the file, so the answers
every query's read policy asks first (``lineage``, ``journal_offsets``) are remembered
for it (``_per_connection``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import ConsistRecord, Run
from consist.store import sql_facets
from consist.store.base import (
    PendingRecords,
    RecordDecoder,
    RejectedRecords,
    RunQuery,
    StoreLineage,
    decode_latest,
)
from consist.store.duckdb import facets, read, read_links, write
from consist.store.duckdb.connect import DuckDBConnector, call_while_locked
from consist.store.duckdb.gate import gate, gate_path
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery
from consist.store.links import (
    ArtifactLink,
    ArtifactQuery,
    LineageGraph,
    LinkQuery,
    RunResolver,
)

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
        self._memo_epoch: int | None = None
        self._memo: dict[str, Any] = {}

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

    @contextmanager
    def write_connection(self) -> Iterator[Any]:
        """A write session's connection, for the hot tables and views beside the metadata
        (the same gate and lock discipline as every other write)."""
        with self._connector.session() as conn:
            yield conn

    @contextmanager
    def read_connection(self) -> Iterator[Any | None]:
        """A read session's connection, or None when there is no database yet."""
        with self._connector.read_session() as conn:
            yield conn

    def record_runs(
        self, records: Sequence[ConsistRecord], *, rejected: RejectedRecords | None = None
    ) -> None:
        with self._connector.session() as conn:
            if rejected is None:
                write.upsert_records(conn, records, self._layout.state_dir)
                return

            def reject(record: ConsistRecord, reason: str) -> None:
                rejected.set_aside(record.run.id, reason, "snapshot", None)

            write.upsert_isolating(conn, records, self._layout.state_dir, reject)

    def catch_up(
        self,
        pending: PendingRecords,
        decode: RecordDecoder,
        *,
        rejected: RejectedRecords | None = None,
    ) -> int:
        """Copy runs listed in the pending journal into the store; return how many.

        Scanning and committing happen in one write session, so they see one lock holder.
        """
        with self._connector.session() as conn:
            consumed = write.read_journal_offsets(conn)
            chunks = pending.scan(consumed)
            # One process writes a run's lines in order, so the last line of a run wins:
            # only that line is decoded (and materialised by ``decode``).
            by_id = {
                record.run.id: (record, chunk.name, line)
                for record, chunk, line in decode_latest(chunks, decode, rejected)
            }
            records = [item[0] for item in by_id.values()]
            offsets = {chunk.name: chunk.end_offset for chunk in chunks}
            scratch = self._layout.state_dir
            if rejected is None:
                write.upsert_records(conn, records, scratch, offsets)
                stored = len(records)
            else:

                def reject(record: ConsistRecord, reason: str) -> None:
                    _, origin, line = by_id[record.run.id]
                    rejected.set_aside(record.run.id, reason, origin, line)

                stored = write.upsert_isolating(conn, records, scratch, reject, offsets)
            consumed.update(offsets)
            write.forget_journal_files(conn, pending.remove_consumed(consumed))
            return stored

    def _per_connection(self, name: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered while the same kept read-only connection serves."""
        epoch = self._connector.read_epoch()
        if epoch is None:
            return compute()
        if epoch != self._memo_epoch:
            self._memo_epoch, self._memo = epoch, {}
        if name not in self._memo:
            self._memo[name] = compute()
        value: T = self._memo[name]
        return value

    def lineage(self) -> StoreLineage:
        created = self._connector.take_created()
        with self._connector.read_session() as conn:
            if conn is None:
                return StoreLineage(frozenset(), created=created, empty=True)
            if created is None:
                return self._per_connection("lineage", partial(_read_lineage, conn, None))
            return _read_lineage(conn, created)

    def add_generation(self, generation: str) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self._connector.session() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO consist_generation VALUES (?, ?)", [generation, now]
            )

    def _read(self, query: Callable[[Any], T], nothing: T) -> T:
        with self._connector.read_session() as conn:
            return nothing if conn is None else query(conn)

    def journal_offsets(self) -> dict[str, int]:
        def read_offsets(conn: Any) -> dict[str, int]:
            return dict(self._per_connection("offsets", partial(write.read_journal_offsets, conn)))

        return self._read(read_offsets, {})

    def get_run(self, run_id: str) -> Run | None:
        return self._read(lambda conn: read.get_run(conn, run_id), None)

    def query_runs(self, query: RunQuery) -> list[Run]:
        return self._read(lambda conn: read.query_runs(conn, query), [])

    def get_run_artifacts(self, run_id: str) -> tuple[list[Artifact], list[Artifact]]:
        nothing: tuple[list[Artifact], list[Artifact]] = ([], [])
        return self._read(lambda conn: read.get_run_artifacts(conn, run_id, self._layout), nothing)

    def find_artifacts_by_uri(self, uri: str) -> list[Artifact]:
        return self._read(lambda conn: read.find_artifacts_by_uri(conn, uri, self._layout), [])

    def count_runs(self) -> int:
        return self._read(read.count_runs, 0)

    # --- facets (store/facets.py states the contract) --------------------------------

    def query_config_kv(self, query: ConfigKVQuery) -> list[ConfigKV]:
        return self._read(lambda conn: sql_facets.query_config_kv(read.DIALECT, conn, query), [])

    def find_runs_by_facet_kv(self, match: FacetMatch) -> list[Run]:
        return self._read(
            lambda conn: sql_facets.find_runs_by_facet_kv(read.DIALECT, conn, match),
            [],
        )

    def query_facets(self, query: FacetQuery) -> list[ConfigFacet]:
        return self._read(lambda conn: sql_facets.query_facets(read.DIALECT, conn, query), [])

    def get_record(self, run_id: str) -> ConsistRecord | None:
        """A run with its config and artifacts, as stored (maintenance.copy_store)."""

        def fetch(conn: Any) -> ConsistRecord | None:
            run = read.get_run(conn, run_id)
            if run is None:
                return None
            inputs, outputs = read.get_run_artifacts(conn, run_id, self._layout)
            run_facet, artifact_facets = facets.record_facets(conn, run_id)
            config = read.get_config(conn, run_id)
            return ConsistRecord(
                run, config, inputs, outputs, facet=run_facet, artifact_facets=artifact_facets
            )

        return self._read(fetch, None)

    def query_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        return self._read(lambda conn: read_links.query_artifacts(conn, query, self._layout), [])

    def query_links(self, query: LinkQuery) -> list[ArtifactLink]:
        return self._read(lambda conn: read_links.query_links(conn, query, self._layout), [])

    def get_lineage(
        self,
        artifact_id: str,
        *,
        direction: str,
        max_depth: int | None,
        resolve_runs: RunResolver | None = None,
    ) -> LineageGraph | None:
        return self._read(
            lambda conn: read_links.get_lineage(
                conn, artifact_id, direction, max_depth, self._layout, resolve_runs
            ),
            None,
        )

    def sql_engine(self) -> object | None:
        """A NullPool SQLAlchemy engine whose connects wait for other processes' locks."""
        read_only = self._connector.read_only
        if read_only and not os.path.exists(self.db_path):
            return None  # a reader must not create the file
        if self._engine is None:
            from consist._libs.sqlalchemy import create_duckdb_engine

            self._engine = create_duckdb_engine(
                self.db_path, self._engine_connect, read_only=read_only
            )
        engine: object = self._engine
        return engine

    def _engine_connect(self, connect: Callable[[], T]) -> T:
        """An engine connection, opened like a session: this process's kept reader goes
        first, and the gate is taken for the open, so kept readers elsewhere let go."""
        self._connector.release_kept()
        exclusive = not self._connector.read_only
        if exclusive and not os.path.exists(gate_path(self.db_path)):
            exclusive = False  # never written by Consist: no gate to take (nor to create)
        with gate(self.db_path, exclusive=exclusive, blocking=True, timeout=self._lock_timeout):
            return call_while_locked(connect, db_path=self.db_path, timeout=self._lock_timeout)

    def close(self) -> None:
        self._connector.release_kept()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _read_lineage(conn: Any, created: str | None) -> StoreLineage:
    # One query: this runs in every write session and every checked read.
    rows = conn.execute(
        "SELECT generation, (SELECT count(*) FROM (SELECT 1 FROM runs LIMIT 1)) "
        "FROM (SELECT NULL AS generation UNION ALL "
        "SELECT generation FROM consist_generation)"
    ).fetchall()
    return StoreLineage(
        frozenset(row[0] for row in rows if row[0] is not None),
        created=created,
        empty=rows[0][1] == 0,
    )
