"""Bringing snapshots into the SQL store: opportunistic, batched, never on the hot path.

Runs end by writing their snapshot and a pending-journal line (journal.py). This module
copies pending snapshots into the store in one short write session:

* opportunistically, every ``sync_every_runs`` runs or ``sync_every_seconds`` seconds,
  without waiting: if another process holds the DuckDB file, we simply try later;
* blocking (with retry) before any query, so reads see every ended run;
* at interpreter exit, so a finished sweep leaves a complete store.

Any process may sync any other process's pending runs, so a crashed process's runs
are picked up by the next one. ``rebuild`` re-imports every snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager, nullcontext

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord
from consist.persist.journal import PendingJournal
from consist.persist.snapshot import decode_record, list_snapshot_ids, read_snapshot
from consist.settings import EXIT_SYNC_TIMEOUT_SECONDS
from consist.store.duckdb.connect import StoreBusy
from consist.store.duckdb.store import DuckDBStore
from consist.store.memory import MemoryStore

logger = logging.getLogger("consist")

_REBUILD_BATCH = 5000


class SnapshotMemoryStore(MemoryStore):
    """JSON-only mode: a MemoryStore that catches up with the snapshot directory on demand."""

    def __init__(self, layout: RunLayout) -> None:
        super().__init__()
        self._layout = layout

    def session(
        self, *, blocking: bool = True, timeout: float | None = None
    ) -> AbstractContextManager[None]:
        return nullcontext()

    def refresh(self) -> None:
        known = self.known_ids()
        records = []
        for run_id in list_snapshot_ids(self._layout):
            if run_id not in known:
                record = _load(self._layout, run_id)
                if record is not None:
                    records.append(record)
        self.record_runs(records)


class StoreSync:
    def __init__(
        self,
        layout: RunLayout,
        store: DuckDBStore | SnapshotMemoryStore,
        journal: PendingJournal,
        *,
        every_runs: int,
        every_seconds: float,
    ) -> None:
        self._layout = layout
        self._store = store
        self._journal = journal
        self._every_runs = every_runs
        self._every_seconds = every_seconds
        self._since_sync = 0
        self._last_sync = time.monotonic()
        self._background: threading.Thread | None = None

    def note_started(self, record: ConsistRecord, data: bytes) -> None:
        """Journal a record (at a run's start, flush or end), so even a process killed
        mid-run leaves the run queryable; a run's later lines, in the same file, win."""
        if isinstance(self._store, SnapshotMemoryStore):
            self._store.record_runs([record])
            return
        self._journal.append(data)

    def note_flushed(self, record: ConsistRecord, data: bytes) -> None:
        """Journal a running record and copy it into the store now (log_* calls)."""
        self.note_started(record, data)
        if not isinstance(self._store, SnapshotMemoryStore):
            self.sync(blocking=True)

    def note_recorded(self, record: ConsistRecord, data: bytes) -> None:
        """Called after a run's final snapshot (``data`` is its JSON); syncs now and then."""
        self.note_started(record, data)
        if isinstance(self._store, SnapshotMemoryStore):
            return
        self._since_sync += 1
        if (
            self._since_sync >= self._every_runs
            or time.monotonic() - self._last_sync >= self._every_seconds
        ):
            self._sync_in_background()

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
            self.sync(blocking=False)
        except Exception as exc:  # never surfaces in user code; the next sync retries
            logger.warning("consist: background store sync failed: %s", exc)

    def sync(self, *, blocking: bool = True, timeout: float | None = None) -> int:
        """Copy pending runs into the store; return how many runs were copied."""
        if isinstance(self._store, SnapshotMemoryStore):
            self._store.refresh()
            return 0
        try:
            # A store session is exclusive within the process too, so syncs never overlap.
            with self._store.session(blocking=blocking, timeout=timeout):
                copied = self._store.ingest_journal(self._journal, self._decode)
        except StoreBusy:
            return 0
        self._since_sync = 0
        self._last_sync = time.monotonic()
        return copied

    def _decode(self, line: bytes) -> ConsistRecord | None:
        try:
            return decode_record(line, self._layout)
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("consist: skipping an unreadable journal line: %s", exc)
            return None

    def rebuild(self) -> int:
        """Re-import every readable snapshot under run_dir; return how many were imported."""
        if isinstance(self._store, SnapshotMemoryStore):
            self._store.refresh()
            return self._store.count_runs()
        run_ids = list_snapshot_ids(self._layout)
        imported = 0
        with self._store.session():
            for start in range(0, len(run_ids), _REBUILD_BATCH):
                batch = run_ids[start : start + _REBUILD_BATCH]
                records = [r for r in (_load(self._layout, i) for i in batch) if r is not None]
                self._store.record_runs(records)
                imported += len(records)
            # Pending entries are now redundant; consuming them keeps the journal short.
            self._store.ingest_journal(self._journal, self._decode)
        return imported

    def sync_at_exit(self) -> None:
        if not self._journal.has_files():
            return  # nothing pending anywhere: do not open (or create) the database
        try:
            # Bounded: a DuckDB shell left open on the file must not hang interpreter exit.
            self.sync(blocking=True, timeout=EXIT_SYNC_TIMEOUT_SECONDS)
            self._journal.close()
        except (StoreError, OSError) as exc:
            # The snapshots are safe; the next process that syncs will copy them.
            logger.warning("consist: runs left pending for the store: %s", exc)


def _load(layout: RunLayout, run_id: str) -> ConsistRecord | None:
    try:
        return read_snapshot(layout, run_id)
    except StoreError as exc:
        logger.warning("consist: skipping unreadable snapshot: %s", exc)
        return None
