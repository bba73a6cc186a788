"""Artifact lookups of the PostgreSQL store (SQL twin of store/links.py's LinkIndex).

Every value is a bound parameter (``%s``; lists as arrays with ``= ANY``). Lineage is
walked level by level with store/links.walk_lineage (two batched link queries per
level, never one per artifact); a recursive query, as in the DuckDB store, is not
written for PostgreSQL yet.
"""

from __future__ import annotations

from typing import Any

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.store.links import ArtifactLink, ArtifactQuery, LinkQuery
from consist.store.postgres.read import ARTIFACT_SELECT, row_to_artifact

_LINKED = "a.id IN (SELECT artifact_id FROM run_artifacts WHERE run_id = %s{direction})"


def query_artifacts(conn: Any, query: ArtifactQuery, layout: RunLayout | None) -> list[Artifact]:
    where: list[str] = []
    params: list[Any] = []
    if query.artifact_id is not None:
        where.append("a.id = %s")
        params.append(query.artifact_id)
    if query.key is not None:
        where.append("a.key = %s")
        params.append(query.key)
    for run_id, direction in (
        (query.creator, " AND direction = 'output'"),
        (query.consumer, " AND direction = 'input'"),
        (query.run_id, ""),
    ):
        if run_id is not None:
            where.append(_LINKED.format(direction=direction))
            params.append(run_id)
    sql = f"SELECT {ARTIFACT_SELECT} FROM artifacts a"
    if where:
        sql += " WHERE " + " AND ".join(where)
    # NULL created_at sorts last, as the empty string does in MemoryStore.
    sql += " ORDER BY a.created_at DESC NULLS LAST, a.id DESC"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return [row_to_artifact(row, layout) for row in conn.execute(sql, params).fetchall()]


def query_links(conn: Any, query: LinkQuery, layout: RunLayout | None) -> list[ArtifactLink]:
    where: list[str] = []
    params: list[Any] = []
    if query.run_ids is not None:
        where.append("l.run_id = ANY(%s)")
        params.append(list(query.run_ids))
    if query.artifact_ids is not None:
        where.append("l.artifact_id = ANY(%s)")
        params.append(list(query.artifact_ids))
    if query.direction is not None:
        where.append("l.direction = %s")
        params.append(query.direction)
    sql = (
        f"SELECT l.run_id, l.direction, l.key, {ARTIFACT_SELECT} FROM run_artifacts l "
        "JOIN artifacts a ON a.id = l.artifact_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += ' ORDER BY l.run_id COLLATE "C", l.direction, l.key COLLATE "C", a.id COLLATE "C"'
    return [
        ArtifactLink(row[0], row[1], row[2], row_to_artifact(row[3:], layout))
        for row in conn.execute(sql, params).fetchall()
    ]
