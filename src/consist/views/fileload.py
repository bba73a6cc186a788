"""Ingesting an artifact's own file (``ingest(artifact)`` with ``data=None``).

The rows never pass through Python, and dlt's fixed cost per call is paid only when
the table's shape changes:

* the file is read by DuckDB (``read_parquet`` / ``read_csv`` / ``read_json_auto``),
  with the provenance columns added as constants;
* inside ONE Consist write session (the gate, then the file: docs/concurrency.md):
  when ``global_tables.<table>`` does not exist, or the file brings a column it lacks,
  dlt loads a zero-row arrow table of the file's columns into that session's
  connection, so dlt creates / evolves the table (``ALTER TABLE ADD COLUMN``) and
  records it in its schema tables as for any other ingestion; then one
  ``INSERT INTO ... BY NAME SELECT ... FROM read_<driver>(file)`` appends the rows.
  DuckDB streams the file, so memory stays bounded whatever its size;
* a column already in the table must keep its kind (integer, floating, string,
  boolean, temporal, or otherwise the exact type); an integer may go into a floating
  column. Anything else is refused with a ViewError before a row is written;
* a table that also holds rows loaded by dlt from Python data has dlt's ``NOT NULL``
  bookkeeping columns: they get this load's id and a fresh uuid per row;
* the INSERT is one statement: a failure leaves no partial rows.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consist._libs.dlt import import_dlt
from consist._libs.progress import row_progress
from consist.errors import ConfigError, ViewError
from consist.views.hybrid import COLD_READERS, provenance_select
from consist.views.names import literal, quote_identifier

_KINDS = (
    ("int", ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT")),
    ("float", ("FLOAT", "DOUBLE", "DECIMAL")),
    ("str", ("VARCHAR",)),
    ("bool", ("BOOLEAN",)),
    ("time", ("DATE", "TIME")),  # TIME..., TIMESTAMP..., any precision or zone
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ``ingest`` returns: the table, the rows appended, and dlt's ``LoadInfo``
    (None when DuckDB appended the rows to an existing table without dlt)."""

    table: str
    rows: int
    load_info: Any = None


@dataclass(frozen=True, slots=True)
class FileJob:
    table: str
    path: str
    driver: str | None
    provenance_sql: str


def file_job(table: str, path: str | None, driver: str | None, provenance: Any) -> FileJob:
    """Check the artifact's file can be ingested by DuckDB; refuse it otherwise."""
    if path is None or (driver or "") not in COLD_READERS:
        raise ConfigError(
            f"data=None ingests the artifact's file, but its driver {driver!r} is not "
            "one DuckDB reads.",
            fix=f"Pass the rows as data=..., or log a file of driver {sorted(COLD_READERS)}.",
            parameter="data",
        )
    if not os.path.exists(path):
        raise ViewError(
            f"The artifact's file {path} does not exist.",
            fix="Materialize the artifact first, or pass the rows as data=....",
            path=path,
        )
    return FileJob(table, path, driver, provenance_select(provenance))


def ingest_file(
    hot: Any, workdir: str, job: FileJob, after_load: Callable[[Any], None] | None
) -> IngestResult:
    reader = COLD_READERS[job.driver or ""].format(path=literal(job.path))
    select = f"SELECT *, {job.provenance_sql} FROM {reader}"
    import duckdb

    probe = duckdb.connect()  # in memory: the store's file is not held while sniffing
    try:
        source = {row[0]: row[1] for row in probe.execute(f"DESCRIBE {select}").fetchall()}
        empty = probe.sql(f"{select} LIMIT 0").to_arrow_table()
    finally:
        probe.close()
    target = f"global_tables.{quote_identifier(job.table)}"
    with row_progress(f"ingest {job.table}") as advance, hot.write_connection() as conn:
        existing = _table_columns(conn, job.table)
        info = None
        if existing is None or set(source) - set(existing):
            info = _evolve_with_dlt(conn, workdir, job.table, empty)
            existing = _table_columns(conn, job.table) or {}
        _check_kinds(job.table, source, existing)
        extra = ""
        if "_dlt_load_id" in existing and "_dlt_load_id" not in source:
            extra += f", {literal(repr(time.time()))} AS _dlt_load_id"
        if "_dlt_id" in existing and "_dlt_id" not in source:
            extra += ", CAST(uuid() AS VARCHAR) AS _dlt_id"
        row = conn.execute(f"INSERT INTO {target} BY NAME SELECT *{extra} FROM ({select})")
        rows = int((row.fetchone() or (0,))[0])
        advance(rows)
        if after_load is not None:
            after_load(conn)
    return IngestResult(job.table, rows, info)


def _table_columns(conn: Any, table: str) -> dict[str, str] | None:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'global_tables' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {name: kind for name, kind in rows} or None


def _evolve_with_dlt(conn: Any, workdir: str, table: str, empty: Any) -> Any:
    """dlt creates the table / adds the new columns from a zero-row table of the file's
    columns, loaded into this session's connection."""
    dlt = import_dlt()
    os.makedirs(workdir, exist_ok=True)
    private = tempfile.mkdtemp(prefix=f"{socket.gethostname()}-{os.getpid()}-", dir=workdir)
    try:
        pipeline = dlt.pipeline(
            pipeline_name="consist_ingest",
            pipelines_dir=private,
            dataset_name="global_tables",
            destination=dlt.destinations.duckdb(conn),
        )
        schema = dlt.Schema("consist")
        schema._normalizers_config["names"] = "direct"  # names as written (see ingest.py)
        schema.update_normalizers()
        return pipeline.run(empty, table_name=table, write_disposition="append", schema=schema)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _kind(sql_type: str) -> str:
    base = sql_type.upper().split("(")[0].strip()
    for kind, names in _KINDS:
        if any(base == name or base.startswith(name + " ") for name in names):
            return kind
    return "time" if base.startswith("TIME") else base


def _check_kinds(table: str, source: dict[str, str], existing: dict[str, str]) -> None:
    for column, kind in source.items():
        have = existing.get(column)
        if have is None:
            continue
        new, old = _kind(kind), _kind(have)
        if new != old and not (new == "int" and old == "float"):
            raise ViewError(
                f"Column {column!r} of global_tables.{table} is {have}, but the file has "
                f"it as {kind}; nothing was ingested.",
                cause="A column cannot change type between runs.",
                fix="Cast the column in the file to the table's type, or ingest into "
                "another table (schema=... with another __tablename__).",
                table=table,
                column=column,
            )
