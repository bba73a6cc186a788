"""JSON snapshots: consist_runs/<run_id>.json and consist.json.

Shape (``schema_version`` 1)::

    {"schema_version": 1, "run": {...Run fields...}, "config": <canonical config>,
     "inputs": [{...Artifact fields...}], "outputs": [...], "identity": {...}}

plus ``"facet": {...ConfigFacet fields...}`` for a run given ``facet=`` / ``facet_from=``
and ``"artifact_facets": {artifact id: {...}}`` for artifacts logged with ``facet=``
(optional keys: readers treat a missing one as no facet).

Snapshots are the source of truth: written first, atomically (temp + rename), before
any index entry or store row, so every other record can be rebuilt from them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from consist.errors import PathEscapeError, StoreError
from consist.fs.atomic import link_atomic, read_bytes_or_none, write_bytes_atomic
from consist.fs.layout import RunLayout
from consist.model import codec
from consist.model.artifact import Artifact
from consist.model.facet import ConfigFacet
from consist.model.run import ConsistRecord, Run, RunStatus


def encode_record(record: ConsistRecord) -> bytes:
    inputs, outputs = record.inputs, record.outputs
    payload = {
        "schema_version": record.schema_version,
        "run": record.run.to_dict(),
        "config": record.config,
        "inputs": [artifact.to_dict() for artifact in inputs] if inputs else [],
        "outputs": [artifact.to_dict() for artifact in outputs] if outputs else [],
        "identity": record.identity,
    }
    # Only user-given values may hold NaN/inf (the config's canonical form tags them).
    finite = True
    if record.facet is not None:  # optional key: records without a facet keep their shape
        payload["facet"] = record.facet.to_dict()
        finite = False
    if record.artifact_facets:
        payload["artifact_facets"] = {k: f.to_dict() for k, f in record.artifact_facets.items()}
        finite = False
    if finite:
        finite = _metas_finite(record)
    return codec.encode(payload, finite=finite)  # anything JSON cannot hold is stored as text


def _metas_finite(record: ConsistRecord) -> bool:
    """Whether the run's and its artifacts' meta hold no NaN or infinity (empty: no walk)."""
    if record.run.meta and codec.has_non_finite(record.run.meta):
        return False
    for artifacts in (record.inputs, record.outputs):
        for artifact in artifacts:
            if artifact.meta and codec.has_non_finite(artifact.meta):
                return False
    return True


def decode_record(data: bytes, layout: RunLayout) -> ConsistRecord:
    payload = codec.decode(data)
    return ConsistRecord(
        run=Run.from_dict(payload["run"]),
        config=payload.get("config"),
        inputs=[_artifact(item, layout) for item in payload.get("inputs") or ()],
        outputs=[_artifact(item, layout) for item in payload.get("outputs") or ()],
        identity=payload.get("identity") or {},
        schema_version=payload.get("schema_version", 1),
        facet=ConfigFacet.from_dict(payload["facet"]) if payload.get("facet") else None,
        artifact_facets={
            k: ConfigFacet.from_dict(f) for k, f in (payload.get("artifact_facets") or {}).items()
        },
    )


def _artifact(item: dict[str, Any], layout: RunLayout) -> Artifact:
    return Artifact.from_dict(item, abs_path=layout.from_uri_or_none(item["uri"]))


def write_snapshot(
    layout: RunLayout, record: ConsistRecord, *, update_latest: bool, data: bytes | None = None
) -> str:
    """Write the run's snapshot atomically; optionally point consist.json at it.

    ``data`` is the record already encoded by :func:`encode_record`, when the caller has it.
    """
    path = layout.snapshot_path(record.run.id)
    write_bytes_atomic(path, data if data is not None else encode_record(record))
    if update_latest:
        link_atomic(path, layout.latest_snapshot)
    return path


def read_snapshot(layout: RunLayout, run_id: str) -> ConsistRecord | None:
    """Read a run's snapshot, or None if it does not exist."""
    return read_snapshot_file(layout, layout.snapshot_path(run_id))


def final_runs(layout: RunLayout, run_ids: Sequence[str]) -> dict[str, Run]:
    """The runs among ``run_ids`` whose snapshot in this run_dir holds their final record.

    A lineage walk takes these instead of fetching the runs from the store
    (store/links.RunResolver). A final snapshot is written before the store row of the
    run (or, for a journal line, materialised before the line is copied in), so it is
    the run as the store holds it. Left out, for the store to answer: runs without a
    snapshot here (indexed from another run_dir, or from another machine into a shared
    store), running records (a later journal line may supersede them), and a snapshot
    that cannot be read.
    """
    runs: dict[str, Run] = {}
    for run_id in run_ids:
        try:
            data = read_bytes_or_none(layout.snapshot_path(run_id))
        except (PathEscapeError, OSError):  # not a file name here, or unreadable
            continue
        if data is None:
            continue
        try:  # only the run: its artifacts are not needed (~2x faster than the record)
            run = Run.from_dict(codec.decode(data)["run"])
        except (ValueError, KeyError, TypeError):
            continue
        if run.status != RunStatus.RUNNING.value and run.id == run_id:
            runs[run_id] = run
    return runs


def read_snapshot_file(layout: RunLayout, path: str) -> ConsistRecord | None:
    data = read_bytes_or_none(path)
    if data is None:
        return None
    try:
        return decode_record(data, layout)
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"Snapshot {path} is not a valid Consist record.",
            cause=str(exc),
            fix="Restore the file from backup or delete it; other runs are unaffected.",
            path=path,
        ) from exc


def list_snapshot_ids(layout: RunLayout) -> list[str]:
    try:
        names = os.listdir(layout.snapshots_dir)
    except FileNotFoundError:
        return []
    return [name[:-5] for name in names if name.endswith(".json")]
