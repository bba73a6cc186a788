"""Writing what happened to a run, in a fixed order: JSON first, then indexes, then the store.

With a shared store (DuckDB or PostgreSQL), the pending journal is a source of truth
beside the snapshots (persist/materialize.py), and each step writes as little as it can
(a PostgreSQL store also gets each record directly, right after its journal line:
persist/sync.py):

* start (a miss) and progress (log_* calls): one journal line, so a run killed mid-way
  stays visible as ``running``; queries sync the journal into the store first;
* end of a cache hit: one journal line; its snapshot and consist.json come later;
* end of anything else: the journal line, then for a completed miss the cache indexes
  (completed signature -> that record, produced files); its snapshot and consist.json
  come later too, as for a hit. The index is written after the journal line, so an
  entry never points at a run that no record holds.

Without a store (``db_path=None``) every record is written as a snapshot at once, the
index entry is a link to it (written after it), and consist.json follows each ended
run. Nothing is written for ``readonly`` runs.
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

    __slots__ = ("_layout", "_sync", "_completed", "_produced", "_journaled")

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
        # With a shared store (DuckDB, PostgreSQL) the journal is a source of truth
        # (persist/materialize.py); without one (db_path=None) every record is a snapshot
        # at once.
        self._journaled = sync.local_journal

    def record_started(self, record: ConsistRecord) -> None:
        data = encode_record(record)
        if not self._journaled:
            write_snapshot(self._layout, record, update_latest=False, data=data)
        self._sync.journal_started(record, data)

    def record_progress(self, record: ConsistRecord) -> None:
        data = encode_record(record)
        if not self._journaled:
            write_snapshot(self._layout, record, update_latest=False, data=data)
        self._sync.journal_progress(record, data)

    def record_ended(self, record: ConsistRecord, *, reusable: bool) -> None:
        """Final record; ``reusable`` (a completed miss) also enters the cache indexes.

        With a shared store a cache hit is ONE journal append, and a miss's end is that
        append plus its cache index entry: snapshots and the consist.json pointer are
        materialised when the journal is consumed.
        """
        data = encode_record(record)
        run = record.run
        reusable = reusable and run.status == RunStatus.COMPLETED.value
        if self._journaled:

            def index() -> None:
                self._completed.write(record, data)
                self._record_produced(record)

            self._sync.journal_ended(record, data, then=index if reusable else None)
            return
        # No journal: the snapshot is the record, and the cache index links to it.
        path = write_snapshot(self._layout, record, update_latest=True, data=data)
        if reusable:
            self._completed.link(record, path)
            self._record_produced(record)
        self._sync.journal_ended(record, data)

    def _record_produced(self, record: ConsistRecord) -> None:
        run = record.run
        for artifact in record.outputs:
            # A table inside a file (meta table_path) shares the file's path; only the
            # file's own record may stand for that path's bytes.
            if (
                artifact.hash
                and artifact.abs_path
                and artifact.run_id == run.id
                and "table_path" not in artifact.meta
            ):
                entry = ProducedFile(run.signature or "", artifact.hash, run.id, artifact.id)
                self._produced.record(artifact.abs_path, entry)
