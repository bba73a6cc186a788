"""Bringing records into the metadata store, and reading it, per the tracker's access mode.

Runs write their snapshot and hand the record here (the spine calls the three
``journal_started`` / ``journal_progress`` / ``journal_ended`` entry points). A store
shared between processes (``store.journaled``) receives records through this
process's pending journal (journal.py), copied in by ``sync`` in one short write
session:

* opportunistically, every ``sync_every_runs`` runs or ``sync_every_seconds`` seconds,
  without waiting: if another process holds the store, we simply try later;
* before every query through Consist (so ``log_*`` calls, which only append to the
  journal, are seen by every query);
* at interpreter exit, so a finished sweep leaves a complete store.

Reads (``query_runs``) follow the access mode:

* ``write``: pending journal lines are copied in first (blocking), so reads see every
  ended run; when nothing is pending (checked on the files, no store needed) the query
  runs in a read-only session and costs no write;
* ``read``: never writes. The query runs in a read-only session, and journal lines not
  yet copied in are merged in memory (store/overlay.py), so a reader sees the run a
  writer just ended. Every write entry point raises RunStateError.

Any process may sync any other process's pending runs, so a crashed process's runs
are picked up by the next one. ``rebuild`` re-imports every snapshot.

Faults (docs/concurrency.md):

* a record the store refuses is set aside (persist/rejected.py) and the sync goes on;
* every write session first checks the store's lineage against run_dir's generation
  marker and rebuilds a store that is missing, corrupt, new or of another generation
  from the journals and snapshots (persist/heal.py); a write tracker's read that finds
  such a store heals it first. A reader never writes: it answers from the snapshots
  and pending journal lines instead, and warns once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from consist.errors import RunStateError, StoreError
from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord, Run, RunStatus
from consist.options import AccessMode
from consist.persist.heal import (
    log_heal,
    looks_healthy,
    plan_heal,
    read_generation,
    rebuild_into,
    write_new_generation,
)
from consist.persist.journal import PendingJournal
from consist.persist.liveness import Liveness, mark_abandoned
from consist.persist.materialize import materialize, point_latest, read_record
from consist.persist.rejected import RejectedDirectory
from consist.persist.snapshot import (
    decode_record,
    list_snapshot_ids,
    read_snapshot,
    write_snapshot,
)
from consist.settings import EXIT_SYNC_TIMEOUT_SECONDS, HEARTBEAT_SECONDS
from consist.store.base import (
    MetadataStore,
    RunQuery,
    SharedSignatures,
    StoreBusy,
    StoreCorrupt,
)
from consist.store.memory import SnapshotMemoryStore
from consist.store.overlay import query_with_pending, read_pending

if TYPE_CHECKING:
    from consist.persist.check import StoreCheck

logger = logging.getLogger("consist")
T = TypeVar("T")


class SnapshotDirectory:
    """The snapshots of one run_dir as a store's SnapshotSource (read-only)."""

    def __init__(self, layout: RunLayout) -> None:
        self._layout = layout

    def list_ids(self) -> list[str]:
        return list_snapshot_ids(self._layout)

    def load(self, run_id: str) -> ConsistRecord | None:
        return _load(self._layout, run_id)


def read_only_error(what: str) -> RunStateError:
    return RunStateError(
        f"{what} writes records, but this tracker was opened with access_mode='read'.",
        fix="Open a Tracker with access_mode='write' (the default) to record runs.",
        parameter="access_mode",
        value="read",
    )


