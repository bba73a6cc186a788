"""DDL of the DuckDB metadata store at the current schema version.

A new database is created from this DDL; an older one is upgraded by the ordered
steps in migrate.py, which also owns the version check. The column lists and
SCHEMA_VERSION are shared with the PostgreSQL store (store/sql_tables.py).

Timestamps are stored as TIMESTAMP in UTC (TIMESTAMPTZ would make DuckDB import pytz
on read). ``meta`` and ``config`` are JSON so they can be queried with ``->>``.
Secondary indexes are deliberately absent: DuckDB's zone-map scans answer the
lookups we make in milliseconds at 100k runs, and ART indexes slow every upsert.
"""

from __future__ import annotations

from consist.store.duckdb.facets import FACET_DDL
from consist.store.edges import EDGE_COLUMNS, backfill_keys_sql
from consist.store.sql_tables import ARTIFACT_COLUMNS, LINK_COLUMNS, RUN_COLUMNS

# Snapshot generations (run_dir marker ids) the database was built from (schema
# version 4); see persist/heal.py for how they decide a rebuild.
GENERATION_DDL = (
    "CREATE TABLE IF NOT EXISTS consist_generation "
    "(generation VARCHAR PRIMARY KEY, recorded_at TIMESTAMP)"
)


# Upstream lineage edges (schema version 6): run_id read an artifact that run
# producer_run_id produced. Written with each record (write.py), so an upstream walk
# joins this narrow table only, instead of run_artifacts and artifacts (read_links.py).
# The table as version 6 created it (its upgrade step must not change).
PRODUCER_EDGE_DDL_V6 = (
    "CREATE TABLE IF NOT EXISTS producer_edges "
    "(run_id VARCHAR, producer_run_id VARCHAR, PRIMARY KEY (run_id, producer_run_id))"
)
# Existing links, for a database upgraded to version 6: inputs another run produced.
PRODUCER_EDGE_BACKFILL = (
    "INSERT INTO producer_edges (run_id, producer_run_id) "
    "SELECT DISTINCT l.run_id, a.run_id FROM run_artifacts l "
    "JOIN artifacts a ON a.id = l.artifact_id WHERE l.direction = 'input' "
    "AND a.producer_signature IS NOT NULL AND a.run_id IS NOT NULL AND a.run_id <> l.run_id"
)
# Version 7: integer walk keys of both runs (store/edges.py), filled on upgrade.
EDGE_KEYS_STEP = (
    "ALTER TABLE producer_edges ADD COLUMN IF NOT EXISTS run_key BIGINT",
    "ALTER TABLE producer_edges ADD COLUMN IF NOT EXISTS producer_key BIGINT",
    backfill_keys_sql("duckdb"),
)


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
    GENERATION_DDL,
    *FACET_DDL,  # schema version 5: config_facets, global_tables.run_config_kv
    _table("producer_edges", EDGE_COLUMNS, "run_id, producer_run_id"),  # versions 6, 7
)
