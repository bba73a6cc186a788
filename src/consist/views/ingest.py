"""Ingestion: rows of an artifact into ``global_tables.<table>`` of the DuckDB store, via dlt.

Contract:

* every row gets the provenance columns of ``hybrid.PROVENANCE_COLUMNS`` (typed even
  when null), so hot rows and cold files line up in a view;
* dlt infers and evolves the table: a column that a later run adds is added to the
  table (``ALTER TABLE ... ADD COLUMN``), older rows read it as NULL; names are kept
  as written (dlt's "direct" naming), so hot columns match the cold files' columns;
* the DuckDB file is held only for the load: dlt extracts and normalises into a
  private working directory (``run_dir/.consist/ingest/<host>-<pid>-<random>``,
  removed afterwards) without the store, then loads inside ONE Consist write session
  (connect.py: the exclusive gate, then the file), handing dlt that session's
  connection. So ingestion takes turns with every other Consist writer and reader
  exactly like a journal sync, and a stream that takes minutes to extract never
  holds the file meanwhile;
* data streams in batches (``batch_rows``), so memory stays bounded: dlt writes each
  batch to its load files before the next is read; a progress bar is drawn when
  stderr is a terminal;
* ``data=None`` ingests the artifact's own file (parquet, csv, json): DuckDB appends
  its rows with the provenance columns by one INSERT, and dlt runs only to create or
  evolve the table (views/fileload.py);
* a failed load leaves no partial package behind to be replayed by a later ingestion
  (the working directory is removed), and raises ViewError with dlt's reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from consist._libs.dlt import import_dlt, model_columns
from consist._libs.pandas import is_pandas_object
from consist._libs.progress import row_progress
from consist._libs.pyarrow import import_pyarrow
from consist.errors import ConfigError, ViewError
from consist.views.fileload import IngestResult, file_job, ingest_file
from consist.views.hybrid import PROVENANCE_COLUMNS, Provenance

DEFAULT_BATCH_ROWS = 100_000
_DLT_TYPES = {"VARCHAR": "text", "INTEGER": "bigint"}


class HotStore(Protocol):
    """The DuckDB file's sessions, as the data layer uses them (see DuckDBStore)."""

    db_path: str

    def write_connection(self) -> AbstractContextManager[Any]: ...

    def read_connection(self) -> AbstractContextManager[Any | None]: ...


@dataclass(frozen=True, slots=True)
class IngestJob:
    """What to load where: a table of global_tables, the rows and their provenance."""

    table: str
    provenance: Provenance
    data: Any = None
    source_path: str | None = None
    driver: str | None = None
    model: Any = None
    batch_rows: int = DEFAULT_BATCH_ROWS


def ingest(
    hot: HotStore,
    workdir: str,
    job: IngestJob,
    after_load: Callable[[Any], None] | None = None,
) -> IngestResult:
    """Load ``job`` into ``global_tables.<job.table>``; return an IngestResult.

    ``after_load(conn)`` runs in the same write session once the rows are in (the
    ingested-schema profile is recorded there).
    """
    try:
        if job.data is None:
            checked = file_job(job.table, job.source_path, job.driver, job.provenance)
            return ingest_file(hot, workdir, checked, after_load)
        return _ingest_with_dlt(hot, workdir, job, after_load)
    except (ConfigError, ViewError):
        raise
    except Exception as exc:
        if type(exc).__module__.startswith("consist"):
            raise
        raise ViewError(
            f"Ingesting into global_tables.{job.table} failed; nothing of this call was kept "
            "pending.",
            cause=f"{type(exc).__name__}: {exc}",
            fix="Check the rows against the table's columns (a column cannot change type "
            "between runs), then ingest again.",
            table=job.table,
        ) from exc


