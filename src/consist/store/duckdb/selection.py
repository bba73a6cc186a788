"""The artifacts a hybrid view reads, and their facet rows: the SQL twin of
store/selection.py (which states the contract; tests/contract/test_selection_contract.py).

Views live in the DuckDB file beside the hot tables, so the tracker uses this twin only
(a JSON-only tracker has no hot data to view; the view methods refuse it). An artifact
is selected once, through the run that produced it: a cache hit that reuses an output
links the same artifact again, and must not double its rows. Every filter is a bound
parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.facet import ConfigKV
from consist.store.duckdb.read import ARTIFACT_SELECT
from consist.store.selection import ArtifactFilter, FacetRows, SelectedArtifact
from consist.store.sql_facets import ARTIFACT_KV_TABLE, KV_TABLE
from consist.store.sql_rows import row_to_artifact

__all__ = ["ArtifactFilter", "SelectedArtifact", "facet_rows", "select_artifacts"]


_RUN_FIELDS = {
    "run_id": "r.id",
    "parent_run_id": "r.parent_run_id",
    "model": "r.model_name",
    "status": "r.status",
    "year": "r.year",
    "iteration": "r.iteration",
}


def select_artifacts(
    conn: Any, selection: ArtifactFilter, layout: RunLayout | None
) -> list[SelectedArtifact]:
    """Output artifacts matching ``selection``, oldest run first."""
    where = [
        "EXISTS (SELECT 1 FROM run_artifacts l WHERE l.artifact_id = a.id "
        "AND l.run_id = a.run_id AND l.direction = 'output')"
    ]
    params: list[Any] = []
    if selection.key is not None:
        where.append("a.key = ?")
        params.append(selection.key)
    for field, column in _RUN_FIELDS.items():
        value = getattr(selection, field)
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    schema_terms = []
    if selection.schema_ids is not None:
        schema_terms.append("list_contains(?, a.meta->>'schema_id')")
        params.append(list(selection.schema_ids))
    if selection.schema_names is not None:
        schema_terms.append("list_contains(?, a.meta->>'schema_name')")
        params.append(list(selection.schema_names))
    if schema_terms:
        where.append("(" + " OR ".join(schema_terms) + ")")
    if selection.drivers is not None:
        where.append("list_contains(?, a.driver)")
        params.append(list(selection.drivers))
    rows = conn.execute(
        f"SELECT r.year, r.iteration, r.parent_run_id, {ARTIFACT_SELECT} "
        "FROM artifacts a JOIN runs r ON r.id = a.run_id "
        f"WHERE {' AND '.join(where)} ORDER BY r.created_at, a.created_at, a.id",
        params,
    ).fetchall()
    return [
        SelectedArtifact(row_to_artifact(row[3:], layout), row[0], row[1], row[2]) for row in rows
    ]


def hot_tables(conn: Any) -> dict[str, list[str]]:
    """Tables of the ``global_tables`` schema and their columns, in order."""
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'global_tables' ORDER BY table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def ingested_artifact_ids(conn: Any, table: str) -> set[str]:
    """Artifacts with rows in a hot table (the rows are the truth, not a side record)."""
    quoted = '"' + table.replace('"', '""') + '"'
    rows = conn.execute(
        f"SELECT DISTINCT consist_artifact_id FROM global_tables.{quoted}"
    ).fetchall()
    return {row[0] for row in rows if row[0] is not None}


_KV = (
    "{a}.facet_id, {a}.namespace, {a}.key, {a}.value_type, {a}.value_str, {a}.value_num, "
    "{a}.value_bool, CAST({a}.value_json AS VARCHAR)"
)


def facet_rows(conn: Any, selected: Sequence[SelectedArtifact], keys: Sequence[str]) -> FacetRows:
    """Indexed facet rows with one of ``keys`` of the selected artifacts and their runs."""
    rows = FacetRows()
    if not selected or not keys:
        return rows
    artifact_ids = sorted({s.artifact.id for s in selected})
    run_ids = sorted({s.artifact.run_id for s in selected if s.artifact.run_id})
    found = conn.execute(
        f"SELECT a.artifact_id, a.run_id, {_KV.format(a='a')} FROM {ARTIFACT_KV_TABLE} a "
        "WHERE list_contains(?, a.artifact_id) AND list_contains(?, a.key) "
        "ORDER BY a.namespace, a.key",
        [artifact_ids, list(keys)],
    ).fetchall()
    for row in found:
        rows.artifacts.setdefault(row[0], []).append(ConfigKV(*row[1:]))
    found = conn.execute(
        f"SELECT kv.run_id, {_KV.format(a='kv')} FROM {KV_TABLE} kv "
        "WHERE list_contains(?, kv.run_id) AND list_contains(?, kv.key) "
        "ORDER BY kv.namespace, kv.key",
        [run_ids, list(keys)],
    ).fetchall()
    for row in found:
        rows.runs.setdefault(row[0], []).append(ConfigKV(*row))
    return rows
