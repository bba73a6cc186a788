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
from functools import partial

from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.store.base import (
    MetadataStore,
    PendingRecords,
    RecordDecoder,
    RunQuery,
    run_sort_key,
)
from consist.store.links import (
    ArtifactLink,
    ArtifactQuery,
    LineageGraph,
    LinkQuery,
    RunResolver,
    artifact_order,
    link_order,
    walk_lineage,
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
    # Up to len(records) store rows may be replaced, so ask the store for that many more;
    # pending runs may sort anywhere, so the offset applies after the merge.
    limit = None if query.limit is None else query.offset + query.limit + len(records)
    replaced = newer.known_ids()
    head = store.query_runs(replace(query, limit=limit, offset=0))
    runs = [run for run in head if run.id not in replaced]
    runs += newer.query_runs(replace(query, limit=None, offset=0))
    runs.sort(key=run_sort_key(query.order), reverse=True)
    return query.window(runs)


class PendingOverlay:
    """Artifact and lineage answers of ``store`` as if ``records`` had been recorded first.

    Same rule as for runs: a pending record replaces the store's links of its run, and
    a pending artifact the store's row of the same id. Lineage is walked level by level
    (store/links.walk_lineage), since the store's one-query walk cannot see the records.
    """

    def __init__(self, store: MetadataStore, records: Sequence[ConsistRecord]) -> None:
        self._store = store
        self._newer = MemoryStore()
        self._newer.record_runs(records)
        self._replaced = self._newer.known_ids()
        self._new_artifacts = {a.id: a for r in records for a in (*r.inputs, *r.outputs)}

    def get_run(self, run_id: str) -> Run | None:
        return self._newer.get_run(run_id) or self._store.get_run(run_id)

    def query_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        extra = len(self._new_artifacts)
        limit = None if query.limit is None else query.limit + extra
        found = {a.id: a for a in self._store.query_artifacts(replace(query, limit=limit))}
        for aid in set(found) & set(self._new_artifacts):
            found[aid] = self._new_artifacts[aid]
        found.update((a.id, a) for a in self._newer.query_artifacts(replace(query, limit=None)))
        artifacts = sorted(found.values(), key=artifact_order, reverse=True)
        return artifacts if query.limit is None else artifacts[: query.limit]

    def query_links(self, query: LinkQuery) -> list[ArtifactLink]:
        links = [
            replace(link, artifact=self._new_artifacts.get(link.artifact.id, link.artifact))
            for link in self._store.query_links(query)
            if link.run_id not in self._replaced
        ]
        links += self._newer.query_links(query)
        return sorted(links, key=link_order)

    def get_lineage(
        self,
        artifact_id: str,
        *,
        direction: str,
        max_depth: int | None,
        resolve_runs: RunResolver | None = None,
    ) -> LineageGraph | None:
        found = self.query_artifacts(ArtifactQuery(artifact_id=artifact_id, limit=1))
        if not found:
            return None
        resolve = None if resolve_runs is None else partial(self._resolve, resolve_runs)
        return walk_lineage(self, found[0], direction, max_depth, resolve)

    def _resolve(self, resolve_runs: RunResolver, run_ids: Sequence[str]) -> dict[str, Run]:
        # A pending record is newer than anything the caller read: it wins.
        runs = {run_id: run for run_id in run_ids if (run := self._newer.get_run(run_id))}
        rest = [run_id for run_id in run_ids if run_id not in runs]
        if rest:
            runs.update(resolve_runs(rest))
        return runs