def _ingest_with_dlt(
    hot: HotStore, workdir: str, job: IngestJob, after_load: Callable[[Any], None] | None
) -> IngestResult:
    dlt = import_dlt()
    os.makedirs(workdir, exist_ok=True)
    private = tempfile.mkdtemp(prefix=f"{socket.gethostname()}-{os.getpid()}-", dir=workdir)
    try:
        pipeline = dlt.pipeline(
            pipeline_name="consist_ingest",
            pipelines_dir=private,
            dataset_name="global_tables",
            destination=dlt.destinations.duckdb(hot.db_path),  # replaced at load time
        )
        schema = dlt.Schema("consist")
        # "direct" naming keeps column names as written: hot columns must match the
        # files' columns, which the cold side of a view reads as they are.
        schema._normalizers_config["names"] = "direct"
        schema.update_normalizers()
        counted = [0]
        with row_progress(f"ingest {job.table}") as advance:

            def count(rows: int) -> None:
                counted[0] += rows
                advance(rows)

            resource = _resource(dlt, job, count)
            pipeline.extract(resource, schema=schema)
        pipeline.normalize()
        with hot.write_connection() as conn:
            info = pipeline.load(destination=dlt.destinations.duckdb(conn))
            if after_load is not None:
                after_load(conn)
        return IngestResult(job.table, counted[0], info)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def provenance_hints() -> dict[str, Any]:
    return {
        name: {"name": name, "data_type": _DLT_TYPES[kind], "nullable": True}
        for name, kind in PROVENANCE_COLUMNS.items()
    }


def _resource(dlt: Any, job: IngestJob, advance: Callable[[int], None]) -> Any:
    hints = provenance_hints()
    if _is_arrow(job.data) or is_pandas_object(job.data):
        items: Iterator[Any] = _arrow_batches(job, advance)
    elif isinstance(job.data, Iterable) and not isinstance(job.data, (str, bytes, dict)):
        items = _dict_rows(job, advance)
        if job.model is not None:
            hints = {**model_columns(job.model), **hints}
    else:
        raise ConfigError(
            f"data of type {type(job.data).__name__} cannot be ingested.",
            fix="Pass a pandas DataFrame, a pyarrow Table / RecordBatch(Reader), an "
            "iterable of dicts, or data=None to ingest the artifact's file.",
            parameter="data",
        )
    return dlt.resource(items, name=job.table, write_disposition="append", columns=hints)


def _is_arrow(data: Any) -> bool:
    return type(data).__module__.startswith("pyarrow") and type(data).__name__ in (
        "Table",
        "RecordBatch",
        "RecordBatchReader",
    )


def _arrow_batches(job: IngestJob, advance: Callable[[int], None]) -> Iterator[Any]:
    pa = import_pyarrow()
    data = job.data
    if is_pandas_object(data):
        data = pa.Table.from_pandas(data, preserve_index=False)
    batches = data.to_batches(job.batch_rows) if not hasattr(data, "read_next_batch") else data
    if type(data).__name__ == "RecordBatch":
        batches = [data]
    for batch in batches:
        for start in range(0, batch.num_rows, job.batch_rows):
            part = batch.slice(start, job.batch_rows)
            table = pa.Table.from_batches([part])
            for (name, kind), value in zip(
                PROVENANCE_COLUMNS.items(), job.provenance.values(), strict=True
            ):
                table = table.append_column(name, _constant(pa, value, kind, part.num_rows))
            advance(part.num_rows)
            yield table


def _constant(pa: Any, value: object, kind: str, rows: int) -> Any:
    arrow_type = pa.string() if kind == "VARCHAR" else pa.int32()
    if value is None:
        return pa.nulls(rows, arrow_type)
    # A dictionary of one value: no per-row Python work, and parquet stores it once.
    indices = pa.nulls(rows, pa.int32()).fill_null(0)
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], arrow_type))


def _dict_rows(job: IngestJob, advance: Callable[[int], None]) -> Iterator[dict[str, Any]]:
    stamp = dict(zip(PROVENANCE_COLUMNS, job.provenance.values(), strict=True))
    pending = 0
    for row in job.data:
        if not isinstance(row, dict):
            raise ConfigError(
                f"data rows must be dicts; got a {type(row).__name__}.",
                fix="Yield one dict per row, or pass a DataFrame / pyarrow Table.",
                parameter="data",
            )
        yield {**row, **stamp}
        pending += 1
        if pending == job.batch_rows:
            advance(pending)
            pending = 0
    advance(pending)
