"""Config facets in the DuckDB store: tables, writes and the SQL twins of store/facets.py.

Tables (schema version 5):

* ``config_facets``: one row per distinct facet (content-addressed id), payload as JSON;
* ``global_tables.run_config_kv``: one row per flattened leaf of a run's indexed facet,
  keyed by (run_id, namespace, key), with typed value columns (model/facet.py). Users
  query it directly (``tracker.run_query``), so its name and columns are a contract;
* ``global_tables.artifact_kv``: the same for facets of artifacts logged with
  ``facet=..., facet_index=True``, keyed by (artifact_id, namespace, key), plus run_id.

Facet rows are written in the transaction that writes their run, from the run's record,
so a rebuild from the snapshots restores them. A run's facet never changes, so a
replayed record rewrites the same rows (INSERT OR REPLACE), and facet rows of other
namespaces (written for the same run by other features) are left alone.
Every filter value is a bound parameter; prefixes use ``starts_with`` (no LIKE), so
``%`` and ``_`` are literal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import ConsistRecord, Run
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery

FACET_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "namespace": "VARCHAR",
    "schema_name": "VARCHAR",
    "schema_version": "JSON",
    "facet_index": "BOOLEAN",
    "payload": "JSON",
}

KV_TABLE = "global_tables.run_config_kv"

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


def _create(name: str, columns: dict[str, str], primary_key: str) -> str:
    body = ", ".join(f'"{column}" {kind}' for column, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} ({body}, PRIMARY KEY ({primary_key}))"


ARTIFACT_KV_TABLE = "global_tables.artifact_kv"

ARTIFACT_KV_COLUMNS: dict[str, str] = {"artifact_id": "VARCHAR", **KV_COLUMNS}

FACET_DDL = (
    "CREATE SCHEMA IF NOT EXISTS global_tables",
    _create("config_facets", FACET_COLUMNS, "id"),
    _create(KV_TABLE, KV_COLUMNS, "run_id, namespace, key"),
    _create(ARTIFACT_KV_TABLE, ARTIFACT_KV_COLUMNS, "artifact_id, namespace, key"),
)

#: (table, columns, rows) -> None: write.py's bulk upsert, passed in to avoid a cycle.
BulkUpsert = Callable[[str, dict[str, str], Iterable[dict[str, Any]]], None]


def upsert_facets(records: Sequence[ConsistRecord], bulk_upsert: BulkUpsert) -> None:
    """Write the facets of ``records`` and their flattened rows (inside the caller's
    transaction). Records without a facet cost nothing."""
    facets: dict[str, dict[str, Any]] = {}
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    artifact_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in records:
        run_id = record.run.id
        if record.facet is not None:
            facets[record.facet.id] = _facet_row(record.facet)
            for kv in record.facet.rows(run_id):
                rows[(kv.run_id, kv.namespace, kv.key)] = _kv_row(kv)
        for artifact_id, facet in record.artifact_facets.items():
            facets[facet.id] = _facet_row(facet)
            for kv in facet.rows(run_id):
                row = {"artifact_id": artifact_id, **_kv_row(kv)}
                artifact_rows[(artifact_id, kv.namespace, kv.key)] = row
    if facets:
        bulk_upsert("config_facets", FACET_COLUMNS, facets.values())
    if rows:
        bulk_upsert(KV_TABLE, KV_COLUMNS, rows.values())
    if artifact_rows:
        bulk_upsert(ARTIFACT_KV_TABLE, ARTIFACT_KV_COLUMNS, artifact_rows.values())


def _facet_row(facet: ConfigFacet) -> dict[str, Any]:
    return {
        "id": facet.id,
        "namespace": facet.namespace,
        "schema_name": facet.schema_name,
        "schema_version": facet.schema_version,
        "facet_index": facet.index,
        "payload": facet.payload,
    }


def _kv_row(kv: ConfigKV) -> dict[str, Any]:
    row = kv.to_dict()
    # The JSON column takes the value itself (read_json stores its JSON text).
    row["value_json"] = json.loads(kv.value_json) if kv.value_json else None
    return row


_KV_SELECT = (
    "run_id, facet_id, namespace, key, value_type, value_str, value_num, value_bool, "
    "CAST(value_json AS VARCHAR)"
)


def _kv_where(query: ConfigKVQuery, alias: str = "") -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if query.run_ids is not None:
        where.append(f"list_contains(?, {alias}run_id)")
        params.append(list(query.run_ids))
    if query.namespace is not None:
        where.append(f"{alias}namespace = ?")
        params.append(query.namespace)
    if query.prefix is not None:
        where.append(f"starts_with({alias}key, ?)")
        params.append(query.prefix)
    if query.keys is not None:
        where.append(f"list_contains(?, {alias}key)")
        params.append(list(query.keys))
    return where, params


def query_config_kv(conn: Any, query: ConfigKVQuery) -> list[ConfigKV]:
    where, params = _kv_where(query)
    sql = f"SELECT {_KV_SELECT} FROM {KV_TABLE}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY run_id, key"
    if query.limit is not None:
        sql += f" LIMIT {int(query.limit)}"
    return [ConfigKV(*row) for row in conn.execute(sql, params).fetchall()]


def find_runs_by_facet_kv(
    conn: Any, match: FacetMatch, run_select: str, to_run: Callable[[Any], Run]
) -> list[Run]:
    where = ["kv.namespace = ?", "kv.key = ?"]
    params: list[Any] = [match.namespace, match.key]
    for column in ("value_type", "value_str", "value_num", "value_bool"):
        value = getattr(match, column)
        if value is not None:
            where.append(f"kv.{column} = ?")
            params.append(float(value) if column == "value_num" else value)
    sql = (
        f"SELECT {run_select} FROM runs r WHERE r.id IN "
        f"(SELECT kv.run_id FROM {KV_TABLE} kv WHERE {' AND '.join(where)}) "
        "ORDER BY r.created_at DESC, r.id DESC"
    )
    if match.limit is not None:
        sql += f" LIMIT {int(match.limit)}"
    return [to_run(row) for row in conn.execute(sql, params).fetchall()]


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


_RECORD_FACETS = record_facets_sql(
    "CAST(f.schema_version AS VARCHAR)", "CAST(f.payload AS VARCHAR)", "$1"
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


def record_facets(conn: Any, run_id: str) -> RecordFacets:
    """The indexed facets of a run and of the artifacts it logged (``get_record``).
    An unindexed facet has no value rows, so nothing links it to its run: the run's
    snapshot alone holds it."""
    return facets_of_rows(conn.execute(_RECORD_FACETS, [run_id]).fetchall(), json.loads)


def query_facets(conn: Any, query: FacetQuery) -> list[ConfigFacet]:
    where: list[str] = []
    params: list[Any] = []
    for field, column in (("facet_id", "id"), ("namespace", "namespace")):
        value = getattr(query, field)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.schema_name is not None:
        where.append("schema_name = ?")
        params.append(query.schema_name)
    sql = (
        "SELECT id, namespace, schema_name, CAST(schema_version AS VARCHAR), facet_index, "
        "CAST(payload AS VARCHAR) FROM config_facets"
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
            payload=json.loads(row[5]),
        )
        for row in conn.execute(sql, params).fetchall()
    ]
