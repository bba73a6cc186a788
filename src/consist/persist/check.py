"""Checking the SQL store against the JSON snapshots (the truth), for ``consist db check``.

Rules (each run id lands in at most one list):

* **missing**: a snapshot's run the store does not hold, and no journal line of the
  run waits to be copied in;
* **pending**: a run the store does not hold (or holds in an older state) whose
  journal line is not copied in yet: not a fault, the next sync copies it;
* **extra**: a run the store holds with neither a snapshot nor a pending line;
* **mismatched**: a run in both whose stored fields or linked artifacts (by direction
  and artifact id) differ from its snapshot. Timestamps compare as instants (the store
  keeps TIMESTAMP, the snapshot ISO text). A snapshot still ``running`` is checked for
  presence only: ``log_*`` calls append journal lines, so the store may be newer;
* **unreadable**: a snapshot file that does not parse.

The check is read-only: it runs in one read session, writes nothing and never
creates the database, so a sweep writing to the store keeps running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import RUN_FIELDS, ConsistRecord, Run, RunStatus
from consist.persist.snapshot import list_snapshot_ids, read_snapshot
from consist.store.base import MetadataStore, PendingRecords, RecordDecoder, RunQuery
from consist.store.overlay import read_pending

#: ``progress(done, total)``: called as snapshots are compared.
Progress = Callable[[int, int], None]

_TIMESTAMPS = frozenset({"created_at", "started_at", "ended_at"})


@dataclass(frozen=True, slots=True)
class RunMismatch:
    """One run whose stored row differs from its snapshot: the fields that differ
    (run fields, plus ``"inputs"`` / ``"outputs"`` for its artifact links)."""

    run_id: str
    fields: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "fields": list(self.fields)}


@dataclass(frozen=True, slots=True)
class StoreCheck:
    """The outcome of :meth:`Tracker.check_store` (lists in the module doc)."""

    snapshots: int
    stored: int
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    mismatched: tuple[RunMismatch, ...] = ()
    pending: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the store agrees with every snapshot (pending runs are no fault)."""
        return not (self.missing or self.extra or self.mismatched or self.unreadable)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "snapshots": self.snapshots,
            "stored": self.stored,
            "missing": list(self.missing),
            "extra": list(self.extra),
            "mismatched": [item.to_dict() for item in self.mismatched],
            "pending": list(self.pending),
            "unreadable": list(self.unreadable),
        }


def check_store(
    store: MetadataStore,
    layout: RunLayout,
    journal: PendingRecords,
    decode: RecordDecoder,
    progress: Progress | None = None,
) -> StoreCheck:
    """Compare every snapshot under ``layout`` with ``store`` (see the module doc)."""
    ids = sorted(list_snapshot_ids(layout))
    with store.read_session():
        stored = {run.id: run for run in store.query_runs(RunQuery(limit=None))}
        consumed = store.journal_offsets() if store.journaled else {}
        pending = {record.run.id for record in read_pending(journal, consumed, decode)}
        missing: list[str] = []
        mismatched: list[RunMismatch] = []
        unreadable: list[str] = []
        late: set[str] = set()
        for done, run_id in enumerate(ids, 1):
            try:
                record = read_snapshot(layout, run_id)
            except (StoreError, ValueError, KeyError, TypeError):
                record = None
            if record is None:
                unreadable.append(run_id)
            elif run_id not in stored:
                (late.add(run_id) if run_id in pending else missing.append(run_id))
            elif record.run.status != RunStatus.RUNNING.value:
                fields = _differences(record, stored[run_id], store)
                if fields and run_id in pending:
                    late.add(run_id)
                elif fields:
                    mismatched.append(RunMismatch(run_id, fields))
            if progress is not None:
                progress(done, len(ids))
    known = set(ids) | pending
    return StoreCheck(
        snapshots=len(ids),
        stored=len(stored),
        missing=tuple(missing),
        extra=tuple(sorted(set(stored) - known)),
        mismatched=tuple(mismatched),
        pending=tuple(sorted(late | (pending - set(ids) - set(stored)))),
        unreadable=tuple(unreadable),
    )


def _differences(record: ConsistRecord, stored: Run, store: MetadataStore) -> tuple[str, ...]:
    mine, theirs = record.run.to_dict(), stored.to_dict()
    fields = [name for name in RUN_FIELDS if not _same(name, mine.get(name), theirs.get(name))]
    inputs, outputs = store.get_run_artifacts(record.run.id)
    if _ids(record.inputs) != _ids(inputs):
        fields.append("inputs")
    if _ids(record.outputs) != _ids(outputs):
        fields.append("outputs")
    return tuple(fields)


def _ids(artifacts: Sequence[Artifact]) -> list[str]:
    return sorted(artifact.id for artifact in artifacts)


def _same(name: str, a: Any, b: Any) -> bool:
    if name in _TIMESTAMPS:
        return _instant(a) == _instant(b)
    if name == "tags":
        return list(a or []) == list(b or [])
    if name == "meta":
        return dict(a or {}) == dict(b or {})
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6
    return bool(a == b)


def _instant(value: Any) -> datetime | None:
    """A timestamp as a naive UTC datetime (the store keeps naive UTC)."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
