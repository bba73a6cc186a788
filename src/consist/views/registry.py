"""Creating a hybrid view in the DuckDB file: policies checked, branches built, one DDL.

A view is a snapshot of the selection at creation time (DuckDB cannot enumerate files
from a table inside a view): artifacts of runs recorded later appear once the view is
created again (``view(Model)`` re-creates its view on every call). Views are created
in the ``main`` schema; hot tables live in ``global_tables``.

Facet predicates (``params``) filter the producing run's config facets in
``global_tables.run_config_kv`` when that table exists; each predicate becomes one
``EXISTS`` with bound-literal values, and a namespace/key that is not a valid name is
refused by ``names.parse_predicate`` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from consist.errors import ConfigError, ViewError
from consist.store.duckdb.selection import SelectedArtifact, hot_tables, ingested_artifact_ids
from consist.views.hybrid import (
    PROVENANCE_COLUMNS,
    ColdSource,
    Provenance,
    check_policies,
    cold_branch,
    create_view_sql,
    empty_select,
    hot_branch,
    split_cold,
    union_sql,
)
from consist.views.names import FacetPredicate, check_identifier, literal, quote_identifier

_NOT_HOT = frozenset({"run_config_kv", "config_facets"})
KV_TABLE = "run_config_kv"


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


def source_of(selected: SelectedArtifact) -> ColdSource:
    artifact = selected.artifact
    provenance = Provenance(
        artifact.run_id, artifact.id, selected.year, selected.iteration, selected.parent_run_id
    )
    return ColdSource(str(artifact.path), artifact.driver, provenance)


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
    selected_ids = [s.artifact.id for s in request.artifacts]
    branches: list[str] = []
    hot_ids: set[str] = set()
    for table in request.tables:
        columns = tables.get(table)
        if columns is None or "consist_artifact_id" not in columns:
            continue
        if request.mode != "cold_only":
            restrict = selected_ids if request.restrict_hot else None
            branches.append(hot_branch(table, columns, restrict))
        if request.mode == "hybrid":
            hot_ids |= ingested_artifact_ids(conn, table)
    if request.mode != "hot_only":
        cold = [source_of(s) for s in request.artifacts if s.artifact.id not in hot_ids]
        readable, _ = split_cold(cold, request.missing_files, f"view {name!r}")
        branches += [cold_branch(source) for source in readable]
    if not branches:
        branches = [empty_select({**request.columns, **PROVENANCE_COLUMNS})]
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
    """The artifacts whose producing run's config facets satisfy every predicate."""
    if not predicates:
        return list(artifacts)
    if KV_TABLE not in hot_tables(conn):
        raise ConfigError(
            "params filters on facets, but this store has no facet table "
            f"(global_tables.{KV_TABLE}).",
            fix="Record runs with facet=... (facet_index=True) first, or drop params.",
            parameter="params",
        )
    terms = [_predicate_sql(p) for p in predicates]
    run_ids = sorted({s.artifact.run_id for s in artifacts if s.artifact.run_id})
    if not run_ids:
        return []
    rows = conn.execute(
        f"SELECT r.id FROM (SELECT unnest(?) AS id) r WHERE {' AND '.join(terms)}", [run_ids]
    ).fetchall()
    keep = {row[0] for row in rows}
    return [s for s in artifacts if s.artifact.run_id in keep]


def _predicate_sql(predicate: FacetPredicate) -> str:
    value = predicate.value
    if isinstance(value, bool):
        column = "value_bool"
    elif isinstance(value, (int, float)):
        column = "value_num"
    else:
        column = "value_str"
    op = predicate.op
    if value is None:
        test = "value_type = 'null'" if op == "=" else "value_type <> 'null'"
    else:
        test = f"{column} {op} {literal(value)}"
    scope = f"kv.key = {literal(predicate.key)}"
    if predicate.namespace is not None:
        scope += f" AND kv.namespace = {literal(predicate.namespace)}"
    return (
        f"EXISTS (SELECT 1 FROM global_tables.{quote_identifier(KV_TABLE)} kv "
        f"WHERE kv.run_id = r.id AND {scope} AND {test})"
    )


def _exists(conn: Any, name: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])
