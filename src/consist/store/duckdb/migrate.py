"""Schema versions of the DuckDB store: the check every session makes, and the upgrades.

``consist_schema`` holds one row per version applied; its maximum is the database's
version. Rules:

* a database at SCHEMA_VERSION costs one SELECT per session (the common case);
* a new (empty) database gets the current DDL of schema.py in one transaction;
* an older one gets each step of STEPS above its version, in order, in one
  transaction that re-reads the version first, so two connections upgrading at once
  apply each step once (the loser of DuckDB's write-write conflict retries and finds
  the work done);
* a newer one is refused, naming both versions: an older Consist must not write rows
  that lack columns a newer one relies on.

Read-only connections never migrate: they report what they found (see connect.py).
"""

from __future__ import annotations

from typing import Any

import duckdb

from consist.errors import StoreError
from consist.store.duckdb.facets import FACET_DDL
from consist.store.duckdb.schema import (
    DDL,
    EDGE_KEYS_STEP,
    GENERATION_DDL,
    PRODUCER_EDGE_BACKFILL,
    PRODUCER_EDGE_DDL_V6,
)
from consist.store.sql_tables import SCHEMA_VERSION

#: version -> statements that upgrade a database from version - 1. Append only.
STEPS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE runs ADD COLUMN IF NOT EXISTS cache_decision JSON",),
    3: ("ALTER TABLE runs ADD COLUMN IF NOT EXISTS owner JSON",),
    4: (GENERATION_DDL,),
    5: FACET_DDL,
    6: (PRODUCER_EDGE_DDL_V6, PRODUCER_EDGE_BACKFILL),
    7: EDGE_KEYS_STEP,
}

_ATTEMPTS = 5


def read_version(conn: Any) -> int | None:
    """The database's schema version, or None if it has no Consist tables yet."""
    try:
        row = conn.execute("SELECT max(version) FROM consist_schema").fetchone()
    except duckdb.CatalogException:
        return None
    if row is None or row[0] is None:
        return None
    return int(row[0])


def refuse_newer(found: int, db_path: str) -> StoreError:
    return StoreError(
        f"Database {db_path} has schema version {found}; this Consist supports up to "
        f"{SCHEMA_VERSION}.",
        fix="Upgrade consist, or point db_path at another file.",
        path=db_path,
        found_version=found,
        supported_version=SCHEMA_VERSION,
    )


def ensure_schema(conn: Any, db_path: str) -> None:
    """Bring a read-write connection's database to SCHEMA_VERSION, or refuse it."""
    found = read_version(conn)
    if found == SCHEMA_VERSION:
        return
    if found is not None and found > SCHEMA_VERSION:
        raise refuse_newer(found, db_path)
    for attempt in range(_ATTEMPTS):
        try:
            _upgrade(conn, db_path)
            return
        except duckdb.TransactionException:
            # Another connection of this process upgraded at the same moment; re-check.
            if attempt == _ATTEMPTS - 1:
                raise


def _upgrade(conn: Any, db_path: str) -> None:
    conn.execute("BEGIN TRANSACTION")
    try:
        # Re-read under the transaction: someone may have upgraded since the first look.
        conn.execute("CREATE TABLE IF NOT EXISTS consist_schema (version INTEGER)")
        row = conn.execute("SELECT max(version) FROM consist_schema").fetchone()
        found = row[0] if row else None
        if found is None and _has_table(conn, "runs"):
            found = 1  # created by version 1, which wrote its version row last
        if found is None:
            for statement in DDL:
                conn.execute(statement)
            applied = [SCHEMA_VERSION]
        elif found > SCHEMA_VERSION:
            raise refuse_newer(found, db_path)
        else:
            applied = list(range(found + 1, SCHEMA_VERSION + 1))
            for version in applied:
                for statement in STEPS[version]:
                    conn.execute(statement)
        for version in applied:
            conn.execute("INSERT INTO consist_schema VALUES (?)", [version])
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except duckdb.Error:
            pass  # a failed COMMIT already ended the transaction
        raise


def _has_table(conn: Any, name: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
        [name],
    ).fetchone()
    return bool(row and row[0])
