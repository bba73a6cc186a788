"""Config facet queries: checked arguments -> store queries (store/facets.py) -> results.

Every function takes ``read``, which runs a query on the metadata store after the
catch-up every query makes (persist/sync.py ``read_store``). Arguments are checked
first, so a wrong type is a ConfigError naming the parameter, never a query that
silently matches nothing. Keys are flattened keys (``"a.b"`` is key ``b`` under ``a``;
a literal dot in a key is written ``\\.``); ``prefix`` and ``keys`` match literally.

``namespace`` defaults to the run's model name, as the reference documents, when the
run is known; otherwise facets of every namespace of the run are read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from consist.errors import ConfigError, QueryError, invalid_option
from consist.model.facet import VALUE_TYPES, ConfigFacet, ConfigKV
from consist.model.limits import validate_optional_str
from consist.model.run import Run
from consist.store.base import MetadataStore
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery, FacetStore

T = TypeVar("T")
#: Runs a read on the store after the usual catch-up (StoreSync.read_store).
StoreRead = Callable[[Callable[[MetadataStore], T]], T]


def _facets(store: MetadataStore) -> FacetStore:
    if not isinstance(store, FacetStore):
        raise QueryError(
            f"The metadata store {type(store).__name__} does not answer facet queries.",
            fix="Use a Tracker with db_path=... (DuckDB) or without one (JSON snapshots).",
        )
    return store


def check_str(value: object, parameter: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"{parameter}={value!r} must be a non-empty string.",
            fix=f"Pass {parameter} as a string.",
            parameter=parameter,
        )
    return value


def check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigError(
            f"limit={limit!r} must be a non-negative integer or None.",
            fix="Pass limit=100 (or None for no limit).",
            parameter="limit",
        )
    return limit


def check_keys(keys: object) -> tuple[str, ...] | None:
    if keys is None:
        return None
    if isinstance(keys, str) or not isinstance(keys, Iterable):
        raise ConfigError(
            f"keys={keys!r} must be a list of flattened keys.",
            fix=f"Pass keys=[{keys!r}]." if isinstance(keys, str) else "Pass keys=['a.b', ...].",
            parameter="keys",
        )
    items = tuple(keys)
    for key in items:
        check_str(key, "keys")
    return items


def config_kv(
    read: StoreRead[list[ConfigKV]],
    run_id: object,
    *,
    namespace: object = None,
    prefix: object = None,
    keys: object = None,
    limit: object = 10_000,
) -> list[ConfigKV]:
    """Flattened rows of ``run_id``'s facets, ordered by key."""
    query = ConfigKVQuery(
        run_ids=(check_str(run_id, "run_id"),),
        namespace=validate_optional_str(namespace, "namespace"),
        prefix=validate_optional_str(prefix, "prefix"),
        keys=check_keys(keys),
        limit=check_limit(limit),
    )
    return read(lambda store: _facets(store).query_config_kv(query))


def config_values(
    read: StoreRead[list[ConfigKV]],
    run_id: object,
    namespace: str | None,
    *,
    prefix: object = None,
    keys: object = None,
    limit: object = 10_000,
) -> dict[str, Any]:
    """``{flattened key: typed value}`` of ``run_id``'s facet in ``namespace``."""
    rows = config_kv(read, run_id, namespace=namespace, prefix=prefix, keys=keys, limit=limit)
    return {row.key: row.value for row in rows}


