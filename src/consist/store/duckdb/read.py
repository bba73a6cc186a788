"""The SELECTs behind run and artifact lookups."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.artifact import ARTIFACT_FIELDS, Artifact
from consist.model.run import RUN_FIELDS, Run
from consist.store.base import EQUALITY_FILTERS, RunQuery, metadata_kind, metadata_matches

_JSON_FIELDS = frozenset({"meta", "cache_decision", "owner"})


def _select_list(fields: tuple[str, ...], alias: str) -> str:
    # Timestamps come back as naive UTC datetimes, turned into the snapshots' ISO text in
    # Python (_iso): ~1 ms less per 100 runs than strftime in SQL.
    return ", ".join(
        f'CAST({alias}."{name}" AS VARCHAR)' if name in _JSON_FIELDS else f'{alias}."{name}"'
        for name in fields
    )


def _iso(value: Any) -> Any:
    """ISO-8601 UTC text like the snapshots': datetime.isoformat() (no fraction when the
    microseconds are zero) plus the UTC offset."""
    return value.isoformat() + "+00:00" if isinstance(value, datetime) else value


RUN_SELECT = _select_list(RUN_FIELDS, "r")
ARTIFACT_SELECT = _select_list(ARTIFACT_FIELDS, "a")


def row_to_run(row: tuple[Any, ...]) -> Run:
    data = dict(zip(RUN_FIELDS, row, strict=True))
    for name in ("created_at", "started_at", "ended_at"):
        data[name] = _iso(data[name])
    data["meta"] = json.loads(data["meta"]) if data["meta"] else {}
    for name in ("cache_decision", "owner"):
        data[name] = json.loads(data[name]) if data[name] else None
    return Run.from_dict(data)


def _row_to_artifact(row: tuple[Any, ...], layout: RunLayout | None) -> Artifact:
    data = dict(zip(ARTIFACT_FIELDS, row, strict=True))
    data["created_at"] = _iso(data["created_at"])
    data["meta"] = json.loads(data["meta"]) if data["meta"] else {}
    abs_path = layout.from_uri_or_none(data["uri"]) if layout else None
    return Artifact.from_dict(data, abs_path=abs_path)


_JSON_TYPE_OF_KIND = {
    "str": "('VARCHAR')",
    "bool": "('BOOLEAN')",
    "number": "('BIGINT', 'UBIGINT', 'DOUBLE')",
    "null": "('NULL')",
    "json": "('OBJECT', 'ARRAY')",
}


def _is_integral(value: Any) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())


def _metadata_clause(path: str, value: Any) -> tuple[str, list[Any]]:
    """SQL twin of store.base.metadata_matches for one ``metadata=`` entry."""
    kind = metadata_kind(value)
    clause = f"json_type(r.meta, ?) IN {_JSON_TYPE_OF_KIND[kind]}"
    params: list[Any] = [path]
    if kind == "str":
        clause += " AND json_extract_string(r.meta, ?) = ?"
        params += [path, value]
    elif kind == "bool":
        clause += " AND CAST(json_extract(r.meta, ?) AS VARCHAR) = ?"
        params += [path, "true" if value else "false"]
    elif kind == "number" and _is_integral(value) and abs(value) < 2**127:
        # Exact, like Python's int/float comparison: stored integers compare as HUGEINT
        # (64-bit seeds must not match their neighbours); stored doubles only when the
        # wanted integer is exactly representable as a double (so 1 matches 1.0).
        exact = int(value)
        clause = (
            "(json_type(r.meta, ?) IN ('BIGINT', 'UBIGINT') AND "
            "CAST(json_extract(r.meta, ?) AS HUGEINT) = CAST(? AS HUGEINT))"
        )
        params = [path, path, str(exact)]
        if float(exact) == exact:
            clause += (
                " OR (json_type(r.meta, ?) = 'DOUBLE' AND "
                "CAST(json_extract(r.meta, ?) AS DOUBLE) = ?)"
            )
            params += [path, path, float(exact)]
    elif kind == "number":
        clause += " AND CAST(json_extract(r.meta, ?) AS DOUBLE) = ?"
        params += [path, float(value)]
    # kind "json" (lists, dicts): only the type is checked in SQL; the value is compared
    # in Python (see query_runs), because DuckDB and Python print floats differently.
    return f"({clause})", params


def build_run_query(query: RunQuery) -> tuple[str, list[Any]]:
    """SQL and parameters for a RunQuery (the SQL twin of MemoryStore._matches)."""
    where: list[str] = []
    params: list[Any] = []
    for query_field, column in EQUALITY_FILTERS:
        value = getattr(query, query_field)
        if value is not None:
            where.append(f'r."{column}" = ?')
            params.append(value)
    if query.tags:
        where.append("list_has_all(r.tags, ?)")
        params.append(list(query.tags))
    if query.any_tags:
        where.append("list_has_any(r.tags, ?)")
        params.append(list(query.any_tags))
    for key, value in (query.metadata or {}).items():
        clause, values = _metadata_clause("$." + json.dumps(key), value)
        where.append(clause)
        params.extend(values)
    sql = f"SELECT {RUN_SELECT} FROM runs r"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if query.order == "latest":
        sql += (
            " ORDER BY r.iteration IS NOT NULL DESC, r.iteration DESC, r.created_at DESC, r.id DESC"
        )
    else:
        sql += " ORDER BY r.created_at DESC, r.id DESC"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    if query.offset:
        sql += f" OFFSET {int(query.offset)}"
    return sql, params


def query_runs(conn: Any, query: RunQuery) -> list[Run]:
    nested = {k: v for k, v in (query.metadata or {}).items() if metadata_kind(v) == "json"}
    if not nested:
        sql, params = build_run_query(query)
        return [row_to_run(row) for row in conn.execute(sql, params).fetchall()]
    # Nested metadata filters: SQL narrows by type, Python compares the values, and the
    # limit applies after that (rare filters, so the extra rows are cheap).
    sql, params = build_run_query(replace(query, limit=None, offset=0))
    runs = [row_to_run(row) for row in conn.execute(sql, params).fetchall()]
    runs = [r for r in runs if all(metadata_matches(r.meta.get(k), v) for k, v in nested.items())]
    return query.window(runs)


def get_run(conn: Any, run_id: str) -> Run | None:
    row = conn.execute(f"SELECT {RUN_SELECT} FROM runs r WHERE r.id = ?", [run_id]).fetchone()
    return row_to_run(row) if row else None


def get_run_artifacts(
    conn: Any, run_id: str, layout: RunLayout | None
) -> tuple[list[Artifact], list[Artifact]]:
    rows = conn.execute(
        f"SELECT l.direction, {ARTIFACT_SELECT} FROM run_artifacts l "
        "JOIN artifacts a ON a.id = l.artifact_id WHERE l.run_id = ? ORDER BY l.key",
        [run_id],
    ).fetchall()
    inputs = [_row_to_artifact(row[1:], layout) for row in rows if row[0] == "input"]
    outputs = [_row_to_artifact(row[1:], layout) for row in rows if row[0] == "output"]
    return inputs, outputs


def find_artifacts_by_uri(conn: Any, uri: str, layout: RunLayout | None) -> list[Artifact]:
    rows = conn.execute(
        f"SELECT {ARTIFACT_SELECT} FROM artifacts a WHERE a.uri = ? "
        "ORDER BY a.created_at DESC NULLS LAST, a.id ASC",
        [uri],
    ).fetchall()
    return [_row_to_artifact(row, layout) for row in rows]


def get_config(conn: Any, run_id: str) -> Any:
    """The run's canonical config (None when absent)."""
    row = conn.execute("SELECT CAST(config AS VARCHAR) FROM runs WHERE id = ?", [run_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def count_runs(conn: Any) -> int:
    row = conn.execute("SELECT count(*) FROM runs").fetchone()
    return int(row[0]) if row else 0
