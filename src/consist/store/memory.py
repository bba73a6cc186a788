"""In-memory stores: the reference implementation of the seam, and JSON-only mode.

``MemoryStore`` is the contract baseline (every other store must answer like it).
``SnapshotMemoryStore`` is what a tracker without ``db_path`` uses: the records of
this process go straight in, and every read first catches up with the snapshot
directory, which is how runs of other processes become visible. Neither writes a file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from consist.model.artifact import Artifact
from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import ConsistRecord, Run
from consist.store import facets
from consist.store.base import (
    EQUALITY_FILTERS,
    PendingRecords,
    RecordDecoder,
    RejectedRecords,
    RunQuery,
    SnapshotSource,
    StoreLineage,
    metadata_matches,
    run_sort_key,
)
from consist.store.links import (
    ArtifactLink,
    ArtifactQuery,
    LineageGraph,
    LinkIndex,
    LinkQuery,
    RunResolver,
    walk_lineage,
)


class MemoryStore:
    journaled = False
    location: str | None = None

    def __init__(self) -> None:
        self._records: dict[str, ConsistRecord] = {}
        self._links = LinkIndex()

    @contextmanager
    def session(self, *, blocking: bool = True, timeout: float | None = None) -> Iterator[None]:
        yield  # one process, no lock to take

    @contextmanager
    def read_session(self) -> Iterator[None]:
        yield

    def record_runs(
        self, records: Sequence[ConsistRecord], *, rejected: RejectedRecords | None = None
    ) -> None:
        # Holds any record as it is, so nothing is ever set aside.
        for record in records:
            self._records[record.run.id] = record
        self._links.record(records)

    def catch_up(
        self,
        pending: PendingRecords,
        decode: RecordDecoder,
        *,
        rejected: RejectedRecords | None = None,
    ) -> int:
        return 0  # nothing is persisted anywhere for a bare memory store to read

    def lineage(self) -> StoreLineage | None:
        return None  # lives and dies with the process: nothing to heal

    def add_generation(self, generation: str) -> None:
        pass

    def journal_offsets(self) -> dict[str, int]:
        return {}

    def get_run(self, run_id: str) -> Run | None:
        record = self._records.get(run_id)
        return record.run if record else None

    def query_runs(self, query: RunQuery) -> list[Run]:
        runs = [r.run for r in self._records.values() if _matches(r.run, query)]
        runs.sort(key=run_sort_key(query.order), reverse=True)
        return query.window(runs)

    def get_run_artifacts(self, run_id: str) -> tuple[list[Artifact], list[Artifact]]:
        record = self._records.get(run_id)
        if record is None:
            return [], []
        # Sorted by key, like the SQL store, so both implementations agree.
        by_key = lambda artifact: artifact.key  # noqa: E731
        return sorted(record.inputs, key=by_key), sorted(record.outputs, key=by_key)

    def find_artifacts_by_uri(self, uri: str) -> list[Artifact]:
        found: dict[str, Artifact] = {}
        for record in self._records.values():
            for artifact in (*record.inputs, *record.outputs):
                if artifact.uri == uri:
                    found.setdefault(artifact.id, artifact)
        # Newest first, ties by id: the SQL store's ORDER BY.
        ordered = sorted(found.values(), key=lambda a: a.id)
        return sorted(ordered, key=lambda a: a.created_at or "", reverse=True)

    def count_runs(self) -> int:
        return len(self._records)

    def query_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        return self._links.query_artifacts(query)

    def query_links(self, query: LinkQuery) -> list[ArtifactLink]:
        return self._links.query_links(query)

    def get_lineage(
        self,
        artifact_id: str,
        *,
        direction: str,
        max_depth: int | None,
        resolve_runs: RunResolver | None = None,
    ) -> LineageGraph | None:
        # resolve_runs is ignored: this store's runs are in memory already.
        found = self._links.query_artifacts(ArtifactQuery(artifact_id=artifact_id, limit=1))
        return walk_lineage(self, found[0], direction, max_depth) if found else None

    def sql_engine(self) -> object | None:
        return None

    def close(self) -> None:
        pass

    def known_ids(self) -> set[str]:
        return set(self._records)

    # --- facets (store/facets.py holds the rules) -----------------------------------

    def query_config_kv(self, query: facets.ConfigKVQuery) -> list[ConfigKV]:
        return facets.query_config_kv(self._records.values(), query)

    def find_runs_by_facet_kv(self, match: facets.FacetMatch) -> list[Run]:
        return facets.find_runs_by_facet_kv(self._records.values(), match)

    def query_facets(self, query: facets.FacetQuery) -> list[ConfigFacet]:
        return facets.query_facets(self._records.values(), query)


class SnapshotMemoryStore(MemoryStore):
    """JSON-only mode: a MemoryStore that catches up with the snapshot directory on demand."""

    def __init__(self, snapshots: SnapshotSource) -> None:
        super().__init__()
        self._snapshots = snapshots

    @contextmanager
    def read_session(self) -> Iterator[None]:
        # Reading files only, so a read-only tracker may do it too.
        self.refresh()
        yield

    def catch_up(
        self,
        pending: PendingRecords,
        decode: RecordDecoder,
        *,
        rejected: RejectedRecords | None = None,
    ) -> int:
        # Records of this process came in through record_runs; the journal is unused.
        return self.refresh()

    def refresh(self) -> int:
        """Load snapshots not seen yet; return how many."""
        known = self.known_ids()
        records = []
        for run_id in self._snapshots.list_ids():
            if run_id not in known:
                record = self._snapshots.load(run_id)
                if record is not None:
                    records.append(record)
        self.record_runs(records)
        return len(records)


def _matches(run: Run, query: RunQuery) -> bool:
    for query_field, run_field in EQUALITY_FILTERS:
        wanted = getattr(query, query_field)
        if wanted is not None and getattr(run, run_field) != wanted:
            return False
    if query.tags and not set(query.tags).issubset(run.tags):
        return False
    if query.any_tags and not set(query.any_tags).intersection(run.tags):
        return False
    if query.metadata:
        for key, value in query.metadata.items():
            if key not in run.meta or not metadata_matches(run.meta[key], value):
                return False
    return True
