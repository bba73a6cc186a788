"""The artifacts a view reads, and their facets: the reference over records.

A hybrid view (views/registry.py) selects produced output artifacts by key, schema,
driver and run filters, keeps those whose facets satisfy the ``params`` predicates,
and may attach facet values as columns. The DuckDB twin (store/duckdb/selection.py)
answers the same from SQL; tests/contract/test_selection_contract.py holds both to:

* an artifact is selected once, through the run that produced it (``artifact.run_id``
  is the run, and the run lists it as an output): a cache hit that links the same
  output again must not double its rows;
* order: the producing run's ``created_at``, then the artifact's, then its id;
* a facet key is looked up on the artifact's own indexed facet (``artifact_kv``)
  first; when the artifact has no value for that key, on its producing run's config
  facet (``run_config_kv``). A scope ``(namespace, key)`` with namespace None matches
  any namespace; a dotted ``ns.key`` written without ``namespace=`` tries
  ``(ns, key)`` and then the whole ``ns.key`` (see ``FacetCondition``);
* a predicate compares typed: a number with ints and floats (``value_num``), a bool
  with bools, a string with strings, ``null`` with ``=`` / ``!=`` only. A missing key
  or a value of another type never satisfies a predicate (``!=`` included), as SQL's
  NULL comparison would.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from consist.model.artifact import Artifact
from consist.model.facet import ConfigKV
from consist.model.run import ConsistRecord

Scope = tuple[str | None, str]
Scalar = str | int | float | bool | None
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, ">=": operator.ge,
    "<=": operator.le, ">": operator.gt, "<": operator.lt,
}  # fmt: skip


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


@dataclass(frozen=True, slots=True)
class FacetCondition:
    """``<facet value at the first matching scope> <op> <value>``."""

    scopes: tuple[Scope, ...]
    op: str
    value: Scalar


@dataclass(slots=True)
class FacetRows:
    """Indexed facet rows of the selected artifacts (by id) and of their runs (by id)."""

    artifacts: dict[str, list[ConfigKV]] = field(default_factory=dict)
    runs: dict[str, list[ConfigKV]] = field(default_factory=dict)

    def lookup(self, selected: SelectedArtifact, scopes: Sequence[Scope]) -> ConfigKV | None:
        """The artifact's own value for the first matching scope, else its run's."""
        artifact = selected.artifact
        for rows in (self.artifacts.get(artifact.id, []), self.runs.get(artifact.run_id or "", [])):
            for namespace, key in scopes:
                for row in rows:
                    if row.key == key and namespace in (None, row.namespace):
                        return row
        return None


def scope_keys(scopes: Iterable[Scope]) -> list[str]:
    """The distinct keys a lookup needs (what the SQL twin fetches)."""
    return sorted({key for _, key in scopes})


def holds(row: ConfigKV | None, condition: FacetCondition) -> bool:
    """Whether a facet value satisfies a condition (see the module docstring)."""
    if row is None:
        return False
    value, op = condition.value, condition.op
    if value is None:
        if op not in ("=", "!="):
            return False
        return (row.value_type == "null") == (op == "=")
    if isinstance(value, bool):
        current: Any = row.value_bool if row.value_type == "bool" else None
    elif isinstance(value, (int, float)):
        current = row.value_num if row.value_type in ("int", "float") else None
        value = float(value)
    else:
        current = row.value_str if row.value_type == "str" else None
    return current is not None and _OPS[op](current, value)


def keep_matching(
    selected: Sequence[SelectedArtifact],
    rows: FacetRows,
    conditions: Sequence[FacetCondition],
) -> list[SelectedArtifact]:
    return [s for s in selected if all(holds(rows.lookup(s, c.scopes), c) for c in conditions)]


# --- the reference implementation, over records --------------------------------------


def select_in_records(
    records: Iterable[ConsistRecord], selection: ArtifactFilter
) -> list[SelectedArtifact]:
    """Output artifacts matching ``selection``, in the contract's order."""
    found: list[tuple[tuple[bool, str, bool, str, str], SelectedArtifact]] = []
    for record in records:
        run = record.run
        run_values = {
            "run_id": run.id, "parent_run_id": run.parent_run_id, "model": run.model_name,
            "status": run.status, "year": run.year, "iteration": run.iteration,
        }  # fmt: skip
        if any(
            getattr(selection, name) is not None and getattr(selection, name) != value
            for name, value in run_values.items()
        ):
            continue
        for artifact in record.outputs:
            if artifact.run_id == run.id and _artifact_matches(artifact, selection):
                order = (*_last(run.created_at), *_last(artifact.created_at), artifact.id)
                chosen = SelectedArtifact(artifact, run.year, run.iteration, run.parent_run_id)
                found.append((order, chosen))
    found.sort(key=lambda pair: pair[0])
    return [chosen for _, chosen in found]


def _last(value: str | None) -> tuple[bool, str]:
    return (value is None, value or "")  # NULLS LAST, as DuckDB orders


def _artifact_matches(artifact: Artifact, selection: ArtifactFilter) -> bool:
    if selection.key is not None and artifact.key != selection.key:
        return False
    if selection.drivers is not None and artifact.driver not in selection.drivers:
        return False
    if selection.schema_ids is None and selection.schema_names is None:
        return True
    return (
        selection.schema_ids is not None and artifact.meta.get("schema_id") in selection.schema_ids
    ) or (
        selection.schema_names is not None
        and artifact.meta.get("schema_name") in selection.schema_names
    )


def facet_rows_in(
    records: Iterable[ConsistRecord], selected: Sequence[SelectedArtifact], keys: Sequence[str]
) -> FacetRows:
    """The indexed facet rows with one of ``keys`` of the selected artifacts and their runs."""
    wanted = {s.artifact.id for s in selected}
    runs = {s.artifact.run_id for s in selected}
    rows = FacetRows()
    for record in records:
        run_id = record.run.id
        if run_id in runs and record.facet is not None:
            kept = [r for r in record.facet.rows(run_id) if r.key in keys]
            if kept:
                rows.runs.setdefault(run_id, []).extend(kept)
        for artifact_id, facet in record.artifact_facets.items():
            if artifact_id in wanted:
                kept = [r for r in facet.rows(run_id) if r.key in keys]
                if kept:
                    rows.artifacts.setdefault(artifact_id, []).extend(kept)
    for table in (rows.runs, rows.artifacts):
        for values in table.values():
            values.sort(key=lambda row: (row.namespace, row.key))
    return rows
