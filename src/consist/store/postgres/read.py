"""The PostgreSQL dialect of the run and artifact SELECTs (store/sql_reads.py), and the
cache lookups only this store makes.

Filters, order and the ``metadata=`` comparison follow store/base.py exactly (the
contract suite runs them against the memory store). Metadata is ``json`` text, so a
number's text says whether it was an int or a float: integers compare as exact
``numeric``, floats as ``float8``, and an int matches a float only when Python would
say they are equal. Nested values (lists, dicts) are narrowed by JSON type in SQL and
compared in Python, as in the DuckDB store. Rows are decoded by store/sql_rows.py.

``find_completed`` is the cache lookup of a signature this machine has not seen: one
indexed query returning the run, its config and its artifacts together.
"""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.artifact import ARTIFACT_FIELDS
from consist.model.run import RUN_FIELDS, ConsistRecord
from consist.store import sql_reads
from consist.store.base import metadata_kind
from consist.store.postgres.facets import decode_payload, record_facets
from consist.store.sql_reads import SqlDialect
from consist.store.sql_rows import row_to_artifact, row_to_run, select_list

RUN_SELECT = select_list(RUN_FIELDS, "r")
ARTIFACT_SELECT = select_list(ARTIFACT_FIELDS, "a")


_JSON_TYPE_OF_KIND = {"str": "string", "bool": "boolean", "number": "number", "null": "null"}
_FLOAT_TEXT = "(r.meta ->> %s) ~ '[.eE]'"


def _metadata_clause(key: str, value: Any) -> tuple[str, list[Any]]:
    """SQL twin of store.base.metadata_matches for one ``metadata=`` entry."""
    kind = metadata_kind(value)
    if kind == "json":
        # Lists and dicts: the type here, the value in Python (see query_runs).
        return "(json_typeof(r.meta -> %s) IN ('object', 'array'))", [key]
    clause = f"json_typeof(r.meta -> %s) = '{_JSON_TYPE_OF_KIND[kind]}'"
    params: list[Any] = [key]
    if kind == "str":
        clause += " AND r.meta ->> %s = %s"
        params += [key, value]
    elif kind == "bool":
        clause += " AND r.meta ->> %s = %s"
        params += [key, "true" if value else "false"]
    elif kind == "number" and (isinstance(value, int) or math.isfinite(value)):
        if isinstance(value, int) or float(value).is_integer():
            exact = int(value)
            # A stored int: exact numeric equality. A stored float: equal as doubles,
            # only when the wanted integer is exactly a double (as in Python).
            parts = [f"(NOT {_FLOAT_TEXT} AND (r.meta ->> %s)::numeric = %s::numeric)"]
            params += [key, key, str(exact)]
            if float(exact) == exact:
                parts.append(f"({_FLOAT_TEXT} AND (r.meta ->> %s)::float8 = %s)")
                params += [key, key, float(exact)]
            clause += " AND (" + " OR ".join(parts) + ")"
        else:
            clause += f" AND {_FLOAT_TEXT} AND (r.meta ->> %s)::float8 = %s"
            params += [key, key, float(value)]
    elif kind == "number":
        clause += " AND false"  # nan / inf are not JSON: nothing stored equals them
    return f"({clause})", params


DIALECT = SqlDialect(
    mark="%s",
    run_select=RUN_SELECT,
    artifact_select=ARTIFACT_SELECT,
    has_all_tags="r.tags @> %s::text[]",
    has_any_tag="r.tags && %s::text[]",
    metadata_clause=_metadata_clause,
    in_list="{column} = ANY(%s)",
    collate=' COLLATE "C"',
    decode_payload=decode_payload,
)

query_runs = partial(sql_reads.query_runs, DIALECT)
get_run = partial(sql_reads.get_run, DIALECT)
get_run_artifacts = partial(sql_reads.get_run_artifacts, DIALECT)
find_artifacts_by_uri = partial(sql_reads.find_artifacts_by_uri, DIALECT)
count_runs = sql_reads.count_runs


def _record_sql(where: str) -> str:
    return (
        f"SELECT {RUN_SELECT}, r.config::text, l.direction, {ARTIFACT_SELECT} "
        f"FROM (SELECT * FROM runs WHERE {where} LIMIT 1) r "
        "LEFT JOIN run_artifacts l ON l.run_id = r.id "
        "LEFT JOIN artifacts a ON a.id = l.artifact_id ORDER BY l.key"
    )


