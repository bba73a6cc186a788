"""The artifacts a hybrid view reads: produced outputs, with their run's coordinates.

Views live in the DuckDB file beside the hot tables, so this selection exists for the
DuckDB store only (a JSON-only tracker has no hot data to view; the view methods refuse
it). An artifact is selected once, through the run that produced it: a cache hit that
reuses an output links the same artifact again, and must not double its rows.
Every filter is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.store.duckdb.read import ARTIFACT_SELECT, _row_to_artifact


@dataclass(frozen=True, slots=True)
class ArtifactFilter:
    """What to select; ``None`` means no filter on that field."""

    key: str | None = None
    schema_ids: Sequence[str] | None = None
    schema_names: Sequence[str] | None = None
    drivers: Sequence[str] | None = None
    run_id: str | None = None
    parent_run_id: str | None = None
    model: str | None = None
    status: str | None = None
    year: int | None = None
    iteration: int | None = None


@dataclass(frozen=True, slots=True)
class SelectedArtifact:
    """An output artifact and the coordinates of the run that produced it."""

    artifact: Artifact
    year: int | None
    iteration: int | None
    parent_run_id: str | None


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
        SelectedArtifact(_row_to_artifact(row[3:], layout), row[0], row[1], row[2]) for row in rows
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
