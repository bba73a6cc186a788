"""The SELECTs behind artifact lookups and lineage (SQL twin of store/links.py's LinkIndex).

Every value is a bound parameter. Lineage costs a fixed number of statements whatever
the depth, never one per hop; each walk is one recursive query (``WITH RECURSIVE``):

* upstream: the recursive walk over the narrow ``producer_edges`` table (consumer
  run -> producer run, joined on their integer walk keys, store/edges.py) from the
  root's producer (read from the root's row in the
  same statement), joined in the same statement with the links of the runs met; then
  those runs and the artifacts the walk can reach (the root and the inputs), by id:
  three statements whatever the depth (two when the caller's ``resolve_runs`` holds
  every run met: the tracker reads them from their snapshots). DuckDB answers a
  recursive join by hashing the joined table once per query, so the walk joins the
  smallest table that can answer it. Edges are a superset (an input names the run
  that produced it), and the exact graph is cut from what was fetched by the same
  walk MemoryStore makes (store/links.walk_lineage), so both stores agree by
  construction.
* downstream: one recursive query over ``run_artifacts`` (artifact -> runs that read
  it -> their outputs), plus one for the runs met.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.run import Run
from consist.store import sql_reads
from consist.store.duckdb.read import ARTIFACT_SELECT, DIALECT, RUN_SELECT
from consist.store.edges import key_sql
from consist.store.links import (
    UNBOUNDED_DEPTH,
    UPSTREAM,
    ArtifactLink,
    ArtifactQuery,
    LineageGraph,
    LinkIndex,
    RunResolver,
    walk_lineage,
)
from consist.store.sql_rows import row_to_artifact, row_to_run

query_artifacts = partial(sql_reads.query_artifacts, DIALECT)
query_links = partial(sql_reads.query_links, DIALECT)


# Upstream, the run walked through from an artifact is its producer: the run that
# linked it as an output and whose id is the artifact's run_id (not a cache hit).
_STEP = {
    UPSTREAM: (
        "JOIN artifacts p ON p.id = {alias}.artifact_id AND p.run_id = near.run_id",
        "output",
        "input",
    ),
    "downstream": ("", "input", "output"),
}

_LINEAGE_SQL = """
WITH RECURSIVE walk(artifact_id, depth) AS (
    SELECT id, 0 FROM artifacts WHERE id = $root
    UNION
    SELECT far.artifact_id, w.depth + 1
    FROM walk w
    JOIN run_artifacts near ON near.artifact_id = w.artifact_id AND near.direction = $near
    {producer_w}
    JOIN run_artifacts far ON far.run_id = near.run_id AND far.direction = $far
    WHERE w.depth < $limit
),
met AS (SELECT artifact_id, min(depth) AS depth FROM walk GROUP BY artifact_id)
SELECT m.depth,
    CASE WHEN m.depth < $limit THEN (
        SELECT list(DISTINCT near.run_id ORDER BY near.run_id)
        FROM run_artifacts near {producer_m}
        WHERE near.artifact_id = m.artifact_id AND near.direction = $near
    ) END,
    {artifact_select}
