"""Comparing two recorded runs side by side: config, inputs, outputs and identity fields.

Rules (``Tracker.compare_runs``; the CLI's ``consist diff`` and the web app's diff page):

* both runs are read from their JSON snapshots (or pending journal lines), so the
  comparison needs no database and works in JSON-only mode;
* config: the run's whole ``config`` flattened to dotted keys (model/facet.py rules),
  compared like ``diff_runs`` (added = only in b, removed = only in a; a bool never
  equals a number); a config that is not a mapping compares as the single key ``""``;
* inputs / outputs: by artifact key; ``changed`` when the content digests differ,
  ``same`` when they are equal (an artifact without a digest compares by its URI);
* fields: the run fields that say what a run is (model, name, status, year,
  iteration, stage, phase, tags, signature and its components, cache_hit) that differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consist.model.artifact import Artifact
from consist.model.facet import flatten
from consist.model.run import ConsistRecord
from consist.query.config import diff_values

_FIELDS = (
    "model_name", "name", "status", "year", "iteration", "stage", "phase", "tags",
    "signature", "config_hash", "input_hash", "git_hash", "cache_hit",
)  # fmt: skip


def flat_config(config: Any) -> dict[str, Any]:
    """A run's config as ``{dotted key: leaf value}``."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(flatten(dict(config)))
    return {"": config}


def compare_records(a: ConsistRecord, b: ConsistRecord) -> dict[str, Any]:
    """The comparison of the module doc as plain data (JSON-ready but for tuples)."""
    run_a, run_b = a.run.to_dict(), b.run.to_dict()
    return {
        "run_id_a": a.run.id,
        "run_id_b": b.run.id,
        "fields": {
            name: (run_a[name], run_b[name]) for name in _FIELDS if run_a[name] != run_b[name]
        },
        "config": diff_values(flat_config(a.config), flat_config(b.config)),
        "inputs": compare_artifacts(a.inputs_by_key(), b.inputs_by_key()),
        "outputs": compare_artifacts(a.outputs_by_key(), b.outputs_by_key()),
    }


def compare_artifacts(a: Mapping[str, Artifact], b: Mapping[str, Artifact]) -> dict[str, Any]:
    """``{"added": {key: digest}, "removed": {key: digest}, "changed": {key: (a, b)},
    "same": [key, ...]}`` of two runs' artifacts by key."""
    both = sorted(a.keys() & b.keys())
    changed = {k: (_digest(a[k]), _digest(b[k])) for k in both if _digest(a[k]) != _digest(b[k])}
    return {
        "added": {k: _digest(b[k]) for k in sorted(b.keys() - a.keys())},
        "removed": {k: _digest(a[k]) for k in sorted(a.keys() - b.keys())},
        "changed": changed,
        "same": [k for k in both if k not in changed],
    }


def _digest(artifact: Artifact) -> str:
    return artifact.hash if artifact.hash is not None else artifact.uri
