"""The facet tables and SELECTs both SQL stores share (store/facets.py's SQL twins),
written once for a ``SqlDialect`` (store/sql_reads.py says what a dialect spells).

The tables' names and columns are a contract (users query them by name): the column
lists are spelled in DuckDB's type names, which store/postgres/schema.py maps one to
one, so each store's DDL (store/duckdb/facets.py, store/postgres/facets.py) is built
from the same lists and the two cannot drift.

Every filter value is a bound parameter; prefixes use ``starts_with`` (no LIKE), so
``%`` and ``_`` are literal. JSON columns come back as text (``::text``, which both
DuckDB and PostgreSQL read) and are decoded here; a payload goes through the dialect's
``decode_payload`` (PostgreSQL keeps a payload holding NaN/inf as JSON text).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import Run
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery
from consist.store.sql_reads import SqlDialect
from consist.store.sql_rows import row_to_run

# The tables users query by name (tracker.run_query): a contract.
KV_TABLE = "global_tables.run_config_kv"
ARTIFACT_KV_TABLE = "global_tables.artifact_kv"

FACET_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "namespace": "VARCHAR",
    "schema_name": "VARCHAR",
    "schema_version": "JSON",
    "facet_index": "BOOLEAN",
    "payload": "JSON",
}


KV_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "facet_id": "VARCHAR",
    "namespace": "VARCHAR",
    "key": "VARCHAR",
    "value_type": "VARCHAR",
    "value_str": "VARCHAR",
    "value_num": "DOUBLE",
    "value_bool": "BOOLEAN",
    "value_json": "JSON",
}


ARTIFACT_KV_COLUMNS: dict[str, str] = {"artifact_id": "VARCHAR", **KV_COLUMNS}

_KV_SELECT = (
    "run_id, facet_id, namespace, key, value_type, value_str, value_num, value_bool, "
    "value_json::text"
)


def query_config_kv(d: SqlDialect, conn: Any, query: ConfigKVQuery) -> list[ConfigKV]:
    where: list[str] = []
    params: list[Any] = []
    if query.run_ids is not None:
        where.append(d.in_list.format(column="run_id"))
        params.append(list(query.run_ids))
    if query.namespace is not None:
        where.append(f"namespace = {d.mark}")
        params.append(query.namespace)
    if query.prefix is not None:
        where.append(f"starts_with(key, {d.mark})")  # literal: % and _ are data
        params.append(query.prefix)
    if query.keys is not None:
        where.append(d.in_list.format(column="key"))
        params.append(list(query.keys))
    sql = f"SELECT {_KV_SELECT} FROM {KV_TABLE}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY run_id, key"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return [ConfigKV(*row) for row in conn.execute(sql, params).fetchall()]


def find_runs_by_facet_kv(d: SqlDialect, conn: Any, match: FacetMatch) -> list[Run]:
    where = [f"kv.namespace = {d.mark}", f"kv.key = {d.mark}"]
    params: list[Any] = [match.namespace, match.key]
    for column in ("value_type", "value_str", "value_num", "value_bool"):
        value = getattr(match, column)
        if value is not None:
            where.append(f"kv.{column} = {d.mark}")
            params.append(float(value) if column == "value_num" else value)
    sql = (
        f"SELECT {d.run_select} FROM runs r WHERE r.id IN "
        f"(SELECT kv.run_id FROM {KV_TABLE} kv WHERE {' AND '.join(where)}) "
        "ORDER BY r.created_at DESC NULLS LAST, r.id DESC"
    )
    if match.limit is not None:
        sql += f" LIMIT {int(match.limit)}"
    return [row_to_run(row) for row in conn.execute(sql, params).fetchall()]


def query_facets(d: SqlDialect, conn: Any, query: FacetQuery) -> list[ConfigFacet]:
    where: list[str] = []
    params: list[Any] = []
    for value, column in (
        (query.facet_id, "id"),
        (query.namespace, "namespace"),
        (query.schema_name, "schema_name"),
    ):
        if value is not None:
            where.append(f"{column} = {d.mark}")
            params.append(value)
    sql = (
        "SELECT id, namespace, schema_name, schema_version::text, facet_index, payload::text "
        "FROM config_facets"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY namespace, id"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return [
        ConfigFacet(
            id=row[0],
            namespace=row[1],
            schema_name=row[2],
            schema_version=json.loads(row[3]) if row[3] is not None else None,
            index=bool(row[4]),
            payload=d.decode_payload(row[5]),
        )
        for row in conn.execute(sql, params).fetchall()
    ]


def record_facets_sql(version: str, payload: str, param: str) -> str:
    # One statement: the run's indexed facet (linked by its value rows), then its artifacts'.
    columns = f"f.id, f.namespace, f.schema_name, {version}, f.facet_index, {payload}"
    return (
        f"SELECT NULL, {columns} FROM config_facets f WHERE f.id IN "
        f"(SELECT facet_id FROM {KV_TABLE} WHERE run_id = {param}) "
        f"UNION ALL SELECT a.artifact_id, {columns} FROM (SELECT DISTINCT artifact_id, "
        f"facet_id FROM {ARTIFACT_KV_TABLE} WHERE run_id = {param}) a "
        "JOIN config_facets f ON f.id = a.facet_id ORDER BY 1 NULLS FIRST, 2"
    )


RecordFacets = tuple[ConfigFacet | None, dict[str, ConfigFacet]]


def facets_of_rows(rows: Iterable[tuple[Any, ...]], decode: Callable[[str], Any]) -> RecordFacets:
    """(run facet, artifact facets by id) from ``record_facets_sql`` rows. A run has
    one config facet; should rows of several link to it, the first by id is kept."""
    run_facet: ConfigFacet | None = None
    by_artifact: dict[str, ConfigFacet] = {}
    for row in rows:
        facet = ConfigFacet(
            id=row[1],
            namespace=row[2],
            schema_name=row[3],
            schema_version=json.loads(row[4]) if row[4] is not None else None,
            index=bool(row[5]),
            payload=decode(row[6]),
        )
        if row[0] is None:
            run_facet = run_facet or facet
        else:
            by_artifact.setdefault(row[0], facet)
    return run_facet, by_artifact
