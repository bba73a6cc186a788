"""Artifact and lineage queries at the storage seam: their records and reference answers.

A run links an artifact as an ``input`` or an ``output`` (the ``run_artifacts`` rows of
the SQL store). Rules every store follows (``LinkIndex`` is the reference, used by the
in-memory stores; store/duckdb/read_links.py is its SQL twin):

* An artifact id recorded by several runs (an upstream output read as an input, a raw
  file read by many runs) is one artifact; its fields are those of the record stored
  last. Re-recording a run replaces its links.
* ``query_artifacts`` returns distinct artifacts, newest ``created_at`` first, ties by
  id descending. ``creator`` / ``consumer`` / ``run_id`` need an output / input / any
  link to that run; every filter is an exact match on a bound value.
* ``query_links`` returns links ordered by (run_id, direction, key, artifact id).
* The *producer* of an artifact is the run that linked it as an output and whose id
  is the artifact's ``run_id`` (a cache hit links the outputs it reused as its own
  outputs too, but did not produce them). A raw input has no producer.
* Lineage is a walk over those links from one artifact, breadth first, so each
  artifact is met at its smallest depth. Upstream: artifact -> its producer -> the
  producer's inputs -> ... Downstream: artifact -> every run that read it -> their
  outputs -> ... Runs are only expanded for artifacts at a depth below ``max_depth``.
* A lineage walk may be given a ``RunResolver``: the caller's own copies of runs (the
  tracker reads them from their JSON snapshots, which are written before any store row).
  A store may take the runs it answers instead of fetching them, and fetches the others;
  the caller answers only runs exactly as the store holds them, so the graph is the same
  either way. A store whose runs are already in memory may ignore it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
#: Depth walked when no max_depth is given: more than any real chain, and a bound if
#: damaged records ever formed a cycle.
UNBOUNDED_DEPTH = 10_000

#: Run ids -> the runs among them the caller already holds (see the module doc).
RunResolver = Callable[[Sequence[str]], Mapping[str, Run]]


@dataclass(frozen=True, slots=True)
class ArtifactQuery:
    """Filters for artifact lookups; ``None`` means "any"."""

    artifact_id: str | None = None
    key: str | None = None
    creator: str | None = None
    consumer: str | None = None
    run_id: str | None = None
    limit: int | None = 100


@dataclass(frozen=True, slots=True)
class LinkQuery:
    """Links of these runs and/or these artifacts (``None``: any), in one direction or both."""

    run_ids: tuple[str, ...] | None = None
    artifact_ids: tuple[str, ...] | None = None
    direction: str | None = None


@dataclass(frozen=True, slots=True)
class ArtifactLink:
    """One run's use of one artifact, with the artifact's stored fields."""

    run_id: str
    direction: str
    key: str
    artifact: Artifact


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """What a lineage walk met (see the module doc).

    ``depths``: artifact id -> depth (0 for the root). ``steps``: artifact id -> the runs
    walked through from it (its producer upstream, its consumers downstream).
    ``far``: run id -> (link key, artifact id) on the far side (inputs upstream, outputs
    downstream), ordered by key.
    """

    root: str
    direction: str
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    steps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    far: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


class LinkSource(Protocol):
    """What :func:`walk_lineage` needs of a store."""

    def query_artifacts(self, query: ArtifactQuery) -> list[Artifact]: ...

    def query_links(self, query: LinkQuery) -> list[ArtifactLink]: ...

    def get_run(self, run_id: str) -> Run | None: ...


def artifact_order(artifact: Artifact) -> tuple[str, str]:
    return (artifact.created_at or "", artifact.id)


def link_order(link: ArtifactLink) -> tuple[str, str, str, str]:
    return (link.run_id, link.direction, link.key, link.artifact.id)


class LinkIndex:
    """Artifacts and links of records held in memory: the reference answers."""

    def __init__(self) -> None:
        self._artifacts: dict[str, Artifact] = {}
        # run id -> (direction, key, artifact id)
        self._links: dict[str, list[tuple[str, str, str]]] = {}
        # artifact id -> runs that linked it at some time: candidates only (a run
        # re-recorded without the artifact stays listed; query_links checks the links),
        # so a lookup by artifact does not go through every run's links.
        self._runs_of: dict[str, set[str]] = {}

    def record(self, records: Iterable[ConsistRecord]) -> None:
        for record in records:
            links = []
            for direction, items in (("input", record.inputs), ("output", record.outputs)):
                for artifact in items:
                    # Re-inserted so the record stored last owns the fields, as in SQL.
                    self._artifacts.pop(artifact.id, None)
                    self._artifacts[artifact.id] = artifact
                    links.append((direction, artifact.key, artifact.id))
                    self._runs_of.setdefault(artifact.id, set()).add(record.run.id)
            self._links[record.run.id] = links

    def add_links(self, links: Iterable[ArtifactLink]) -> None:
        """Add links as a store returned them (artifacts with their stored fields)."""
        for link in links:
            self._artifacts[link.artifact.id] = link.artifact
            self._links.setdefault(link.run_id, []).append(
                (link.direction, link.key, link.artifact.id)
            )
            self._runs_of.setdefault(link.artifact.id, set()).add(link.run_id)

    def query_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        wanted = set(self._artifacts) if query.artifact_id is None else {query.artifact_id}
        for run_id, direction in (
            (query.creator, "output"),
            (query.consumer, "input"),
            (query.run_id, None),
        ):
            if run_id is not None:
                wanted &= {
                    aid for d, _, aid in self._links.get(run_id, ()) if direction in (None, d)
                }
        found = [
            self._artifacts[aid]
            for aid in wanted
            if aid in self._artifacts
            and (query.key is None or self._artifacts[aid].key == query.key)
        ]
        found.sort(key=artifact_order, reverse=True)
        return found if query.limit is None else found[: query.limit]

    def query_links(self, query: LinkQuery) -> list[ArtifactLink]:
        artifact_ids = None if query.artifact_ids is None else set(query.artifact_ids)
        run_ids: Iterable[str] = self._links
        if query.run_ids is not None:
            run_ids = query.run_ids
        elif artifact_ids is not None:
            run_ids = {r for aid in artifact_ids for r in self._runs_of.get(aid, ())}
        found = [
            ArtifactLink(run_id, direction, key, self._artifacts[aid])
            for run_id in dict.fromkeys(run_ids)
            for direction, key, aid in self._links.get(run_id, ())
            if (query.direction is None or direction == query.direction)
            and (artifact_ids is None or aid in artifact_ids)
        ]
        return sorted(found, key=link_order)


def walk_lineage(
    source: LinkSource,
    root: Artifact,
    direction: str,
    max_depth: int | None,
    resolve_runs: RunResolver | None = None,
) -> LineageGraph:
    """Lineage by a breadth-first walk: two batched link queries per level; the runs
    met are taken from ``resolve_runs`` where it answers, else from ``source``."""
    limit = UNBOUNDED_DEPTH if max_depth is None else max_depth
    graph = LineageGraph(root=root.id, direction=direction)
    graph.artifacts[root.id] = root
    graph.depths[root.id] = 0
    level = [root.id]
    depth = 0
    while level and depth < limit:
        near, far = ("output", "input") if direction == UPSTREAM else ("input", "output")
        links = source.query_links(LinkQuery(artifact_ids=tuple(level), direction=near))
        steps: dict[str, list[str]] = {}
        for link in links:
            if direction == UPSTREAM and link.run_id != graph.artifacts[link.artifact.id].run_id:
                continue  # linked as an output by a cache hit, not produced by it
            steps.setdefault(link.artifact.id, []).append(link.run_id)
        run_ids = sorted({run_id for ids in steps.values() for run_id in ids})
        graph.steps.update((aid, tuple(sorted(ids))) for aid, ids in steps.items())
        far_links = source.query_links(LinkQuery(run_ids=tuple(run_ids), direction=far))
        next_level: list[str] = []
        by_run: dict[str, list[tuple[str, str]]] = {run_id: [] for run_id in run_ids}
        for link in far_links:
            by_run[link.run_id].append((link.key, link.artifact.id))
            if link.artifact.id not in graph.depths:
                graph.depths[link.artifact.id] = depth + 1
                graph.artifacts[link.artifact.id] = link.artifact
                next_level.append(link.artifact.id)
        known = resolve_runs(run_ids) if resolve_runs is not None and run_ids else {}
        for run_id in run_ids:
            graph.far[run_id] = tuple(sorted(by_run[run_id]))
            run = known.get(run_id)
            if run is None:
                run = source.get_run(run_id)
            if run is not None:
                graph.runs[run_id] = run
        level = next_level
        depth += 1
    return graph