FROM met m JOIN artifacts a ON a.id = m.artifact_id
"""

_RUNS_SQL = """
SELECT (
    SELECT list(struct_pack(k := far.key, i := far.artifact_id) ORDER BY far.key, far.artifact_id)
    FROM run_artifacts far WHERE far.run_id = r.id AND far.direction = ?
), {run_select}
FROM runs r WHERE r.id IN (SELECT unnest(?::VARCHAR[]))
"""


# The walk hashes integer keys (store/edges.py: ~2x faster than the run ids); the run
# ids met are read back from the edges whose producer key was met (a key two runs
# share only adds runs, cut by walk_lineage), plus the root's own producer.
_PRODUCERS_SQL = f"""
WITH RECURSIVE walk(run_key, level) AS (
    SELECT {key_sql("duckdb", "a.run_id")}, 1
    FROM artifacts a WHERE a.id = $root AND a.run_id IS NOT NULL
    UNION
    SELECT e.producer_key, w.level + 1
    FROM walk w JOIN producer_edges e ON e.run_key = w.run_key
    WHERE w.level < $limit
),
met AS (
    SELECT e.producer_run_id AS run_id FROM producer_edges e
    WHERE e.producer_key IN (SELECT run_key FROM walk)
    UNION SELECT a.run_id FROM artifacts a WHERE a.id = $root
)
SELECT l.run_id, l.direction, l.key, l.artifact_id
FROM run_artifacts l WHERE l.run_id IN (SELECT run_id FROM met)
"""


def get_lineage(
    conn: Any,
    artifact_id: str,
    direction: str,
    max_depth: int | None,
    layout: RunLayout | None,
    resolve_runs: RunResolver | None = None,
) -> LineageGraph | None:
    if direction == UPSTREAM:
        return _upstream(conn, artifact_id, max_depth, layout, resolve_runs)
    # Downstream fetches the runs with their output links in one statement, so runs
    # the caller holds would not save it: resolve_runs is not asked.
    return _walk_links(conn, artifact_id, direction, max_depth, layout)


def _upstream(
    conn: Any,
    artifact_id: str,
    max_depth: int | None,
    layout: RunLayout | None,
    resolve_runs: RunResolver | None,
) -> LineageGraph | None:
    fetched = _FetchedLinks()
    if max_depth == 0:
        found = query_artifacts(conn, ArtifactQuery(artifact_id=artifact_id, limit=1), layout)
        return walk_lineage(fetched, found[0], UPSTREAM, 0) if found else None
    limit = UNBOUNDED_DEPTH if max_depth is None else max_depth
    # One statement starts at the root's producer (read from the root's row), walks the
    # runs and fetches their links (a hash join against the few runs met: ~4 ms less
    # than a second statement with an IN list).
    links = conn.execute(_PRODUCERS_SQL, {"root": artifact_id, "limit": limit}).fetchall()
    run_ids = sorted({row[0] for row in links})
    if run_ids and resolve_runs is not None:
        # Runs the caller holds (their snapshots: ~0.03 ms each against ~0.1 ms a run
        # for 28 columns by id) are not fetched. A run has links here only if its row
        # is here too (one record, one transaction), so the cut below is unchanged.
        known = resolve_runs(run_ids)
        fetched.runs.update((run_id, known[run_id]) for run_id in run_ids if run_id in known)
        run_ids = [run_id for run_id in run_ids if run_id not in fetched.runs]
    if run_ids:
        # The runs met, by id; the exact walk then runs on what was fetched, in memory.
        # Literal IN lists: DuckDB filters the scan with them, where a subquery
        # (IN (SELECT unnest(?))) measured ~5x slower as a hash join.
        rows = conn.execute(
            f"SELECT {RUN_SELECT} FROM runs r WHERE r.id IN ({_marks(run_ids)})", run_ids
        ).fetchall()
        fetched.runs.update((row[0], row_to_run(row)) for row in rows)
    links = [row for row in links if row[0] in fetched.runs]
    # The walk asks for the inputs of the runs met, and for the output links of the
    # artifacts it reaches (the root and those inputs) to find their producers; other
    # outputs of the runs met are never reached, so their rows are not fetched. The
    # root's own row comes with the others (no statement of its own).
    reached = {row[3] for row in links if row[1] == "input"} | {artifact_id}
    links = [row for row in links if row[1] == "input" or row[3] in reached]
    ids = sorted(reached)
    artifacts = {
        artifact.id: artifact
        for artifact in (
            row_to_artifact(row, layout)
            for row in conn.execute(
                f"SELECT {ARTIFACT_SELECT} FROM artifacts a WHERE a.id IN ({_marks(ids)})", ids
            ).fetchall()
        )
    }
    root = artifacts.get(artifact_id)
    if root is None:
        return None
    fetched.add_links(
        ArtifactLink(run_id, direction, key, artifacts[aid])
        for run_id, direction, key, aid in sorted(links)
        if aid in artifacts
    )
    return walk_lineage(fetched, root, UPSTREAM, max_depth)


def _marks(values: list[str]) -> str:
    return ", ".join("?" * len(values)) if values else "NULL"


class _FetchedLinks(LinkIndex):
    """Links and runs fetched from the store, as a LinkSource for walk_lineage."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, Run] = {}

    def get_run(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)


def _walk_links(
    conn: Any, artifact_id: str, direction: str, max_depth: int | None, layout: RunLayout | None
) -> LineageGraph | None:
    join, near, far = _STEP[direction]
    sql = _LINEAGE_SQL.format(
        producer_w=join.format(alias="w"),
        producer_m=join.format(alias="near"),
        artifact_select=ARTIFACT_SELECT,
    )
    limit = UNBOUNDED_DEPTH if max_depth is None else max_depth
    rows = conn.execute(
        sql, {"root": artifact_id, "near": near, "far": far, "limit": limit}
    ).fetchall()
    if not rows:
        return None
    graph = LineageGraph(root=artifact_id, direction=direction)
    run_ids: set[str] = set()
    for row in rows:
        artifact = row_to_artifact(row[2:], layout)
        graph.artifacts[artifact.id] = artifact
        graph.depths[artifact.id] = int(row[0])
        if row[1]:
            graph.steps[artifact.id] = tuple(row[1])
            run_ids.update(row[1])
    if run_ids:
        found = conn.execute(
            _RUNS_SQL.format(run_select=RUN_SELECT), [far, sorted(run_ids)]
        ).fetchall()
        for row in found:
            run = row_to_run(row[1:])
            graph.runs[run.id] = run
            graph.far[run.id] = tuple((item["k"], item["i"]) for item in row[0] or ())
    return graph
