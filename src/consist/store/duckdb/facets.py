"""Config facets in the DuckDB store: DDL and writes (the column lists and the reads,
shared with the PostgreSQL store, are store/sql_facets.py).

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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import ConsistRecord
from consist.store.facets import facet_rows
from consist.store.sql_facets import (
    ARTIFACT_KV_COLUMNS,
    ARTIFACT_KV_TABLE,
    FACET_COLUMNS,
    KV_COLUMNS,
    KV_TABLE,
    RecordFacets,
    facets_of_rows,
    record_facets_sql,
)


def _create(name: str, columns: dict[str, str], primary_key: str) -> str:
    body = ", ".join(f'"{column}" {kind}' for column, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} ({body}, PRIMARY KEY ({primary_key}))"


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
    found = facet_rows(records)
    facets = [_facet_row(facet) for facet in found.facets.values()]
    rows = [_kv_row(kv) for kv in found.rows.values()]
    artifact_rows = [
        {"artifact_id": artifact_id, **_kv_row(kv)}
        for artifact_id, kv in found.artifact_rows.values()
    ]
    if facets:
        bulk_upsert("config_facets", FACET_COLUMNS, facets)
    if rows:
        bulk_upsert(KV_TABLE, KV_COLUMNS, rows)
    if artifact_rows:
        bulk_upsert(ARTIFACT_KV_TABLE, ARTIFACT_KV_COLUMNS, artifact_rows)


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


_RECORD_FACETS = record_facets_sql(
    "CAST(f.schema_version AS VARCHAR)", "CAST(f.payload AS VARCHAR)", "$1"
)


def record_facets(conn: Any, run_id: str) -> RecordFacets:
    """The indexed facets of a run and of the artifacts it logged (``get_record``).
    An unindexed facet has no value rows, so nothing links it to its run: the run's
    snapshot alone holds it."""
    return facets_of_rows(conn.execute(_RECORD_FACETS, [run_id]).fetchall(), json.loads)
