"""The run and artifact SELECTs both SQL stores share, written once for a ``SqlDialect``.

The DuckDB and PostgreSQL stores ask the same questions with the same filters and the
same order (the SQL twin of MemoryStore; the contract suite runs all three). What
differs is spelled by the dialect: the parameter mark (``?`` / ``%s``), how a list
parameter is matched, how tags and ``metadata=`` are compared, the column lists, and
the collation that makes text sort by code point as Python does. Rows are decoded the
same way for both (store/sql_rows.py).

Order rules: NULL timestamps sort last (as the empty string does in MemoryStore); a
lookup by artifact id has no ORDER BY (at most one row, and DuckDB would scan instead of
using its primary-key index: 0.5 ms -> 1.7 ms at 400,000 artifacts).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import Run
from consist.store.base import EQUALITY_FILTERS, RunQuery, metadata_kind, metadata_matches
from consist.store.links import ArtifactLink, ArtifactQuery, LinkQuery
from consist.store.sql_rows import row_to_artifact, row_to_run


@dataclass(frozen=True)
class SqlDialect:
    mark: str  # the parameter placeholder
    run_select: str  # the runs columns (alias r), in RUN_FIELDS order
    artifact_select: str  # the artifacts columns (alias a), in ARTIFACT_FIELDS order
    has_all_tags: str  # r.tags holds every tag of the list parameter
    has_any_tag: str  # r.tags holds one of them
    # (key, wanted value) -> (clause, parameters): store.base.metadata_matches in SQL
    metadata_clause: Callable[[str, Any], tuple[str, list[Any]]]
    in_list: str  # "{column} ..." matching a list parameter
    collate: str = ""  # after a text column in ORDER BY: sort by code point
    decode_payload: Callable[[str], Any] = json.loads  # a facet payload's JSON text


def build_run_query(d: SqlDialect, query: RunQuery) -> tuple[str, list[Any]]:
    """SQL and parameters for a RunQuery (the SQL twin of MemoryStore._matches)."""
    where: list[str] = []
    params: list[Any] = []
    for query_field, column in EQUALITY_FILTERS:
        value = getattr(query, query_field)
        if value is not None:
            where.append(f'r."{column}" = {d.mark}')
            params.append(value)
    if query.tags:
        where.append(d.has_all_tags)
        params.append(list(query.tags))
    if query.any_tags:
        where.append(d.has_any_tag)
        params.append(list(query.any_tags))
    for key, value in (query.metadata or {}).items():
        clause, values = d.metadata_clause(key, value)
        where.append(clause)
        params.extend(values)
    sql = f"SELECT {d.run_select} FROM runs r"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if query.order == "latest":
        sql += (
            " ORDER BY r.iteration IS NOT NULL DESC, r.iteration DESC NULLS LAST, "
            "r.created_at DESC NULLS LAST, r.id DESC"
        )
    else:
        sql += " ORDER BY r.created_at DESC NULLS LAST, r.id DESC"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    if query.offset:
        sql += f" OFFSET {int(query.offset)}"
    return sql, params


def query_runs(d: SqlDialect, conn: Any, query: RunQuery) -> list[Run]:
    nested = {k: v for k, v in (query.metadata or {}).items() if metadata_kind(v) == "json"}
    if not nested:
        sql, params = build_run_query(d, query)
        return [row_to_run(row) for row in conn.execute(sql, params).fetchall()]
    # Nested metadata filters: SQL narrows by type, Python compares the values, and the
    # limit applies after that (rare filters, so the extra rows are cheap).
    sql, params = build_run_query(d, replace(query, limit=None, offset=0))
    runs = [row_to_run(row) for row in conn.execute(sql, params).fetchall()]
    runs = [r for r in runs if all(metadata_matches(r.meta.get(k), v) for k, v in nested.items())]
    return query.window(runs)


def get_run(d: SqlDialect, conn: Any, run_id: str) -> Run | None:
    sql = f"SELECT {d.run_select} FROM runs r WHERE r.id = {d.mark}"
    row = conn.execute(sql, [run_id]).fetchone()
    return row_to_run(row) if row else None


def get_run_artifacts(
    d: SqlDialect, conn: Any, run_id: str, layout: RunLayout | None
) -> tuple[list[Artifact], list[Artifact]]:
    rows = conn.execute(
        f"SELECT l.direction, {d.artifact_select} FROM run_artifacts l "
        f"JOIN artifacts a ON a.id = l.artifact_id WHERE l.run_id = {d.mark} ORDER BY l.key",
        [run_id],
    ).fetchall()
    inputs = [row_to_artifact(row[1:], layout) for row in rows if row[0] == "input"]
    outputs = [row_to_artifact(row[1:], layout) for row in rows if row[0] == "output"]
    return inputs, outputs


def find_artifacts_by_uri(
    d: SqlDialect, conn: Any, uri: str, layout: RunLayout | None
) -> list[Artifact]:
    rows = conn.execute(
        f"SELECT {d.artifact_select} FROM artifacts a WHERE a.uri = {d.mark} "
        "ORDER BY a.created_at DESC NULLS LAST, a.id ASC",
        [uri],
    ).fetchall()
    return [row_to_artifact(row, layout) for row in rows]


def count_runs(conn: Any) -> int:
    row = conn.execute("SELECT count(*) FROM runs").fetchone()
    return int(row[0]) if row else 0


def query_artifacts(
    d: SqlDialect, conn: Any, query: ArtifactQuery, layout: RunLayout | None
) -> list[Artifact]:
    where: list[str] = []
    params: list[Any] = []
    if query.artifact_id is not None:
        where.append(f"a.id = {d.mark}")
        params.append(query.artifact_id)
    if query.key is not None:
        where.append(f"a.key = {d.mark}")
        params.append(query.key)
    for run_id, direction in (
        (query.creator, " AND direction = 'output'"),
        (query.consumer, " AND direction = 'input'"),
        (query.run_id, ""),
    ):
        if run_id is not None:
            where.append(
                "a.id IN (SELECT artifact_id FROM run_artifacts "
                f"WHERE run_id = {d.mark}{direction})"
            )
            params.append(run_id)
    sql = f"SELECT {d.artifact_select} FROM artifacts a"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if query.artifact_id is None:  # by id: one row at most, and the index is used
        sql += " ORDER BY a.created_at DESC NULLS LAST, a.id DESC"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return [row_to_artifact(row, layout) for row in conn.execute(sql, params).fetchall()]


def query_links(
    d: SqlDialect, conn: Any, query: LinkQuery, layout: RunLayout | None
) -> list[ArtifactLink]:
    where: list[str] = []
    params: list[Any] = []
    if query.run_ids is not None:
        where.append(d.in_list.format(column="l.run_id"))
        params.append(list(query.run_ids))
    if query.artifact_ids is not None:
        where.append(d.in_list.format(column="l.artifact_id"))
        params.append(list(query.artifact_ids))
    if query.direction is not None:
        where.append(f"l.direction = {d.mark}")
        params.append(query.direction)
    sql = (
        f"SELECT l.run_id, l.direction, l.key, {d.artifact_select} FROM run_artifacts l "
        "JOIN artifacts a ON a.id = l.artifact_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    c = d.collate
    sql += f" ORDER BY l.run_id{c}, l.direction, l.key{c}, a.id{c}"
    return [
        ArtifactLink(row[0], row[1], row[2], row_to_artifact(row[3:], layout))
        for row in conn.execute(sql, params).fetchall()
    ]
