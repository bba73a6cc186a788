"""DDL of the PostgreSQL store: the DuckDB store's tables, column for column.

The column lists come from store/sql_tables.py, shared with DuckDB, so the two stores
cannot drift: users query ``runs``, ``artifacts``, ``run_artifacts`` with the same SQL
on either.
Types map one to one; text columns use the "C" collation, so ``ORDER BY id`` sorts like
Python and DuckDB, whatever the server's locale. ``meta`` / ``config`` are ``json``
(not ``jsonb``): the text is kept as written, so a stored ``1.0`` stays a float and the
metadata filters compare numbers exactly as the other stores do (read.py).

Unlike DuckDB, the store is shared by many writers at once, so it has the indexes its
hot lookups need: ``runs(signature)`` for the cache lookup of a signature this machine
has not seen, and ``run_artifacts(run_id)`` is the primary key's prefix.

Creation is idempotent and safe when many processes start together: the DDL runs under
a transaction-level advisory lock, after a cheap check of the schema version and of the
newest tables. Upgrades are the same DDL (``IF NOT EXISTS``): a database of an older
version gets the new tables (facets, version 5; producer_edges, version 6, backfilled
from its links; their walk keys, version 7, filled; store/postgres/facets.py).
"""

from __future__ import annotations

from consist.store.postgres.facets import (
    EDGE_BACKFILL,
    EDGE_KEY_BACKFILL,
    EDGE_KEY_COLUMNS,
    FACET_INDEXES,
    FACET_TABLES,
)
from consist.store.sql_tables import (
    ARTIFACT_COLUMNS,
    LINK_COLUMNS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
)

_TYPES = {
    "VARCHAR": 'TEXT COLLATE "C"',
    "VARCHAR[]": "TEXT[]",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMP",
    "DOUBLE": "DOUBLE PRECISION",
    "JSON": "JSON",
}

#: Advisory lock key (transaction level) serialising schema creation between processes.
SCHEMA_LOCK_KEY = 0x436F6E73697374  # "Consist"


def pg_type(duck_type: str) -> str:
    return _TYPES[duck_type]


def _table(name: str, columns: dict[str, str], primary_key: str) -> str:
    body = ", ".join(f'"{column}" {pg_type(kind)}' for column, kind in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} ({body}, PRIMARY KEY ({primary_key}))"


DDL = (
    "CREATE TABLE IF NOT EXISTS consist_schema (version INTEGER)",
    _table("runs", RUN_COLUMNS, "id"),
    _table("artifacts", ARTIFACT_COLUMNS, "id"),
    _table("run_artifacts", LINK_COLUMNS, "run_id, artifact_id, direction"),
    'CREATE TABLE IF NOT EXISTS consist_journal (file TEXT COLLATE "C" PRIMARY KEY, '
    "consumed BIGINT)",
    'CREATE TABLE IF NOT EXISTS consist_generation (generation TEXT COLLATE "C" PRIMARY KEY, '
    "recorded_at TIMESTAMP)",
    "CREATE INDEX IF NOT EXISTS runs_signature_idx ON runs (signature)",
    "CREATE INDEX IF NOT EXISTS runs_created_idx ON runs (created_at)",
    "CREATE SCHEMA IF NOT EXISTS global_tables",
    *(_table(name, columns, key) for name, columns, key in FACET_TABLES),
    *EDGE_KEY_COLUMNS,  # a version-6 table gets the walk keys (version 7)
    *FACET_INDEXES,
)

# Present in a database at SCHEMA_VERSION (a version-6 database written before the
# PostgreSQL store had them lacks them: it is completed like an older one).
_NEWEST = ("global_tables.artifact_kv", "producer_edges")

TABLES = ("runs", "artifacts", "run_artifacts")


def ensure_schema(conn: object) -> bool:
    """Create the tables if needed (inside a transaction); return True if this call
    created them. Refuses a database written by a newer Consist."""
    from consist.errors import StoreError

    execute = conn.execute  # type: ignore[attr-defined]
    newest = " AND ".join(f"to_regclass('{name}') IS NOT NULL" for name in _NEWEST)
    found, complete = execute(
        f"SELECT to_regclass('consist_schema') IS NOT NULL, {newest}"
    ).fetchone()
    if found:
        row = execute("SELECT max(version) FROM consist_schema").fetchone()
        version = row[0] if row else None
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"The PostgreSQL store has schema version {version}; this Consist "
                f"understands versions up to {SCHEMA_VERSION}.",
                fix="Upgrade Consist on this machine to the version the other writers use.",
            )
        if version == SCHEMA_VERSION and complete:
            return False
    execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK_KEY])
    created = not execute("SELECT to_regclass('runs') IS NOT NULL").fetchone()[0]
    had_edges = execute("SELECT to_regclass('producer_edges') IS NOT NULL").fetchone()[0]
    for statement in DDL:
        execute(statement)
    if not created and not had_edges:
        execute(EDGE_BACKFILL)  # links recorded before producer_edges existed
    if not created:
        execute(EDGE_KEY_BACKFILL)  # edges recorded before the walk keys existed
    execute("DELETE FROM consist_schema")
    execute("INSERT INTO consist_schema VALUES (%s)", [SCHEMA_VERSION])
    return bool(created)