# The run that produced the outputs first; any completed run of the signature will do.
_FIND_COMPLETED = _record_sql(
    "signature = %s AND status = 'completed' ORDER BY cache_hit IS TRUE, created_at DESC NULLS LAST"
)
_GET_RECORD = _record_sql("id = %s")


def find_completed(conn: Any, signature: str, layout: RunLayout) -> ConsistRecord | None:
    """The completed run of ``signature`` with its config and artifacts (one query)."""
    return _record(conn.execute(_FIND_COMPLETED, [signature]).fetchall(), layout)


def find_completed_many(
    conn: Any, signatures: list[str], layout: RunLayout
) -> dict[str, ConsistRecord]:
    """``find_completed`` for many signatures in one query (tracker.map's hit decisions)."""
    return _records_by_signature(conn.execute(_FIND_MANY, [signatures]).fetchall(), layout)


_FIND_MANY = (
    f"SELECT {RUN_SELECT}, r.config::text, l.direction, {ARTIFACT_SELECT} "
    "FROM (SELECT DISTINCT ON (signature) * FROM runs WHERE signature = ANY(%s) "
    "AND status = 'completed' "
    "ORDER BY signature, cache_hit IS TRUE, created_at DESC NULLS LAST) r "
    "LEFT JOIN run_artifacts l ON l.run_id = r.id "
    "LEFT JOIN artifacts a ON a.id = l.artifact_id ORDER BY r.id, l.key"
)


def _records_by_signature(
    rows: list[tuple[Any, ...]], layout: RunLayout
) -> dict[str, ConsistRecord]:
    by_run: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_run.setdefault(row[0], []).append(row)
    found: dict[str, ConsistRecord] = {}
    for rows in by_run.values():
        record = _record(rows, layout)
        if record is not None and record.run.signature:
            found[record.run.signature] = record
    return found


def lock_and_find_completed(
    conn: Any, key: int, signature: str, layout: RunLayout
) -> tuple[bool, ConsistRecord | None]:
    """Try the advisory lock ``key``, then look ``signature`` up: one message, two
    statements, the lookup's snapshot taken after the lock (locks.py)."""
    from consist._libs.psycopg import psycopg

    with psycopg().ClientCursor(conn) as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s); " + _FIND_COMPLETED, [key, signature])
        row = cur.fetchone()
        got = bool(row and row[0])
        cur.nextset()
        rows = cur.fetchall()
    return got, (_record(rows, layout) if got else None)


def lock_many_and_find_completed(
    conn: Any, keys: list[int], signatures: list[str], layout: RunLayout
) -> tuple[list[bool], dict[str, ConsistRecord]]:
    """Try the advisory locks ``keys`` (in order), then look ``signatures`` up: one
    message, the lookup's snapshot taken after the locks (tracker.map's chunks)."""
    from consist._libs.psycopg import psycopg

    with psycopg().ClientCursor(conn) as cur:
        cur.execute(
            "SELECT pg_try_advisory_lock(k) FROM unnest(%s::bigint[]) WITH ORDINALITY "
            "AS t(k, n) ORDER BY n; " + _FIND_MANY,
            [keys, signatures],
        )
        got = [bool(row[0]) for row in cur.fetchall()]
        cur.nextset()
        rows = cur.fetchall()
    return got, _records_by_signature(rows, layout)


def get_record(conn: Any, run_id: str, layout: RunLayout) -> ConsistRecord | None:
    """A run with its config, artifacts and indexed facets, as its snapshot would give it."""
    record = _record(conn.execute(_GET_RECORD, [run_id]).fetchall(), layout)
    if record is not None:  # a second statement: a run's facets never change once written
        record.facet, record.artifact_facets = record_facets(conn, run_id)
    return record


def _record(rows: list[tuple[Any, ...]], layout: RunLayout) -> ConsistRecord | None:
    if not rows:
        return None
    width = len(RUN_FIELDS)
    first = rows[0]
    config_text = first[width]
    record = ConsistRecord(
        run=row_to_run(first[:width]),
        config=json.loads(config_text) if config_text else None,
    )
    for row in rows:
        direction = row[width + 1]
        if direction is None:
            continue
        artifact = row_to_artifact(row[width + 2 :], layout)
        (record.inputs if direction == "input" else record.outputs).append(artifact)
    return record
