"""The DuckDB dialect of the run and artifact SELECTs (store/sql_reads.py): columns and
``metadata=`` in DuckDB's JSON functions (rows are decoded by store/sql_rows.py)."""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

from consist.model.artifact import ARTIFACT_FIELDS
from consist.model.run import RUN_FIELDS
from consist.store import sql_reads
from consist.store.base import metadata_kind
from consist.store.sql_reads import SqlDialect
from consist.store.sql_rows import select_list

RUN_SELECT = select_list(RUN_FIELDS, "r")
ARTIFACT_SELECT = select_list(ARTIFACT_FIELDS, "a")


_JSON_TYPE_OF_KIND = {
    "str": "('VARCHAR')",
    "bool": "('BOOLEAN')",
    "number": "('BIGINT', 'UBIGINT', 'DOUBLE')",
    "null": "('NULL')",
    "json": "('OBJECT', 'ARRAY')",
}


def _is_integral(value: Any) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())


def _metadata_clause(path: str, value: Any) -> tuple[str, list[Any]]:
    """SQL twin of store.base.metadata_matches for one ``metadata=`` entry."""
    kind = metadata_kind(value)
    clause = f"json_type(r.meta, ?) IN {_JSON_TYPE_OF_KIND[kind]}"
    params: list[Any] = [path]
    if kind == "str":
        clause += " AND json_extract_string(r.meta, ?) = ?"
        params += [path, value]
    elif kind == "bool":
        clause += " AND CAST(json_extract(r.meta, ?) AS VARCHAR) = ?"
        params += [path, "true" if value else "false"]
    elif kind == "number" and _is_integral(value) and abs(value) < 2**127:
        # Exact, like Python's int/float comparison: stored integers compare as HUGEINT
        # (64-bit seeds must not match their neighbours); stored doubles only when the
        # wanted integer is exactly representable as a double (so 1 matches 1.0).
        exact = int(value)
        clause = (
            "(json_type(r.meta, ?) IN ('BIGINT', 'UBIGINT') AND "
            "CAST(json_extract(r.meta, ?) AS HUGEINT) = CAST(? AS HUGEINT))"
        )
        params = [path, path, str(exact)]
        if float(exact) == exact:
            clause += (
                " OR (json_type(r.meta, ?) = 'DOUBLE' AND "
                "CAST(json_extract(r.meta, ?) AS DOUBLE) = ?)"
            )
            params += [path, path, float(exact)]
    elif kind == "number":
        clause += " AND CAST(json_extract(r.meta, ?) AS DOUBLE) = ?"
        params += [path, float(value)]
    # kind "json" (lists, dicts): only the type is checked in SQL; the value is compared
    # in Python (see query_runs), because DuckDB and Python print floats differently.
    return f"({clause})", params


def _metadata(key: str, value: Any) -> tuple[str, list[Any]]:
    return _metadata_clause("$." + json.dumps(key), value)


DIALECT = SqlDialect(
    mark="?",
    run_select=RUN_SELECT,
    artifact_select=ARTIFACT_SELECT,
    has_all_tags="list_has_all(r.tags, ?)",
    has_any_tag="list_has_any(r.tags, ?)",
    metadata_clause=_metadata,
    in_list="{column} IN (SELECT unnest(?::VARCHAR[]))",
)

query_runs = partial(sql_reads.query_runs, DIALECT)
get_run = partial(sql_reads.get_run, DIALECT)
get_run_artifacts = partial(sql_reads.get_run_artifacts, DIALECT)
find_artifacts_by_uri = partial(sql_reads.find_artifacts_by_uri, DIALECT)
count_runs = sql_reads.count_runs


def get_config(conn: Any, run_id: str) -> Any:
    """The run's canonical config (None when absent)."""
    row = conn.execute("SELECT CAST(config AS VARCHAR) FROM runs WHERE id = ?", [run_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else None
