"""Copy a metadata store into another: DuckDB -> PostgreSQL and back (``consist db copy``).

``copy_store(src, dest)`` reads every run of ``src`` (with its config, inputs and
outputs) and upserts them into ``dest`` in batches, then verifies by counts: every
copied run is in ``dest`` with as many input and output links as in ``src``. Rows
already in ``dest`` are replaced by ``src``'s (the same run id is the same run), other
rows of ``dest`` are kept. ``src`` is opened read-only and never written.

``src`` and ``dest`` are ``db_path`` values: a DuckDB file or a PostgreSQL URL.
Artifact paths are stored as run_dir-relative URIs, so nothing depends on where the
copy is made.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord
from consist.services import open_store
from consist.settings import TrackerConfig
from consist.store.base import RunQuery

_BATCH = 500


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied, as counted in both stores."""

    runs: int
    artifact_links: int
    dest_runs: int


def copy_store(src: str | Path, dest: str | Path) -> CopyReport:
    """Copy every run of the store ``src`` into the store ``dest``; verify by counts.

    Raises StoreError (naming the store) if ``dest`` does not hold what was copied.

    Examples
    --------
    >>> copy_store("provenance.duckdb", "postgresql://me@db-host/consist")  # doctest: +SKIP
    CopyReport(runs=1200, artifact_links=4800, dest_runs=1200)
    """
    with tempfile.TemporaryDirectory(prefix="consist-copy-") as scratch:
        layout = RunLayout(scratch)
        layout.ensure()
        source = _open(src, layout, read="read")
        target = _open(dest, layout, read="write")
        try:
            return _copy(source, target, str(dest))
        finally:
            source.close()
            target.close()


def _open(db_path: str | Path, layout: RunLayout, *, read: str) -> Any:
    settings = TrackerConfig(run_dir=layout.run_dir, db_path=db_path, access_mode=read)
    store = open_store(settings, layout)
    if not hasattr(store, "get_record"):
        raise StoreError(f"{os.fspath(db_path)!r} is not a SQL store Consist can copy.")
    return store


def _copy(source: Any, target: Any, dest: str) -> CopyReport:
    with source.read_session():
        runs = source.query_runs(RunQuery(limit=None))
        records: list[ConsistRecord] = []
        for run in runs:
            record = source.get_record(run.id)
            if record is not None:
                records.append(record)
    links = sum(len(r.inputs) + len(r.outputs) for r in records)
    with target.session():
        for start in range(0, len(records), _BATCH):
            target.record_runs(records[start : start + _BATCH])
    with target.read_session():
        for record in records:
            inputs, outputs = target.get_run_artifacts(record.run.id)
            stored = target.get_run(record.run.id)
            if stored is None or (len(inputs), len(outputs)) != (
                len(record.inputs),
                len(record.outputs),
            ):
                raise StoreError(
                    f"The copy into {dest!r} does not hold run {record.run.id!r} as copied.",
                    fix="Check that nothing else deletes from the destination, then copy again.",
                )
        dest_runs = target.count_runs()
    return CopyReport(runs=len(records), artifact_links=links, dest_runs=dest_runs)
