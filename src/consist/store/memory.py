"""In-memory store: the reference implementation of the seam (JSON-only mode, tests)."""

from __future__ import annotations

from collections.abc import Sequence

from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.store.base import EQUALITY_FILTERS, RunQuery, metadata_matches, run_sort_key


class MemoryStore:
    def __init__(self) -> None:
        self._records: dict[str, ConsistRecord] = {}

    def record_runs(self, records: Sequence[ConsistRecord]) -> None:
        for record in records:
            self._records[record.run.id] = record

    def get_run(self, run_id: str) -> Run | None:
        record = self._records.get(run_id)
        return record.run if record else None

    def query_runs(self, query: RunQuery) -> list[Run]:
        runs = [r.run for r in self._records.values() if _matches(r.run, query)]
        runs.sort(key=run_sort_key(query.order), reverse=True)
        return runs if query.limit is None else runs[: query.limit]

    def get_run_artifacts(self, run_id: str) -> tuple[list[Artifact], list[Artifact]]:
        record = self._records.get(run_id)
        if record is None:
            return [], []
        # Sorted by key, like the SQL store, so both implementations agree.
        by_key = lambda artifact: artifact.key  # noqa: E731
        return sorted(record.inputs, key=by_key), sorted(record.outputs, key=by_key)

    def count_runs(self) -> int:
        return len(self._records)

    def known_ids(self) -> set[str]:
        return set(self._records)


def _matches(run: Run, query: RunQuery) -> bool:
    for query_field, run_field in EQUALITY_FILTERS:
        wanted = getattr(query, query_field)
        if wanted is not None and getattr(run, run_field) != wanted:
            return False
    if query.tags and not set(query.tags).issubset(run.tags):
        return False
    if query.metadata:
        for key, value in query.metadata.items():
            if key not in run.meta or not metadata_matches(run.meta[key], value):
                return False
    return True
