"""The store heals itself: when to rebuild the SQL store from the snapshots, and how.

The snapshots (and pending journal lines) are the source of truth; a store that can be
lost apart from them (a DuckDB file) is an index of them. Each run_dir holds a
*generation* marker (``.consist/generation``, a random id) naming the store lineage
built from its snapshots, and the store lists the generations it indexes
(``StoreLineage``). A write tracker checks both in every write session (one tiny
SELECT and one small file read) and rebuilds when:

==============================================  =========================  ==========
store found                                     marker                     log
==============================================  =========================  ==========
missing (created by this session)               present                    warning
corrupt (moved aside, then created)             any                        warning
empty, indexes no generation                    present                    warning
indexes other generations only                  any (absent: .consist/     warning
                                                removed, or another
                                                run_dir's DB)
missing / empty                                 absent (first store of     info, when
                                                this run_dir)              runs found
==============================================  =========================  ==========

A store with runs but no generation and no marker (written by a Consist before
generations existed) is adopted as it is. After a rebuild of a store that was
created, the marker gets a new id, so an old backup restored later is seen as
another generation. Rows of other run_dirs are kept (one store may index several).

Rebuild order: pending journal lines first (through the store's own offsets), then
every snapshot, except a ``running`` snapshot of a run the store already holds (the
store's record comes from a later journal line: log_* calls only append lines, and a
running snapshot is never rewritten). Records the store refuses are set aside.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from consist.fs.atomic import read_bytes_or_none, write_bytes_atomic
from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord, RunStatus
from consist.persist.snapshot import list_snapshot_ids, read_snapshot
from consist.store.base import (
    MetadataStore,
    PendingRecords,
    RecordDecoder,
    RejectedRecords,
    StoreLineage,
)

logger = logging.getLogger("consist")

_BATCH = 5000
_ENDED = frozenset({RunStatus.COMPLETED.value, RunStatus.FAILED.value})


@dataclass(frozen=True, slots=True)
class HealPlan:
    """What a write session must do: rebuild (and why), and with which generation."""

    rebuild: bool
    reason: str
    warn: bool
    new_generation: bool


def read_generation(layout: RunLayout) -> str | None:
    data = read_bytes_or_none(layout.generation_file)
    text = data.decode("ascii", "replace").strip() if data else ""
    return text or None


def write_new_generation(layout: RunLayout) -> str:
    generation = uuid.uuid4().hex
    write_bytes_atomic(layout.generation_file, (generation + "\n").encode())
    return generation


def has_snapshots(layout: RunLayout) -> bool:
    """Whether any snapshot exists (stops at the first: no full listing)."""
    try:
        with os.scandir(layout.snapshots_dir) as entries:
            return any(entry.name.endswith(".json") for entry in entries)
    except FileNotFoundError:
        return False


def looks_healthy(lineage: StoreLineage, marker: str | None, layout: RunLayout) -> bool:
    """Read-side check (creates nothing): may this store answer for run_dir as it is?"""
    if marker is not None:
        return marker in lineage.generations
    if lineage.generations:
        return False  # built from another run_dir's snapshots, or .consist/ was removed
    return not (lineage.empty and has_snapshots(layout))


def plan_heal(lineage: StoreLineage, marker: str | None) -> HealPlan | None:
    """What a write session does with the store it found (table in the module doc)."""
    if marker is not None and marker in lineage.generations:
        return None
    found = ", ".join(sorted(lineage.generations)) or "none"
    if lineage.created is not None:
        first = marker is None and lineage.created == "the database file was missing"
        reason = "a new store for this run_dir" if first else lineage.created
        return HealPlan(True, reason, warn=not first, new_generation=True)
    if marker is None:
        if lineage.generations:
            reason = (
                f"the database indexes another snapshot generation ({found}) and run_dir "
                "has no generation marker (a store of another run_dir, or .consist/ was removed)"
            )
            return HealPlan(True, reason, warn=True, new_generation=True)
        if lineage.empty:
            return HealPlan(True, "a new store for this run_dir", warn=False, new_generation=True)
        return HealPlan(False, "adopted", warn=False, new_generation=True)
    if not lineage.generations and lineage.empty:
        return HealPlan(True, "the database was new (empty)", warn=True, new_generation=False)
    reason = (
        f"the database indexes another snapshot generation ({found}) than run_dir "
        f"({marker}): a store of another run_dir, or one restored from an old backup"
    )
    return HealPlan(True, reason, warn=True, new_generation=False)


def rebuild_into(
    store: MetadataStore,
    layout: RunLayout,
    journal: PendingRecords,
    decode: RecordDecoder,
    rejected: RejectedRecords,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Import pending journal lines, then every snapshot, into ``store`` (inside a write
    session); return (snapshots imported, runs copied from journals).
    ``progress(done, total)`` is called after each batch of snapshots."""
    from_journals = store.catch_up(journal, decode, rejected=rejected)
    imported = 0
    run_ids = list_snapshot_ids(layout)
    for done, batch in _snapshot_batches(run_ids, layout, rejected):
        keep = [record for record in batch if not _superseded(store, record)]
        store.record_runs(keep, rejected=rejected)
        imported += len(keep)
        if progress is not None:
            progress(done, len(run_ids))
    return imported, from_journals


def _superseded(store: MetadataStore, record: ConsistRecord) -> bool:
    # An ended snapshot is the run's final word. A running one may be older than what
    # the store holds (log_* calls only append journal lines; persist/materialize.py).
    if record.run.status in _ENDED:
        return False
    return store.get_run(record.run.id) is not None


def _snapshot_batches(
    run_ids: list[str], layout: RunLayout, rejected: RejectedRecords
) -> Iterator[tuple[int, list[ConsistRecord]]]:
    """(snapshots read so far, the batch's records) per batch."""
    for start in range(0, len(run_ids), _BATCH):
        records = []
        for run_id in run_ids[start : start + _BATCH]:
            try:
                record = read_snapshot(layout, run_id)
            except Exception as exc:  # an unreadable or misnamed snapshot blocks no other
                rejected.set_aside(run_id, f"unreadable snapshot: {exc}", "snapshot", None)
                continue
            if record is not None:
                records.append(record)
        yield min(start + _BATCH, len(run_ids)), records


def log_heal(plan: HealPlan, db: str | None, layout: RunLayout, counts: tuple[int, int]) -> None:
    """The one log line of a heal: what was rebuilt, from how much, and why."""
    snapshots, journaled = counts
    if not plan.warn and snapshots == 0:
        return  # a first store over a run_dir without runs: nothing worth saying
    logger.log(
        logging.WARNING if plan.warn else logging.INFO,
        "consist: rebuilt the store %s from %d snapshots (+%d pending journal runs) of %s: %s",
        db,
        snapshots,
        journaled,
        layout.run_dir,
        plan.reason,
    )
