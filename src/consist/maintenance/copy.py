"""Copy a metadata store into another: DuckDB -> PostgreSQL and back (``consist db copy``).

``copy_store(src, dest)`` reads every run of ``src`` (with its config, inputs,
outputs and indexed config facets, of the run and of its artifacts) and upserts them
into ``dest`` in batches, then verifies by counts: every copied run is in ``dest``
with as many input and output links, and as many ``run_config_kv`` value rows, as in
``src``. An artifact's unindexed facet is found through the id in its meta; a run's
unindexed facet is not copied: no store row links it to its run (the run's JSON
snapshot holds it; ``consist db rebuild`` restores it from there). Rows
already in ``dest`` are replaced by ``src``'s (the same run id is the same run), other
rows of ``dest`` are kept. ``src`` is opened read-only and never written.

``src`` and ``dest`` are ``db_path`` values: a DuckDB file or a PostgreSQL URL.
Artifact paths are stored as run_dir-relative URIs, so nothing depends on where the
copy is made.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord
from consist.services import open_store
from consist.settings import TrackerConfig, postgres_url
from consist.store.base import RunQuery
from consist.store.facets import ConfigKVQuery, FacetQuery

_BATCH = 500


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied, as counted in both stores."""

    runs: int
    artifact_links: int
    dest_runs: int
    facets: int = 0  # config facets copied (of runs and of artifacts)
    config_kv: int = 0  # run_config_kv value rows copied (and found in dest)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def copy_store(
    src: str | Path, dest: str | Path, *, run_dir: str | Path | None = None
) -> CopyReport:
    """Copy every run of the store ``src`` into the store ``dest``; verify by counts.

    ``run_dir`` is the run directory the stores belong to (artifact paths resolve
    under it while reading); it is only read. ``None``: a scratch directory.

    Raises StoreError (naming the store) if ``dest`` does not hold what was copied.

    Examples
    --------
    >>> copy_store("provenance.duckdb", "postgresql://me@db-host/consist")  # doctest: +SKIP
    CopyReport(runs=1200, artifact_links=4800, dest_runs=1200, facets=3, config_kv=3600)
    """
    if postgres_url(src) is None and not os.path.isfile(src):
        raise StoreError(
            f"There is no store to copy at {os.fspath(src)!r}: no such DuckDB file.",
            fix="Pass the DuckDB file your Tracker's db_path names, or a postgresql:// URL.",
            parameter="src",
            value=os.fspath(src),
        )
    with tempfile.TemporaryDirectory(prefix="consist-copy-") as scratch:
        layout = RunLayout(scratch)
        layout.ensure()  # the writer's scratch files; the real run_dir is never written
        source = _open(src, layout if run_dir is None else RunLayout(run_dir), read="read")
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
                _add_unindexed_artifact_facets(source, record)
                records.append(record)
        kv_rows = _kv_counts(source, records)
    links = sum(len(r.inputs) + len(r.outputs) for r in records)
    facets = {f.id for r in records for f in (r.facet, *r.artifact_facets.values()) if f}
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
        copied_kv = _kv_counts(target, records)
    # dest may hold more rows of a run (namespaces written there), never fewer.
    lost = sorted(run for run in kv_rows if copied_kv[run] < kv_rows[run])
    if lost:
        raise StoreError(
            f"The copy into {dest!r} lacks config facet rows of {len(lost)} run(s), "
            f"e.g. {lost[0]!r}.",
            fix="Check that nothing else deletes from the destination, then copy again.",
        )
    return CopyReport(
        runs=len(records),
        artifact_links=links,
        dest_runs=dest_runs,
        facets=len(facets),
        config_kv=sum(kv_rows.values()),
    )


def _add_unindexed_artifact_facets(source: Any, record: ConsistRecord) -> None:
    """An artifact's facet has no value rows when unindexed, but its id is in the
    artifact's meta: read it from ``config_facets`` so the copy keeps it."""
    for artifact in record.outputs:
        facet_id = artifact.meta.get("facet_id")
        if artifact.run_id != record.run.id or not isinstance(facet_id, str):
            continue
        if artifact.id not in record.artifact_facets:
            found = source.query_facets(FacetQuery(facet_id=facet_id, limit=1))
            if found:
                record.artifact_facets[artifact.id] = found[0]


def _kv_counts(store: Any, records: list[ConsistRecord]) -> Counter[str]:
    """run_config_kv rows of each record's facet, counted in ``store``."""
    facet_of = {r.run.id: r.facet.id for r in records if r.facet is not None}
    run_ids = sorted(facet_of)
    counts: Counter[str] = Counter()
    for start in range(0, len(run_ids), _BATCH):
        query = ConfigKVQuery(run_ids=tuple(run_ids[start : start + _BATCH]), limit=None)
        rows = store.query_config_kv(query)
        counts.update(row.run_id for row in rows if row.facet_id == facet_of[row.run_id])
    return counts