def find_runs_by_value(
    read: StoreRead[list[Run]],
    *,
    namespace: object,
    key: object,
    value_type: object = None,
    value_str: object = None,
    value_num: object = None,
    value_bool: object = None,
    limit: object = 100,
) -> list[Run]:
    """Runs whose facet in ``namespace`` has ``key`` with every value given."""
    if value_type is not None and value_type not in VALUE_TYPES:
        raise invalid_option("value_type", value_type, list(VALUE_TYPES))
    if value_num is not None and (
        isinstance(value_num, bool) or not isinstance(value_num, (int, float))
    ):
        raise ConfigError(
            f"value_num={value_num!r} must be a number.",
            fix="Pass value_num=0.5 (use value_bool= for booleans, value_str= for text).",
            parameter="value_num",
        )
    if value_bool is not None and not isinstance(value_bool, bool):
        raise ConfigError(
            f"value_bool={value_bool!r} must be True or False.",
            fix="Pass value_bool=True.",
            parameter="value_bool",
        )
    match = FacetMatch(
        namespace=check_str(namespace, "namespace"),
        key=check_str(key, "key"),
        value_type=value_type,  # checked against VALUE_TYPES above
        value_str=validate_optional_str(value_str, "value_str"),
        value_num=None if value_num is None else float(value_num),
        value_bool=value_bool,
        limit=check_limit(limit),
    )
    return read(lambda store: _facets(store).find_runs_by_facet_kv(match))


def facets(
    read: StoreRead[list[ConfigFacet]],
    *,
    facet_id: object = None,
    namespace: object = None,
    schema_name: object = None,
    limit: object = 100,
) -> list[ConfigFacet]:
    """Persisted facets matching every filter given, ordered by namespace then id."""
    query = FacetQuery(
        facet_id=validate_optional_str(facet_id, "facet_id"),
        namespace=validate_optional_str(namespace, "namespace"),
        schema_name=validate_optional_str(schema_name, "schema_name"),
        limit=check_limit(limit),
    )
    return read(lambda store: _facets(store).query_facets(query))


def diff_values(
    a: dict[str, Any], b: dict[str, Any], *, include_equal: bool = False
) -> dict[str, Any]:
    """``{"changed": {key: (a, b)}, "added": {key: b}, "removed": {key: a}}`` (+ "equal").

    ``added`` are keys only run b has; ``removed`` keys only run a has. Values compare
    like Python values, except that a bool never equals a number and NaN equals NaN.
    """
    changed = {k: (a[k], b[k]) for k in sorted(a.keys() & b.keys()) if not _same(a[k], b[k])}
    result: dict[str, Any] = {
        "changed": changed,
        "added": {k: b[k] for k in sorted(b.keys() - a.keys())},
        "removed": {k: a[k] for k in sorted(a.keys() - b.keys())},
    }
    if include_equal:
        result["equal"] = {k: a[k] for k in sorted(a.keys() & b.keys()) if k not in changed}
    return result


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def facet_keys(
    read: StoreRead[list[ConfigKV]], runs: Sequence[Run], key: str, parameter: str = "index_by"
) -> list[Hashable]:
    """Each run's flattened facet value under ``key`` (None when its facet lacks it), in
    the order of ``runs``: the keys of ``index_by="facet.<key>"`` and RunSet grouping."""
    if not key:
        raise ConfigError(
            f"{parameter}='facet.' names no facet key.",
            fix=f"Pass {parameter}='facet.<flattened key>', e.g. 'facet.scenario.year'.",
            parameter=parameter,
        )
    if not runs:
        return []
    query = ConfigKVQuery(run_ids=tuple(run.id for run in runs), keys=(key,), limit=None)
    rows = read(lambda store: _facets(store).query_config_kv(query))
    # A run's own facet is the one in its model's namespace.
    models = {run.id: run.model_name for run in runs}
    values = {row.run_id: row.value for row in rows if models[row.run_id] == row.namespace}
    return [_hashable(values.get(run.id)) for run in runs]


def index_by_facet(
    read: StoreRead[list[ConfigKV]], runs: list[Run], key: str
) -> dict[Hashable, Run]:
    """``find_runs(index_by="facet.<key>")``: runs keyed by that facet value (None when a
    run's facet lacks it); the last run wins on duplicates, as for run attributes."""
    return dict(zip(facet_keys(read, runs, key), runs, strict=True))


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]
