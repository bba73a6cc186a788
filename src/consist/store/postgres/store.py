"""PostgresStore: the MetadataStore on a PostgreSQL server shared by many machines.

Contract differences from the DuckDB store, and why:

* Not journaled: the server takes concurrent writers, so each record goes straight in
  (one short transaction) when the run starts and ends. That is what lets another
  machine's cache lookup see a run the moment its step ends; the run's JSON snapshot
  is still written first (persist/recorder.py), so the snapshots stay the truth.
* ``find_completed`` answers the cache lookup of a signature this machine has not seen
  (cache/index.py asks it after its own files), and ``signature_locks`` gives the
  advisory locks (locks.py) that make one run per signature hold across machines.
* A record that cannot reach the server after the retries (connect.PgLink) does not
  fail the user's step: it is kept in memory, warned about, and sent with the next
  write (or by ``close``); its snapshot is on disk whatever happens, and a rebuild
  (``tracker.sync_store`` after healing, or ``maintenance.copy_store``) imports it.
* Sessions never block another process (the server serialises rows, not sessions);
  within a process they are exclusive, so syncs never overlap. Reads are plain
  transactions; ``read_only`` (access_mode="read") refuses every write.
* ``lineage`` works as in DuckDB (the ``consist_generation`` table), so a run_dir seen
  for the first time has its snapshots merged in, and a new, empty database is
  rebuilt from them; rows of other run_dirs are kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.model.facet import ConfigFacet, ConfigKV
from consist.store.base import (
    PendingRecords,
    RecordDecoder,
    RejectedRecords,
    RunQuery,
    StoreLineage,
)
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery
from consist.store.links import (
    ArtifactLink,
    ArtifactQuery,
    LineageGraph,
    LinkQuery,
    walk_lineage,
)
from consist.store.postgres import facets, read, read_links, write
from consist.store.postgres.connect import PgLink, is_transient, mask
from consist.store.postgres.locks import AdvisoryLocks
from consist.store.postgres.schema import ensure_schema

T = TypeVar("T")
logger = logging.getLogger("consist")


class PostgresStore:
    journaled = False

    def __init__(
        self,
        url: str,
        *,
        layout: RunLayout,
        connect_timeout: int,
        retry_seconds: float,
        read_only: bool = False,
        db_path: str | None = None,
    ) -> None:
        self.url = url
        self.db_path = mask(db_path or url)
        self._layout = layout
        self._read_only = read_only
        self._connect_timeout = connect_timeout
        self._link = PgLink(
            url, db_path=self.db_path, connect_timeout=connect_timeout, retry_seconds=retry_seconds
        )
        self._session_lock = threading.RLock()
        self._engine: Any = None
        self._locks: AdvisoryLocks | None = None
        self._unsent: dict[str, ConsistRecord] = {}
        self._created: str | None = None
        # Fail at construction, not at the first run: a bad URL or a server that cannot
        # be reached is a StoreError naming db_path within connect_timeout.
        self._link.connect_now()
        if not read_only and self._link.run(ensure_schema):
            self._created = "the database file was missing"  # heal.py's "new store" case

    @property
    def location(self) -> str | None:
        return self.db_path

    @contextmanager
    def session(self, *, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        self._refuse_write()
        with self._session_lock:
            yield

    @contextmanager
    def read_session(self) -> Iterator[None]:
        yield  # each read is one consistent statement; nothing to hold

    def _refuse_write(self) -> None:
        if self._read_only:
            raise StoreError(
                f"The PostgreSQL store {self.db_path} was opened read-only (access_mode='read').",
                fix="Open a Tracker with access_mode='write' to write the store.",
                path=self.db_path,
            )

    def record_runs(
        self, records: Sequence[ConsistRecord], *, rejected: RejectedRecords | None = None
    ) -> None:
        self._refuse_write()
        batch = [*self._unsent.values(), *records] if self._unsent else list(records)
        try:
            if rejected is None:
                self._link.run(lambda conn: write.upsert_records(conn, batch))
            else:

                def reject(record: ConsistRecord, reason: str) -> None:
                    rejected.set_aside(record.run.id, reason, "snapshot", None)

                write.upsert_isolating(self._link.run, batch, reject)
        except StoreError as exc:
            if not _lost_connection(exc):
                raise
            for record in records:  # newer lines of a run replace older ones
                self._unsent[record.run.id] = record
            logger.warning(
                "consist: %d record(s) wait for the PostgreSQL store %s (their snapshots "
                "are written): %s",
                len(self._unsent),
                self.db_path,
                exc.cause or exc.problem,
            )
            return
        self._unsent.clear()

    def catch_up(
        self,
        pending: PendingRecords,
        decode: RecordDecoder,
        *,
        rejected: RejectedRecords | None = None,
    ) -> int:
        # Records came in directly; this is where held-back ones get another try.
        if self._unsent:
            self.record_runs([], rejected=rejected)
        return 0

    def lineage(self) -> StoreLineage:
        created, self._created = self._created, None
        rows = self._read(
            lambda conn: conn.execute(
                "SELECT g.generation, (SELECT count(*) FROM (SELECT 1 FROM runs LIMIT 1) x) "
                "FROM (SELECT NULL AS generation UNION ALL "
                "SELECT generation FROM consist_generation) g"
            ).fetchall()
        )
        return StoreLineage(
            frozenset(row[0] for row in rows if row[0] is not None),
            created=created,
            empty=rows[0][1] == 0,
        )

    def add_generation(self, generation: str) -> None:
        self._refuse_write()
        now = datetime.now(UTC).replace(tzinfo=None)
        self._link.run(
            lambda conn: conn.execute(
                "INSERT INTO consist_generation VALUES (%s, %s) ON CONFLICT (generation) "
                "DO UPDATE SET recorded_at = EXCLUDED.recorded_at",
                [generation, now],
            )
        )

    def journal_offsets(self) -> dict[str, int]:
        return {}

    def _read(self, query: Callable[[Any], T]) -> T:
        # Every read is ONE statement (atomic on its own): no BEGIN/COMMIT round trips.
        return self._link.run(query, transaction=False)

    def get_run(self, run_id: str) -> Run | None:
        return self._read(lambda conn: read.get_run(conn, run_id))

    def query_runs(self, query: RunQuery) -> list[Run]:
        return self._read(lambda conn: read.query_runs(conn, query))

    def get_run_artifacts(self, run_id: str) -> tuple[list[Artifact], list[Artifact]]:
        return self._read(lambda conn: read.get_run_artifacts(conn, run_id, self._layout))

    def find_artifacts_by_uri(self, uri: str) -> list[Artifact]:
        return self._read(lambda conn: read.find_artifacts_by_uri(conn, uri, self._layout))

    def count_runs(self) -> int:
        return self._read(read.count_runs)

    def query_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        return self._read(lambda conn: read_links.query_artifacts(conn, query, self._layout))

    def query_links(self, query: LinkQuery) -> list[ArtifactLink]:
        return self._read(lambda conn: read_links.query_links(conn, query, self._layout))

    def get_lineage(
        self, artifact_id: str, *, direction: str, max_depth: int | None
    ) -> LineageGraph | None:
        # Level by level (read_links.py's docstring says why).
        found = self.query_artifacts(ArtifactQuery(artifact_id=artifact_id, limit=1))
        return walk_lineage(self, found[0], direction, max_depth) if found else None

    # --- facets (store/facets.py states the contract) --------------------------------

    def query_config_kv(self, query: ConfigKVQuery) -> list[ConfigKV]:
        return self._read(lambda conn: facets.query_config_kv(conn, query))

    def find_runs_by_facet_kv(self, match: FacetMatch) -> list[Run]:
        return self._read(
            lambda conn: facets.find_runs_by_facet_kv(conn, match, read.RUN_SELECT, read.row_to_run)
        )

    def query_facets(self, query: FacetQuery) -> list[ConfigFacet]:
        return self._read(lambda conn: facets.query_facets(conn, query))

    def find_completed(self, signature: str) -> ConsistRecord | None:
        """The completed run of ``signature`` in the store, with its artifacts, or None."""
        return self._read(lambda conn: read.find_completed(conn, signature, self._layout))

    def get_record(self, run_id: str) -> ConsistRecord | None:
        """A run of any machine, with its config and artifacts (for get_run & co.)."""
        return self._read(lambda conn: read.get_record(conn, run_id, self._layout))

    def signature_locks(self) -> AdvisoryLocks:
        """Advisory locks on this store's server (one run per signature, every machine)."""
        if self._locks is None:
            self._locks = AdvisoryLocks(self._link)
        return self._locks

    def sql_engine(self) -> object | None:
        """A SQLAlchemy engine (postgresql+psycopg) with a small pool of checked connections."""
        if self._engine is None:
            from consist._libs.psycopg import create_postgres_engine

            self._engine = create_postgres_engine(self.url, connect_timeout=self._connect_timeout)
        engine: object = self._engine
        return engine

    def close(self) -> None:
        if self._unsent and not self._read_only:
            self.record_runs([])
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._link.close()


def _lost_connection(exc: StoreError) -> bool:
    cause = exc.__cause__
    return cause is not None and is_transient(cause)
