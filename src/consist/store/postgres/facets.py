"""Config facets and lineage edges in the PostgreSQL store: tables, writes, and the SQL
twins of store/facets.py.

The tables are the DuckDB store's (schema versions 5 and 6), column for column, built
from the lists both stores share (store/sql_facets.py), so the guide's SQL runs
unchanged on either store, e.g. ``SELECT run_id, value_num FROM
global_tables.run_config_kv WHERE key = :metric ORDER BY value_num DESC LIMIT :k``:

* ``config_facets``: one row per distinct facet (content-addressed id);
* ``global_tables.run_config_kv`` / ``global_tables.artifact_kv``: one row per
  flattened leaf of an indexed facet of a run / of an artifact;
* ``producer_edges``: consumer run -> the run that produced one of its inputs, with
  their integer walk keys (version 7, store/edges.py).

Rows are written in the record's transaction (write.py), from the record, so a rebuild
from the snapshots restores them. ``value_json`` is stored as the exact text the model
gives (model/facet.json_text), so it reads back byte for byte.

PostgreSQL's ``json`` refuses NaN and Infinity. A facet payload holding a non-finite
float (a payload is always an object) is stored as a JSON *string* whose content is
Python's JSON text of the payload; readers decode such a string twice. The value rows
of those leaves need no trick: ``value_num`` is a double (NaN/Infinity are valid) and
``value_json`` holds the string "nan"/"inf" (json_text).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Protocol

from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import ConsistRecord
from consist.store.edges import EDGE_COLUMNS, backfill_keys_sql, edge_rows, key_sql
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


class Statements(Protocol):
    """Where the statements of a record's transaction are collected (write.Script)."""

    def add(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def upsert(
        self,
        table: str,
        columns: dict[str, str],
        rows: Sequence[tuple[Any, ...]],
        key: tuple[str, ...],
    ) -> None: ...


KV_KEY = ("run_id", "namespace", "key")

FACET_TABLES: tuple[tuple[str, dict[str, str], str], ...] = (
    ("config_facets", FACET_COLUMNS, "id"),
    (KV_TABLE, KV_COLUMNS, "run_id, namespace, key"),
    (ARTIFACT_KV_TABLE, ARTIFACT_KV_COLUMNS, "artifact_id, namespace, key"),
    ("producer_edges", EDGE_COLUMNS, "run_id, producer_run_id"),
)

#: Schema version 7: the walk keys of edges written before it (store/edges.py).
EDGE_KEY_COLUMNS = (
    "ALTER TABLE producer_edges ADD COLUMN IF NOT EXISTS run_key BIGINT",
    "ALTER TABLE producer_edges ADD COLUMN IF NOT EXISTS producer_key BIGINT",
)
EDGE_KEY_BACKFILL = backfill_keys_sql("postgres")

#: Indexes the shared store's lookups need (the DuckDB store scans instead).
FACET_INDEXES = (
    f"CREATE INDEX IF NOT EXISTS run_config_kv_key_idx ON {KV_TABLE} (key, namespace)",
    "CREATE INDEX IF NOT EXISTS producer_edges_producer_idx ON producer_edges (producer_run_id)",
)

#: Edges of links written before producer_edges existed (an upgraded database).
EDGE_BACKFILL = (
    "INSERT INTO producer_edges (run_id, producer_run_id, run_key, producer_key) "
    f"SELECT DISTINCT l.run_id, a.run_id, {key_sql('postgres', 'l.run_id')}, "
    f"{key_sql('postgres', 'a.run_id')} FROM run_artifacts l "
    "JOIN artifacts a ON a.id = l.artifact_id WHERE l.direction = 'input' "
    "AND a.producer_signature IS NOT NULL AND a.run_id IS NOT NULL AND a.run_id <> l.run_id "
    "ON CONFLICT DO NOTHING"
)


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_finite(item) for item in value)
    return True


def payload_text(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=repr)
    return text if _finite(payload) else json.dumps(text, ensure_ascii=False)


def decode_payload(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


def _facet_row(facet: ConfigFacet) -> tuple[Any, ...]:
    version = None if facet.schema_version is None else json.dumps(facet.schema_version)
    return (facet.id, facet.namespace, facet.schema_name, version, facet.index,
            payload_text(facet.payload))  # fmt: skip


def _kv_row(kv: ConfigKV, artifact_id: str | None = None) -> tuple[Any, ...]:
    row = (kv.run_id, kv.facet_id, kv.namespace, kv.key, kv.value_type, kv.value_str,
           kv.value_num, kv.value_bool, kv.value_json)  # fmt: skip
    return row if artifact_id is None else (artifact_id, *row)


def upsert_facets_and_edges(
    records: Sequence[ConsistRecord], run_ids: list[str], script: Statements
) -> None:
    """Write the facets, value rows and producer edges of ``records`` (the caller's
    transaction; ``run_ids`` sorted). Records without facets or produced inputs cost
    one DELETE of their (absent) edges."""
    found = facet_rows(records)
    facets, rows, artifact_rows = found.facets, found.rows, found.artifact_rows
    # Key order, so concurrent writers lock shared rows in the same order (write.py).
    script.upsert(
        "config_facets", FACET_COLUMNS, [_facet_row(facets[k]) for k in sorted(facets)], ("id",)
    )
    script.upsert(KV_TABLE, KV_COLUMNS, [_kv_row(rows[k]) for k in sorted(rows)], KV_KEY)
    script.upsert(
        ARTIFACT_KV_TABLE,
        ARTIFACT_KV_COLUMNS,
        [_kv_row(artifact_rows[k][1], artifact_rows[k][0]) for k in sorted(artifact_rows)],
        ("artifact_id", *KV_KEY[1:]),
    )
    # A re-recorded run (running -> final) replaces its edges, never accumulates them.
    script.add("DELETE FROM producer_edges WHERE run_id = ANY(%s)", [run_ids])
    edges = edge_rows(records)
    script.upsert(
        "producer_edges",
        EDGE_COLUMNS,
        [edges[k] for k in sorted(edges)],
        ("run_id", "producer_run_id"),
    )


# --- reads ---------------------------------------------------------------------------

_RECORD_FACETS = record_facets_sql("f.schema_version::text", "f.payload::text", "%(run)s")


def record_facets(conn: Any, run_id: str) -> RecordFacets:
    """The indexed facets of a run and of the artifacts it logged (``get_record``; the
    DuckDB twin says why an unindexed facet is not among them)."""
    rows = conn.execute(_RECORD_FACETS, {"run": run_id}).fetchall()
    return facets_of_rows(rows, decode_payload)
