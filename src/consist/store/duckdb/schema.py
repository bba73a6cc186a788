"""DDL of the DuckDB metadata store, and its version check.

Timestamps are stored as TIMESTAMP in UTC (TIMESTAMPTZ would make DuckDB import pytz
on read). ``meta`` and ``config`` are JSON so they can be queried with ``->>``.
Secondary indexes are deliberately absent: DuckDB's zone-map scans answer the
lookups we make in milliseconds at 100k runs, and ART indexes slow every upsert.
"""

from __future__ import annotations

from typing import Any

from consist.errors import StoreError

SCHEMA_VERSION = 1

RUN_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "name": "VARCHAR",
    "model_name": "VARCHAR",
    "description": "VARCHAR",
    "status": "VARCHAR",
    "parent_run_id": "VARCHAR",
    "year": "INTEGER",
    "iteration": "INTEGER",
    "stage": "VARCHAR",
    "phase": "VARCHAR",
    "tags": "VARCHAR[]",
    "signature": "VARCHAR",
    "config_hash": "VARCHAR",
    "input_hash": "VARCHAR",
    "git_hash": "VARCHAR",
    "code_identity_mode": "VARCHAR",
    "cache_hit": "BOOLEAN",
    "reused_run_id": "VARCHAR",
    "error": "VARCHAR",
    "artifact_dir": "VARCHAR",
    "created_at": "TIMESTAMP",
    "started_at": "TIMESTAMP",
    "ended_at": "TIMESTAMP",
    "duration_seconds": "DOUBLE",
    "meta": "JSON",
    "cache_decision": "JSON",
    "config": "JSON",
}

ARTIFACT_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "key": "VARCHAR",
    "uri": "VARCHAR",
    "driver": "VARCHAR",
    "hash": "VARCHAR",
    "size": "BIGINT",
    "run_id": "VARCHAR",
    "producer_signature": "VARCHAR",
    "created_at": "TIMESTAMP",
    "meta": "JSON",
}

LINK_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "artifact_id": "VARCHAR",
    "direction": "VARCHAR",
    "key": "VARCHAR",
}


def _table(name: str, columns: dict[str, str], primary_key: str) -> str:
    body = ", ".join(f'"{column}" {kind}' for column, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} ({body}, PRIMARY KEY ({primary_key}))"


DDL = (
    "CREATE TABLE IF NOT EXISTS consist_schema (version INTEGER)",
    _table("runs", RUN_COLUMNS, "id"),
    _table("artifacts", ARTIFACT_COLUMNS, "id"),
    _table("run_artifacts", LINK_COLUMNS, "run_id, artifact_id, direction"),
    # How far each pending-journal file has been copied in (see persist/journal.py).
    "CREATE TABLE IF NOT EXISTS consist_journal (file VARCHAR PRIMARY KEY, consumed BIGINT)",
)


def ensure_schema(conn: Any, db_path: str) -> None:
    """Create the tables if missing; refuse a database written by a newer Consist."""
    for statement in DDL:
        conn.execute(statement)
    row = conn.execute("SELECT max(version) FROM consist_schema").fetchone()
    found = row[0] if row else None
    if found is None:
        conn.execute("INSERT INTO consist_schema VALUES (?)", [SCHEMA_VERSION])
    elif found > SCHEMA_VERSION:
        raise StoreError(
            f"Database {db_path} has schema version {found}; this Consist supports up to "
            f"{SCHEMA_VERSION}.",
            fix="Upgrade consist, or point db_path at another file.",
            path=db_path,
        )
