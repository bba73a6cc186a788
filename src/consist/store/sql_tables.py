"""The tables both SQL stores hold, column for column, and their schema version.

Users query ``runs``, ``artifacts`` and ``run_artifacts`` with the same SQL on DuckDB
(store/duckdb/schema.py) and PostgreSQL (store/postgres/schema.py, which maps these
DuckDB type names one to one), so the column lists live here, once. The version is the
one both stores record: bump it only together with a new upgrade step in
store/duckdb/migrate.py (and the golden DDL test); PostgreSQL upgrades by its own
``IF NOT EXISTS`` DDL.
"""

from __future__ import annotations

SCHEMA_VERSION = 7

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
    "cache_decision": "JSON",  # schema version 2
    "owner": "JSON",  # schema version 3
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
