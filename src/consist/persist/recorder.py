"""Writing what happened to a run, in a fixed order: JSON first, then indexes, then the store.

* start (a miss): running snapshot, then a journal line, so a run killed mid-way stays
  visible as ``running``;
* progress (log_* calls): the same, and the store is synced at once (the reference
  promises those calls reach the database);
* end: final snapshot (+ consist.json), then, for a completed miss, the cache indexes
  (completed signature, produced files), then the journal line.

The snapshot is always written before anything that points at it, so every index entry
and store row can be rebuilt from snapshots. Nothing is written for ``readonly`` runs.
"""

from __future__ import annotations

from consist.cache.index import CompletedIndex, ProducedIndex
from consist.fs.layout import RunLayout
from consist.model.artifact import ProducedFile
from consist.model.run import ConsistRecord, RunStatus
from consist.persist.snapshot import encode_record, write_snapshot
from consist.persist.sync import StoreSync


class RunRecorder:
    """Writes a run's records; built once per tracker from its collaborators."""

    __slots__ = ("_layout", "_sync", "_completed", "_produced")

    def __init__(
        self,
        layout: RunLayout,
        sync: StoreSync,
        completed: CompletedIndex,
        produced: ProducedIndex,
    ) -> None:
        self._layout = layout
        self._sync = sync
        self._completed = completed
        self._produced = produced

    def record_started(self, record: ConsistRecord) -> None:
        data = encode_record(record)
        write_snapshot(self._layout, record, update_latest=False, data=data)
        self._sync.journal_started(record, data)

    def record_progress(self, record: ConsistRecord) -> None:
        data = encode_record(record)
        write_snapshot(self._layout, record, update_latest=False, data=data)
        self._sync.journal_progress(record, data)

    def record_ended(self, record: ConsistRecord, *, reusable: bool) -> None:
        """Final record; ``reusable`` (a completed miss) also enters the cache indexes."""
        data = encode_record(record)
        path = write_snapshot(self._layout, record, update_latest=True, data=data)
        run = record.run
        if reusable and run.status == RunStatus.COMPLETED.value:
            self._completed.record(record, path)
            for artifact in record.outputs:
                if artifact.hash and artifact.abs_path and artifact.run_id == run.id:
                    entry = ProducedFile(run.signature or "", artifact.hash, run.id, artifact.id)
                    self._produced.record(artifact.abs_path, entry)
        self._sync.journal_ended(record, data)
