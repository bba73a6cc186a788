"""Answering a query over a store plus records not yet copied into it, without writing.

A read-only tracker must show the run a writer just finished, though the writer has
only journaled it. The store's answer and the pending records are merged in memory:
a pending record replaces the store's row of the same run (it is newer), and both
sides are filtered and ordered by the same rules (MemoryStore is the reference), so
the result is what the store would answer after the next sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from consist.model.run import ConsistRecord, Run
from consist.store.base import (
    MetadataStore,
    PendingRecords,
    RecordDecoder,
    RunQuery,
    run_sort_key,
)
from consist.store.memory import MemoryStore


def read_pending(
    pending: PendingRecords, consumed: dict[str, int], decode: RecordDecoder
) -> list[ConsistRecord]:
    """Journal records past the ``consumed`` offsets (the last line of a run wins)."""
    by_id: dict[str, ConsistRecord] = {}
    for chunk in pending.scan(consumed):
        for line in chunk.lines:
            record = decode(line)
            if record is not None:
                by_id[record.run.id] = record
    return list(by_id.values())


def query_with_pending(
    store: MetadataStore, query: RunQuery, records: Sequence[ConsistRecord]
) -> list[Run]:
    """``store.query_runs(query)`` as if ``records`` had been recorded first."""
    if not records:
        return store.query_runs(query)
    newer = MemoryStore()
    newer.record_runs(records)
    # Up to len(records) store rows may be replaced, so ask the store for that many more.
    limit = None if query.limit is None else query.limit + len(records)
    replaced = newer.known_ids()
    runs = [run for run in store.query_runs(replace(query, limit=limit)) if run.id not in replaced]
    runs += newer.query_runs(replace(query, limit=None))
    runs.sort(key=run_sort_key(query.order), reverse=True)
    return runs if query.limit is None else runs[: query.limit]