class StoreSync:
    def __init__(
        self,
        layout: RunLayout,
        store: MetadataStore,
        journal: PendingJournal,
        *,
        liveness: Liveness | None = None,
        access_mode: AccessMode = AccessMode.WRITE,
        every_runs: int,
        every_seconds: float,
    ) -> None:
        self._layout = layout
        self._store = store
        self._journal = journal
        self._access = access_mode
        self._every_runs = every_runs
        self._every_seconds = every_seconds
        self._since_sync = 0
        self._last_sync = time.monotonic()
        self._background: threading.Thread | None = None
        # The last run this process ended, for consist.json (pointed at after each sync).
        self._last_ended: ConsistRecord | None = None
        self._liveness = liveness
        self._next_abandon_check = 0.0  # monotonic time; 0: at the first sync or query
        self._rejected = RejectedDirectory(layout, writable=access_mode is AccessMode.WRITE)
        self._skipped_lines: set[str] = set()
        self._warned_fallback = False

    @property
    def journaled(self) -> bool:
        """Whether records reach the store through the journal (a shared store)."""
        return self._store.journaled

    @property
    def local_journal(self) -> bool:
        """Whether this process's records are journal lines first, their snapshots
        materialised later (persist/materialize.py): a journaled store, and a store that
        takes records directly but keeps the journal for run_dir (PostgreSQL)."""
        return self._store.journaled or bool(getattr(self._store, "local_journal", False))

    def find_record(self, run_id: str) -> ConsistRecord | None:
        """A run's snapshot, or its latest pending journal line (persist/materialize.py);
        on a store shared by many machines, a run whose snapshot is elsewhere."""
        found = read_record(self._layout, self._journal, run_id)
        if found is None and isinstance(self._store, SharedSignatures):
            found = self._store.get_record(run_id)
        return found

    @property
    def access_mode(self) -> AccessMode:
        return self._access

    def require_write(self, what: str) -> None:
        """Raise RunStateError (naming ``what``) unless this tracker may write."""
        if self._access is not AccessMode.WRITE:
            raise read_only_error(what)

    # --- write side ---------------------------------------------------------------

    def journal_started(self, record: ConsistRecord, data: bytes) -> None:
        """Journal a run's running record (``data`` is its JSON), so even a process
        killed mid-run leaves the run queryable; a run's later lines, in the same file, win."""
        self._journal_line(record, data)

    def journal_progress(self, record: ConsistRecord, data: bytes) -> None:
        """Journal a running record (log_* calls). No store session: every query
        through Consist syncs pending lines first, so it sees them."""
        self._journal_line(record, data)

    def journal_ended(
        self, record: ConsistRecord, data: bytes, *, then: Callable[[], None] | None = None
    ) -> None:
        """Journal a run's final record; sync now and then. ``then`` runs after the
        journal line and before a store that takes records directly gets it (the cache
        index entries: run_dir's files first, as for every record, then the shared row)."""
        self._journal_line(record, data, then=then)
        if not self.local_journal:
            return
        self._last_ended = record
        self._since_sync += 1
        if (
            self._since_sync >= self._every_runs
            or time.monotonic() - self._last_sync >= self._every_seconds
        ):
            self._sync_in_background()

    def _journal_line(
        self, record: ConsistRecord, data: bytes, *, then: Callable[[], None] | None = None
    ) -> None:
        self.require_write("Recording a run")
        if self._store.journaled:
            self._journal.append(data)
            if then is not None:
                then()
        elif self.local_journal:
            # The line first (run_dir's record, durable), then the shared row.
            self._journal.append(data)
            if then is not None:
                then()
            self._store.record_runs([record])
        else:
            # A store private to this process takes the record at once (no file write).
            self._store.record_runs([record])

    def _sync_in_background(self) -> None:
        # The batch (~100 ms per 500 runs) runs beside the caller's next steps, not in them.
        if self._background is not None and self._background.is_alive():
            return
        self._since_sync = 0
        self._last_sync = time.monotonic()
        self._background = threading.Thread(
            target=self._background_sync, name="consist-store-sync", daemon=True
        )
        self._background.start()

    def _background_sync(self) -> None:
        try:
            self._sync_own(blocking=False)
        except Exception as exc:  # never surfaces in user code; the next sync retries
            logger.warning("consist: background store sync failed: %s", exc)

    def sync(self, *, blocking: bool = True, timeout: float | None = None) -> int:
        """Copy pending runs into the store; return how many runs were copied."""
        self.require_write("Syncing the store")
        try:
            # A store session is exclusive within the process too, so syncs never overlap.
            with self._write_session(blocking=blocking, timeout=timeout):
                copied = self._catch_up()
                self._abandon_gone_owners()
        except StoreBusy:
            return 0
        self._since_sync = 0
        self._last_sync = time.monotonic()
        return copied

    def _sync_own(self, *, blocking: bool, timeout: float | None = None) -> int:
        """The periodic and exit sync: ``sync``, except that a store taking records
        directly only gets this process's journal turned into snapshots (no heal check,
        no abandoned-run search: as before it had a journal, those wait for a query
        or ``sync_store``)."""
        if self._store.journaled:
            return self.sync(blocking=blocking, timeout=timeout)
        try:
            with self._store.session(blocking=blocking, timeout=timeout):
                copied = self._catch_up()
        except StoreBusy:
            return 0
        self._since_sync = 0
        self._last_sync = time.monotonic()
        return copied

    def _catch_up(self) -> int:
        """Copy pending lines into the store (materialising their snapshots), then point
        consist.json at the last run this process ended."""
        # A store taking records directly consumes only what this process owns (its own
        # lines, and those of dead processes on this host): PendingJournal.owned.
        pending = self._journal if self._store.journaled else self._journal.owned()
        copied = self._store.catch_up(pending, self._materialized, rejected=self._rejected)
        self._point_latest()
        return copied

    def _abandon_check_due(self) -> bool:
        return self._liveness is not None and time.monotonic() >= self._next_abandon_check

    def _abandon_gone_owners(self) -> None:
        """Mark runs whose owner is gone ``failed`` (abandoned): persist/liveness.py.

        Looked for at a process's first sync or write-mode query, then at most every
        HEARTBEAT_SECONDS. Finding none costs one read; a write session only when some
        are marked."""
        liveness = self._liveness
        if liveness is None or not self._abandon_check_due():
            return
        self._next_abandon_check = time.monotonic() + HEARTBEAT_SECONDS
        with self._store.read_session():
            running = self._store.query_runs(RunQuery(status="running", limit=None))
        ended = []
        for run in running:
            why = liveness.gone(run.owner)
            record = self.find_record(run.id) if why else None
            if why and record is not None and record.run.status == RunStatus.RUNNING.value:
                ended.append(mark_abandoned(record, why))
        if not ended:
            return
        for record in ended:
            write_snapshot(self._layout, record, update_latest=False)
        with self._store.session():
            self._store.record_runs(ended)
        logger.warning(
            "consist: marked %d run(s) failed as abandoned (owner gone): %s",
            len(ended),
            ", ".join(r.run.id for r in ended[:5]) + (" ..." if len(ended) > 5 else ""),
        )

    def _point_latest(self) -> None:
        last = self._last_ended
        if last is not None and point_latest(self._layout, last) and self._last_ended is last:
            self._last_ended = None

    def _materialized(self, line: bytes) -> ConsistRecord | None:
        """Decode a line being consumed into the store, and materialise its snapshot first
        (a consumed journal file may be deleted afterwards). Raises for a line that is
        not a record (a torn last line of a dead writer...): the store sets it aside."""
        record = decode_record(line, self._layout)
        materialize(self._layout, record, line)
        return record

    def _decode(self, line: bytes) -> ConsistRecord | None:
        # Reads that never write skip such a line (warned once); the next sync sets it aside.
        try:
            return decode_record(line, self._layout)
        except (ValueError, KeyError, TypeError) as exc:
            key = hashlib.sha256(line).hexdigest()
            if key not in self._skipped_lines:
                self._skipped_lines.add(key)
                logger.warning("consist: skipping an unreadable journal line: %s", exc)
            return None

    @contextmanager
    def _write_session(
        self, *, blocking: bool = True, timeout: float | None = None
    ) -> Iterator[None]:
        """A store write session whose store was first checked, and healed if needed."""
        with self._store.session(blocking=blocking, timeout=timeout):
            lineage = self._store.lineage()
            if lineage is not None:
                marker = read_generation(self._layout)
                plan = plan_heal(lineage, marker)
                if plan is not None:
                    counts = (0, 0)
                    if plan.rebuild:
                        counts = rebuild_into(
                            self._store,
                            self._layout,
                            self._journal,
                            self._materialized,
                            self._rejected,
                        )
                    if plan.new_generation or marker is None:
                        marker = write_new_generation(self._layout)
                    self._store.add_generation(marker)
                    log_heal(plan, self._store.location, self._layout, counts)
            yield

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-import every readable snapshot under run_dir; return how many were imported.
        ``progress(done, total)`` follows the snapshots read."""
        self.require_write("Rebuilding the store")
        with self._store.session():
            imported, _ = rebuild_into(
                self._store,
                self._layout,
                self._journal,
                self._materialized,
                self._rejected,
                progress,
            )
            self._point_latest()
            if self._store.lineage() is not None:
                marker = read_generation(self._layout) or write_new_generation(self._layout)
                self._store.add_generation(marker)
        return imported

    def sync_at_exit(self) -> None:
        if self._access is not AccessMode.WRITE:
            return
        if not self._journal.has_files():
            self._point_latest()
            return  # nothing pending anywhere: do not open (or create) the database
        try:
            # Bounded: a DuckDB shell left open on the file must not hang interpreter exit.
            self._sync_own(blocking=True, timeout=EXIT_SYNC_TIMEOUT_SECONDS)
            self._journal.close()
        except (StoreError, OSError) as exc:
            # The snapshots are safe; the next process that syncs will copy them.
            logger.warning("consist: runs left pending for the store: %s", exc)

    # --- read side ----------------------------------------------------------------

    def check(self, progress: Callable[[int, int], None] | None = None) -> StoreCheck:
        """Compare the store with the snapshots and pending journal lines (persist/check.py).
        A write tracker copies its pending runs in first, as before every query; the
        comparison itself only reads."""
        from consist.persist.check import check_store

        if self._access is AccessMode.WRITE and self._pending_for_store():
            self.sync(blocking=True)
        return check_store(self._store, self._layout, self._journal, self._decode, progress)

    def query_runs(self, query: RunQuery) -> list[Run]:
        """Runs matching ``query``, including every ended run (see the module doc)."""
        return self.read(
            lambda store: store.query_runs(query),
            lambda store, pending: query_with_pending(store, query, pending),
        )

    def read(
        self,
        answer: Callable[[MetadataStore], T],
        with_pending: Callable[[MetadataStore, list[ConsistRecord]], T],
    ) -> T:
        """A query by the read policy of the module doc: ``answer`` asks a store that
        holds every ended run; ``with_pending`` asks a store as if the pending journal
        records (a reader's, never written) had been recorded."""
        store = self._store
        if self._access is AccessMode.WRITE and self._pending_for_store():
            return self._query_in_write_session(answer)
        marker = read_generation(self._layout)  # outside the session: keep it short
        try:
            if self._access is AccessMode.WRITE and self._abandon_check_due():
                self._abandon_gone_owners()
            with store.read_session():
                lineage = store.lineage()
                if lineage is not None and not looks_healthy(lineage, marker, self._layout):
                    if marker is None:  # no store was built for run_dir yet: no fault
                        raise _Unhealthy("no store was built for it yet", fault=False)
                    raise _Unhealthy(
                        "it is missing or empty"
                        if lineage.empty and not lineage.generations
                        else "it indexes another generation of snapshots"
                    )
                if not store.journaled:
                    return answer(store)
                consumed = store.journal_offsets()
                self._journal.note_consumed(consumed)
                # Lines appended since has_unconsumed() are shown too, never written.
                pending = read_pending(self._journal, consumed, self._decode)
                return with_pending(store, pending) if pending else answer(store)
        except (_Unhealthy, StoreCorrupt) as exc:
            if self._access is AccessMode.WRITE:
                return self._query_in_write_session(answer)  # heals first
            return self._query_snapshots(with_pending, exc)

    def read_store(self, read: Callable[[MetadataStore], T]) -> T:
        """``read(store)`` after the catch-up a query makes (facet queries use it).

        Write mode: pending runs are copied in first, and a store that does not index
        run_dir is healed first, as for ``query_runs``. Read mode answers from what the
        store holds (journal lines not yet copied in are not merged for these reads).
        """
        store = self._store
        write = self._access is AccessMode.WRITE
        if not (write and self._pending_for_store()):
            marker = read_generation(self._layout)
            with store.read_session():
                lineage = store.lineage()
                if not write or lineage is None or looks_healthy(lineage, marker, self._layout):
                    return read(store)
        with self._write_session():  # heals a store that needs it, then catches up
            self._catch_up()
            return read(store)

    def _pending_for_store(self) -> bool:
        """Whether journal lines wait to be copied into the store (never for a store that
        takes records directly: its journal only waits to become snapshots)."""
        return self._store.journaled and self._journal.has_unconsumed()

    def _query_in_write_session(self, answer: Callable[[MetadataStore], T]) -> T:
        with self._write_session():
            self._catch_up()
            self._abandon_gone_owners()
            return answer(self._store)

    def _query_snapshots(
        self, with_pending: Callable[[MetadataStore, list[ConsistRecord]], T], why: Exception
    ) -> T:
        """A reader's answer when the store cannot give one: snapshots + journal lines."""
        if not self._warned_fallback:
            self._warned_fallback = True
            reason = why.problem if isinstance(why, StoreError) else str(why)
            fault = not isinstance(why, _Unhealthy) or why.fault
            logger.log(
                logging.WARNING if fault else logging.INFO,
                "consist: the store %s cannot answer for %s (%s); this read-only tracker "
                "answers from the snapshots; a write tracker will build the store.",
                self._store.location,
                self._layout.run_dir,
                reason,
            )
        # Fresh each time: a snapshot rewritten since (running -> completed) must show.
        snapshots = SnapshotMemoryStore(SnapshotDirectory(self._layout))
        with snapshots.read_session():
            pending = read_pending(self._journal, {}, self._decode)
            return with_pending(snapshots, pending)


class _Unhealthy(Exception):
    """Internal: the store is readable but does not index this run_dir (see heal.py)."""

    def __init__(self, why: str, *, fault: bool = True) -> None:
        super().__init__(why)
        self.fault = fault


def _load(layout: RunLayout, run_id: str) -> ConsistRecord | None:
    try:
        return read_snapshot(layout, run_id)
    except StoreError as exc:
        logger.warning("consist: skipping unreadable snapshot: %s", exc)
        return None
