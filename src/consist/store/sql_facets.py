"""The facet SELECTs both SQL stores share (store/facets.py's SQL twins), written once
for a ``SqlDialect`` (store/sql_reads.py says what a dialect spells).

Every filter value is a bound parameter; prefixes use ``starts_with`` (no LIKE), so
``%`` and ``_`` are literal. JSON columns come back as text (``::text``, which both
DuckDB and PostgreSQL read) and are decoded here; a payload goes through the dialect's
``decode_payload`` (PostgreSQL keeps a payload holding NaN/inf as JSON text).
"""

from __future__ import annotations

import json
from typing import Any

from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import Run
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery
from consist.store.sql_reads import SqlDialect
from consist.store.sql_rows import row_to_run

# The tables users query by name (tracker.run_query): a contract.
KV_TABLE = "global_tables.run_config_kv"
ARTIFACT_KV_TABLE = "global_tables.artifact_kv"

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
