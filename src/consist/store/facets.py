"""The facet half of the storage seam: config facets and their flattened key/value rows.

A store that records runs with facets (see model/facet.py) answers these queries; the
memory store is the reference (functions below, over records), store/sql_facets.py
the SQL twin, and tests/contract/test_facet_contract.py holds both to one contract:

* rows of a run are those of its record's facet (replaying a record changes nothing);
* ``query_config_kv`` orders by run id, then key; ``prefix`` and ``keys`` match
  literally (``%``, ``_`` and quotes are data); ``limit`` applies after the filters;
* ``find_runs_by_facet_kv`` matches every value given: ``value_num`` compares as a
  double (so 3 matches 3.0), ``value_str`` / ``value_bool`` exactly; runs come newest
  first, like ``query_runs``;
* ``query_facets`` returns distinct facets (of runs and of artifacts) ordered by
  namespace, then id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import ConsistRecord, Run
from consist.store.base import run_sort_key


@dataclass(frozen=True, slots=True)
class ConfigKVQuery:
    """Filters for flattened facet rows; ``None`` means "any"."""

    run_ids: tuple[str, ...] | None = None
    namespace: str | None = None
    prefix: str | None = None
    keys: tuple[str, ...] | None = None
    limit: int | None = 10_000


@dataclass(frozen=True, slots=True)
class FacetMatch:
    """``find_runs_by_facet_kv``: one key of one namespace, and the values to match."""

    namespace: str
    key: str
    value_type: str | None = None
    value_str: str | None = None
    value_num: float | None = None
    value_bool: bool | None = None
    limit: int | None = 100


@dataclass(frozen=True, slots=True)
class FacetQuery:
    """``get_config_facet(s)``: filters over persisted facets."""

    facet_id: str | None = None
    namespace: str | None = None
    schema_name: str | None = None
    limit: int | None = 100


@runtime_checkable
class FacetStore(Protocol):
    """What a store implements to answer facet queries (MemoryStore, DuckDBStore)."""

    def query_config_kv(self, query: ConfigKVQuery) -> list[ConfigKV]: ...

    def find_runs_by_facet_kv(self, match: FacetMatch) -> list[Run]: ...

    def query_facets(self, query: FacetQuery) -> list[ConfigFacet]: ...


# --- the reference implementation, over records ------------------------------------


def kv_matches(row: ConfigKV, query: ConfigKVQuery) -> bool:
    return (
        (query.run_ids is None or row.run_id in query.run_ids)
        and (query.namespace is None or row.namespace == query.namespace)
        and (query.prefix is None or row.key.startswith(query.prefix))
        and (query.keys is None or row.key in query.keys)
    )


def query_config_kv(records: Iterable[ConsistRecord], query: ConfigKVQuery) -> list[ConfigKV]:
    rows = [
        row
        for record in records
        if record.facet is not None
        for row in record.facet.rows(record.run.id)
        if kv_matches(row, query)
    ]
    rows.sort(key=lambda row: (row.run_id, row.key))
    return rows if query.limit is None else rows[: query.limit]


def value_matches(row: ConfigKV, match: FacetMatch) -> bool:
    return (
        row.namespace == match.namespace
        and row.key == match.key
        and (match.value_type is None or row.value_type == match.value_type)
        and (match.value_str is None or row.value_str == match.value_str)
        and (match.value_num is None or row.value_num == float(match.value_num))
        and (match.value_bool is None or row.value_bool is match.value_bool)
    )


def find_runs_by_facet_kv(records: Iterable[ConsistRecord], match: FacetMatch) -> list[Run]:
    runs = [
        record.run
        for record in records
        if record.facet is not None
        and any(value_matches(row, match) for row in record.facet.rows(record.run.id))
    ]
    runs.sort(key=run_sort_key("created"), reverse=True)
    return runs if match.limit is None else runs[: match.limit]


def query_facets(records: Iterable[ConsistRecord], query: FacetQuery) -> list[ConfigFacet]:
    found: dict[str, ConfigFacet] = {}
    for record in records:
        for facet in (record.facet, *record.artifact_facets.values()):
            if (
                facet is not None
                and (query.facet_id is None or facet.id == query.facet_id)
                and (query.namespace is None or facet.namespace == query.namespace)
                and (query.schema_name is None or facet.schema_name == query.schema_name)
            ):
                found.setdefault(facet.id, facet)
    facets = sorted(found.values(), key=lambda facet: (facet.namespace, facet.id))
    return facets if query.limit is None else facets[: query.limit]


#: (run_id or artifact_id, namespace, key): the key of a value row in its table.
RowKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class FacetRows:
    """What the SQL stores write for some records: each facet once, by id; each value row
    of a run's facet, by (run_id, namespace, key); each value row of an artifact's facet,
    by (artifact_id, namespace, key), with its artifact id. A later record's row wins."""

    facets: dict[str, ConfigFacet]
    rows: dict[RowKey, ConfigKV]
    artifact_rows: dict[RowKey, tuple[str, ConfigKV]]


def facet_rows(records: Iterable[ConsistRecord]) -> FacetRows:
    """The facets and flattened value rows of ``records`` (see :class:`FacetRows`)."""
    found = FacetRows({}, {}, {})
    for record in records:
        run_id = record.run.id
        if record.facet is not None:
            found.facets[record.facet.id] = record.facet
            for kv in record.facet.rows(run_id):
                found.rows[(kv.run_id, kv.namespace, kv.key)] = kv
        for artifact_id, facet in record.artifact_facets.items():
            found.facets[facet.id] = facet
            for kv in facet.rows(run_id):
                found.artifact_rows[(artifact_id, kv.namespace, kv.key)] = (artifact_id, kv)
    return found
