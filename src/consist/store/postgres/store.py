"""PostgresStore: the MetadataStore on a PostgreSQL server shared by many machines.

Contract differences from the DuckDB store, and why:

* Not journaled: the server takes concurrent writers, so each record goes straight in
  (one message, one transaction: write.py) when the run ends. That is what lets another
  machine's cache lookup see a run the moment its step ends. run_dir's own record is
  still written first, as a line of this process's pending journal (``local_journal``;
  persist/recorder.py, like the DuckDB store's); ``catch_up`` turns those lines into
  the JSON snapshots (persist/materialize.py) and removes the consumed journal, every
  ``sync_every_runs`` runs or ``sync_every_seconds``, at close and at exit. It also
  takes the journals that dead processes on this host left (their records may never
  have reached the server): their final records are sent, a running one only when the
  server has no row for that run (it may have been marked abandoned since).
* A *running* record (a step's start, log_* progress) waits up to
  ``CONSIST_POSTGRES_RUNNING_DELAY`` seconds (default 0.2; 0 sends at once) before it
  is sent: a step that ends sooner sends only its final record (one round trip less
  per miss), a longer one is visible as running after that delay (a timer sends it).
  Any read through this store, and ``close``, send what waits first, so this process
  always reads its own runs. Records of one run are sent in order under one lock, so
  a late running record never replaces a final one.
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
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import ConsistRecord, Run, RunStatus
from consist.store import sql_facets
from consist.store.base import (
    PendingRecords,
    RecordDecoder,
    RejectedRecords,
    RunQuery,
    StoreLineage,
    decode_latest,
)
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery
from consist.store.links import (
    ArtifactLink,
    ArtifactQuery,
    LineageGraph,
    LinkQuery,
    RunResolver,
    walk_lineage,
)
from consist.store.postgres import read, read_links, write
from consist.store.postgres.connect import PgLink, is_transient, mask
from consist.store.postgres.locks import AdvisoryLocks
from consist.store.postgres.schema import ensure_schema

T = TypeVar("T")
logger = logging.getLogger("consist")

RUNNING_DELAY_SECONDS = float(os.environ.get("CONSIST_POSTGRES_RUNNING_DELAY", "0.2"))

_live_stores: weakref.WeakSet[PostgresStore] = weakref.WeakSet()


def _reset_stores_after_fork() -> None:
    for store in list(_live_stores):
        store._after_fork()


os.register_at_fork(after_in_child=_reset_stores_after_fork)


class PostgresStore:
    journaled = False
    local_journal = True  # run_dir's records: journal lines, snapshots at catch_up

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
        self._deferred: dict[str, ConsistRecord] = {}  # running records not sent yet
        self._write_lock = threading.RLock()
        self._flush_timer: threading.Timer | None = None
        self._batching = 0  # inside batch(): final records without locks wait too
        self._holding = 0  # inside chunk(): final records wait even with their locks
        self._known: dict[str, ConsistRecord | None] = {}  # prefetch_completed's answers
        self._consumed: dict[str, int] = {}  # journal file -> bytes turned into snapshots
        self._created: str | None = None
        _live_stores.add(self)
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

    def _after_fork(self) -> None:
        # The parent's waiting records are the parent's to send (a child sending a stale
        # running record could replace the parent's final one).
        self._deferred.clear()
        self._unsent.clear()
        self._consumed.clear()  # the child writes a journal of its own
        self._flush_timer = None
        self._write_lock = threading.RLock()
        self._session_lock = threading.RLock()

    def record_runs(
        self, records: Sequence[ConsistRecord], *, rejected: RejectedRecords | None = None
    ) -> None:
        self._refuse_write()
        with self._write_lock:
            if records and rejected is None and self._may_wait(records):
                for record in records:
                    self._deferred[record.run.id] = record
                if not self._batching:
                    self._schedule_flush()
                return
            self._write(records, rejected)

    def _may_wait(self, records: Sequence[ConsistRecord]) -> bool:
        if all(r.run.status == RunStatus.RUNNING.value for r in records):
            return RUNNING_DELAY_SECONDS > 0 or self._batching > 0
        # A final record waits only in a batch, and never one whose lock it releases.
        locks = self._locks
        if self._holding:
            return True
        return self._batching > 0 and (locks is None or not locks.keys_to_release(records))

    @contextmanager
    def chunk(self, signatures: Sequence[str]) -> Iterator[None]:
        """Run several points (a tracker.map chunk, ``signatures`` found missing by the
        driver) with two round trips in all: their locks and lookups in one message
        first (locks.py), their records in one message at the end, which releases
        the locks. Running records wait too: a chunk is for short steps."""
        locks = self._locks
        layout = self._layout
        taken: list[str] = []
        if locks is not None:
            taken = locks.acquire_many(
                signatures,
                lambda conn, keys, wanted: read.lock_many_and_find_completed(
                    conn, keys, wanted, layout
                ),
            )
        with self._write_lock:
            self._batching += 1
            self._holding += 1
        try:
            with self.assumed_missing(signatures):
                yield
        finally:
            try:
                with self._write_lock:
                    self._batching -= 1
                    self._holding -= 1
                    if not self._batching and (self._deferred or self._unsent):
                        self._write([], None)
            finally:
                if locks is not None:
                    locks.finish_many(taken)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Send the records made inside in one message at the end (tracker.map records
        a sweep's hits this way); reads inside still see them (they flush first)."""
        with self._write_lock:
            self._batching += 1
        try:
            yield
        finally:
            with self._write_lock:
                self._batching -= 1
                if not self._batching and (self._deferred or self._unsent):
                    self._write([], None)

    @contextmanager
    def prefetched(self, signatures: Sequence[str]) -> Iterator[None]:
        """Look many signatures up in one query; inside, the first ``find_completed`` of
        each is answered from it (tracker.map decides a sweep's hits this way)."""
        wanted = sorted(set(signatures))
        if wanted:
            layout = self._layout
            found = self._read(lambda conn: read.find_completed_many(conn, wanted, layout))
            self._known.update((signature, found.get(signature)) for signature in wanted)
        try:
            yield
        finally:
            for signature in wanted:
                self._known.pop(signature, None)

    @contextmanager
    def assumed_missing(self, signatures: Sequence[str]) -> Iterator[None]:
        """Inside, the first ``find_completed`` of each of ``signatures`` answers "not
        there" without a round trip: the caller was told so by a lookup made just before
        (tracker.map's driver, for the misses it ships). The lookup made under the
        signature's lock still asks, so a run completed in between is still a hit."""
        fresh = [s for s in set(signatures) if s not in self._known]
        self._known.update((signature, None) for signature in fresh)
        try:
            yield
        finally:
            for signature in fresh:
                self._known.pop(signature, None)

    def _schedule_flush(self) -> None:
        timer = self._flush_timer
        if timer is not None and timer.is_alive():
            return
        timer = threading.Timer(RUNNING_DELAY_SECONDS, self._flush_deferred)
        timer.daemon = True
        timer.name = "consist-pg-running"
        self._flush_timer = timer
        timer.start()

    def _flush_deferred(self) -> None:
        try:
            with self._write_lock:
                if self._deferred:
                    self._write([], None)
        except Exception as exc:  # never surfaces in user code; the final record follows
            logger.warning("consist: sending running records to %s failed: %s", self.db_path, exc)

    def _write(self, records: Sequence[ConsistRecord], rejected: RejectedRecords | None) -> None:
        # The last record of a run wins (one per run, in order of arrival).
        ordered = {r.run.id: r for r in (*self._unsent.values(), *self._deferred.values())}
        for record in records:
            ordered.pop(record.run.id, None)
            ordered[record.run.id] = record
        batch = list(ordered.values())
        if not batch:
            return
        locks = self._locks
        released: list[int] = []

        def write_all(conn: Any) -> None:
            # Decided at each attempt: a retry on a new connection no longer holds the locks.
            keys = locks.keys_to_release(batch) if locks is not None else []
            write.upsert_records(conn, batch, keys)
            released[:] = keys

        try:
            if rejected is None:
                self._link.run(write_all, transaction=False)
            else:

                def reject(record: ConsistRecord, reason: str) -> None:
                    rejected.set_aside(record.run.id, reason, "snapshot", None)

                write.upsert_isolating(
                    lambda work: self._link.run(work, transaction=False),
                    batch,
                    reject,
                    first=write_all,
                )
        except StoreError as exc:
            if not _lost_connection(exc):
                raise
            self._unsent = ordered
            self._deferred.clear()
            logger.warning(
                "consist: %d record(s) wait for the PostgreSQL store %s (their snapshots "
                "are written): %s",
                len(self._unsent),
                self.db_path,
                exc.cause or exc.problem,
            )
            return
        self._unsent.clear()
        self._deferred.clear()
        if locks is not None:
            locks.released_by_write(batch, released)
            for record in locks.lost(batch):
                self._warn_if_ran_twice(record)

    def _warn_if_ran_twice(self, record: ConsistRecord) -> None:
        """A step whose lock was lost: did another run of its signature complete too?"""
        signature = record.run.signature or ""
        others = self._read(
            lambda conn: conn.execute(
                "SELECT id FROM runs WHERE signature = %s AND status = 'completed' "
                "AND cache_hit IS NOT TRUE AND id <> %s ORDER BY id",
                [signature, record.run.id],
            ).fetchall()
        )
        if others:
            logger.warning(
                "consist: run %s lost its signature lock (connection to %s lost) and "
                "signature %s was also executed by %s; both runs are recorded and either "
                "is a valid cache hit",
                record.run.id,
                self.db_path,
                signature[:12],
                ", ".join(row[0] for row in others),
            )

    def catch_up(
        self,
        pending: PendingRecords,
        decode: RecordDecoder,
        *,
        rejected: RejectedRecords | None = None,
    ) -> int:
        """Turn the journal lines of ``pending`` into snapshots (``decode`` materialises
        them) and send those not written by this process; return how many were sent."""
        # Records came in directly; this is where held-back ones get another try.
        if self._unsent or self._deferred:
            with self._write_lock:
                self._write([], rejected)
        chunks = pending.scan(self._consumed)
        foreign = {
            record.run.id: record
            for record, chunk, _ in decode_latest(chunks, decode, rejected)
            if not chunk.mine
        }
        sent = self._send_foreign(list(foreign.values()), rejected)
        self._consumed.update((chunk.name, chunk.end_offset) for chunk in chunks)
        if not self._unsent:  # a record still held back keeps its journal line
            for name in pending.remove_consumed(dict(self._consumed)):
                self._consumed.pop(name, None)
        return sent

    def _send_foreign(self, records: list[ConsistRecord], rejected: RejectedRecords | None) -> int:
        if not records:
            return 0
        running = [r.run.id for r in records if r.run.status == RunStatus.RUNNING.value]
        if running:
            present = set(
                self._read(
                    lambda conn: [
                        row[0]
                        for row in conn.execute(
                            "SELECT id FROM runs WHERE id = ANY(%s)", [running]
                        ).fetchall()
                    ]
                )
            )
            records = [r for r in records if r.run.id not in present]
        with self._write_lock:
            self._write(records, rejected)
        return len(records)

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
        if self._deferred:
            self._flush_deferred()  # this process reads its own running records
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
        self,
        artifact_id: str,
        *,
        direction: str,
        max_depth: int | None,
        resolve_runs: RunResolver | None = None,
    ) -> LineageGraph | None:
        # Level by level (read_links.py's docstring says why); the runs resolve_runs
        # answers save a round trip each.
        found = self.query_artifacts(ArtifactQuery(artifact_id=artifact_id, limit=1))
        if not found:
            return None
        return walk_lineage(self, found[0], direction, max_depth, resolve_runs)

    # --- facets (store/facets.py states the contract) --------------------------------

    def query_config_kv(self, query: ConfigKVQuery) -> list[ConfigKV]:
        return self._read(lambda conn: sql_facets.query_config_kv(read.DIALECT, conn, query))

    def find_runs_by_facet_kv(self, match: FacetMatch) -> list[Run]:
        return self._read(lambda conn: sql_facets.find_runs_by_facet_kv(read.DIALECT, conn, match))

    def query_facets(self, query: FacetQuery) -> list[ConfigFacet]:
        return self._read(lambda conn: sql_facets.query_facets(read.DIALECT, conn, query))

    def find_completed(self, signature: str) -> ConsistRecord | None:
        """The completed run of ``signature`` in the store, with its artifacts, or None."""
        if self._locks is not None:
            found = self._locks.take_prefetched(signature)  # looked up with the lock
            if found is None or isinstance(found, ConsistRecord):
                return found
        if signature in self._known:  # answered once; a later lookup asks again
            return self._known.pop(signature, None)
        return self._read(lambda conn: read.find_completed(conn, signature, self._layout))

    def get_record(self, run_id: str) -> ConsistRecord | None:
        """A run of any machine, with its config and artifacts (for get_run & co.)."""
        return self._read(lambda conn: read.get_record(conn, run_id, self._layout))

    def signature_locks(self) -> AdvisoryLocks:
        """Advisory locks on this store's server (one run per signature, every machine)."""
        if self._locks is None:
            layout = self._layout
            self._locks = AdvisoryLocks(
                self._link,
                lambda conn, key, signature: read.lock_and_find_completed(
                    conn, key, signature, layout
                ),
            )
        return self._locks

    def sql_engine(self) -> object | None:
        """A SQLAlchemy engine (postgresql+psycopg) with a small pool of checked connections."""
        if self._engine is None:
            from consist._libs.psycopg import create_postgres_engine

            self._engine = create_postgres_engine(self.url, connect_timeout=self._connect_timeout)
        engine: object = self._engine
        return engine

    def close(self) -> None:
        timer = self._flush_timer
        if timer is not None:
            timer.cancel()
        if (self._unsent or self._deferred) and not self._read_only:
            with self._write_lock:
                self._write([], None)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._link.close()


def _lost_connection(exc: StoreError) -> bool:
    cause = exc.__cause__
    return cause is not None and is_transient(cause)
