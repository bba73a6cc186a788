"""Creating a hybrid view in the DuckDB file: policies checked, branches built, one DDL.

A view is a snapshot of the selection at creation time (DuckDB cannot enumerate files
from a table inside a view): artifacts of runs recorded later appear once the view is
created again (``view(Model)`` re-creates its view on every call). Views are created
in the ``main`` schema; hot tables live in ``global_tables``.

Facet predicates (``params``) and attached facets (``attach_facets``) look each key up
on the artifact's own indexed facet (``global_tables.artifact_kv``), else on its
producing run's (``global_tables.run_config_kv``); store/selection.py states the rules.
An attached facet becomes a typed column (BIGINT, DOUBLE, BOOLEAN, VARCHAR, or JSON when
the selected values mix types), a constant per cold file and joined onto hot rows by
artifact id; a name that is also a data column is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from consist.errors import ConfigError, ViewError
from consist.model.facet import ConfigKV, json_text
from consist.store.duckdb.selection import (
    SelectedArtifact,
    facet_rows,
    hot_tables,
    ingested_artifact_ids,
)
from consist.store.selection import FacetCondition, FacetRows, keep_matching, scope_keys
from consist.views.hybrid import (
    PROVENANCE_COLUMNS,
    ColdSource,
    Provenance,
    check_policies,
    cold_scans,
    create_view_sql,
    empty_select,
    hot_branch,
    refuse_clash,
    split_cold,
    union_sql,
)
from consist.views.names import FacetPath, FacetPredicate, check_identifier

_NOT_HOT = frozenset({"run_config_kv", "artifact_kv", "config_facets"})


@dataclass(frozen=True, slots=True)
class ViewRequest:
    """Everything a view needs, validated by ``create_view`` before any SQL runs."""

    name: str
    tables: Sequence[str]
    artifacts: Sequence[SelectedArtifact]
    restrict_hot: bool = False
    mode: str = "hybrid"
    missing_files: str = "warn"
    if_exists: str = "replace"
    include_system_columns: bool = True
    columns: dict[str, str] = field(default_factory=dict)
    attach: Sequence[FacetPath] = ()


def source_of(
    selected: SelectedArtifact, facets: tuple[tuple[str, object], ...] = ()
) -> ColdSource:
    artifact = selected.artifact
    provenance = Provenance(
        artifact.run_id, artifact.id, selected.year, selected.iteration, selected.parent_run_id
    )
    return ColdSource(str(artifact.path), artifact.driver, provenance, facets)


def create_view(conn: Any, request: ViewRequest) -> str:
    """Create (or replace) the view; return its SQL."""
    name = check_identifier(request.name, "view_name")
    check_policies(request.mode, request.missing_files, request.if_exists)
    if request.if_exists == "error" and _exists(conn, name):
        raise ViewError(
            f"A view or table named {name!r} already exists.",
            fix="Pass if_exists='replace', or choose another view_name.",
            parameter="view_name",
        )
    tables = {t: c for t, c in hot_tables(conn).items() if t not in _NOT_HOT}
    facet_columns, sources = attached_facets(conn, request.artifacts, request.attach)
    selected_ids = [s.artifact.id for s in request.artifacts]
    branches: list[str] = []
    hot_ids: set[str] = set()
    for table in request.tables:
        columns = tables.get(table)
        if columns is None or "consist_artifact_id" not in columns:
            continue
        refuse_clash(facet_columns, columns)
        if request.mode != "cold_only":
            restrict = selected_ids if request.restrict_hot else None
            branches.append(hot_branch(table, columns, restrict, sources, facet_columns))
        if request.mode == "hybrid":
            hot_ids |= ingested_artifact_ids(conn, table)
    if request.mode != "hot_only":
        cold = [source for source in sources if source.provenance.artifact_id not in hot_ids]
        readable, _ = split_cold(cold, request.missing_files, f"view {name!r}")
        branches += cold_scans(conn, readable, facet_columns)
    if not branches:
        branches = [empty_select({**request.columns, **PROVENANCE_COLUMNS, **facet_columns})]
    sql = create_view_sql(
        name,
        union_sql(branches),
        replace=request.if_exists == "replace",
        system_columns=request.include_system_columns,
    )
    conn.execute(sql)
    return sql


def filter_by_facets(
    conn: Any, artifacts: Sequence[SelectedArtifact], predicates: Sequence[FacetPredicate]
) -> list[SelectedArtifact]:
    """The artifacts whose facets satisfy every predicate (store/selection.py)."""
    if not predicates:
        return list(artifacts)
    conditions = [FacetCondition(p.scopes(), p.op, p.value) for p in predicates]
    rows = facet_rows(conn, artifacts, scope_keys(s for c in conditions for s in c.scopes))
    return keep_matching(artifacts, rows, conditions)


def attached_facets(
    conn: Any, artifacts: Sequence[SelectedArtifact], attach: Sequence[FacetPath]
) -> tuple[dict[str, str], list[ColdSource]]:
    """({column: SQL type}, one ColdSource per artifact carrying its facet values)."""
    if not attach:
        return {}, [source_of(s) for s in artifacts]
    columns = [path.column for path in attach]
    if len(set(columns)) != len(columns):
        raise ConfigError(
            f"attach_facets {[p.key for p in attach]} name the same column twice ({columns}).",
            fix="Attach each facet key once.",
            parameter="attach_facets",
        )
    rows: FacetRows = facet_rows(conn, artifacts, scope_keys(s for p in attach for s in p.scopes()))
    found = {(s.artifact.id, p.column): rows.lookup(s, p.scopes()) for s in artifacts for p in attach}  # fmt: skip
    types = {
        p.column: _column_type([found[(s.artifact.id, p.column)] for s in artifacts])
        for p in attach
    }
    refuse_clash(types, ())
    sources = []
    for selected in artifacts:
        values = tuple(
            (column, _cell(found[(selected.artifact.id, column)], kind))
            for column, kind in types.items()
        )
        sources.append(source_of(selected, values))
    return types, sources


def _column_type(rows: Sequence[ConfigKV | None]) -> str:
    kinds = {row.value_type for row in rows if row is not None and row.value_type != "null"}
    if kinds == {"int"} and all(
        row is None or row.value_type != "int" or -(2**63) <= row.value < 2**63 for row in rows
    ):
        return "BIGINT"
    if kinds and kinds <= {"int", "float"}:
        return "DOUBLE"
    if kinds in ({"bool"}, {"str"}):
        return "BOOLEAN" if kinds == {"bool"} else "VARCHAR"
    return "VARCHAR" if not kinds else "JSON"


def _cell(row: ConfigKV | None, kind: str) -> object:
    if row is None or row.value_type == "null":
        return None
    if kind == "JSON":
        return json_text(row.value)
    if kind == "DOUBLE":
        return float(row.value)
    return row.value


def _exists(conn: Any, name: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])
