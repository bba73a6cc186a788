"""Applying a ConfigPlan to a run: identity parts, the config bundle, artifacts and slices.

Rules:

* Identity: every logical config file is one hash-only identity input named
  ``<label>:<rel>`` whose contribution is the file's canonical digest
  (:func:`plan_identity_refs`). A miss therefore names the config file that changed
  (``identity_inputs changed (changed: activitysim:trip_mode_choice.csv)``), and the
  file's path is not part of the identity.
* The bundle is the resolved configuration written once per plan identity under
  ``<run_dir>/config_bundles/<adapter>/<identity[:32]>/``: each logical file is copied
  from its winning directory, and a file merged from several layers
  (``inherit_settings``) is written as its merged document in JSON (which YAML reads).
  A bundle directory is content-addressed, so it is written at most once and shared by
  every run of that configuration; files are created with write-if-absent, and a
  ``<identity[:32]>.complete`` marker written last lets later runs skip the check.
* Slices (queryable tables) are written beside the bundle as
  ``<identity[:32]>.tables/<name>.json`` (a JSON list of row objects, plain JSON so float
  columns stay floats) and logged as artifacts with ``meta["config_role"] == "table"``:
  the portable record of the slices. With a DuckDB store the tracker then loads them into
  ``global_tables.<name>`` (tracker/_config_methods.ingest_config_slices).
* ``profile_schema``: each slice artifact also gets ``meta["schema"]`` (column -> JSON
  type names seen).
* Artifacts: each config file, the bundle and each slice are logged as inputs of the
  run with ``meta["config_role"]`` (``file`` / ``bundle`` / ``table``) and
  ``meta["config_adapter"]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from consist.adapters.base import ConfigContribution, ConfigPlan, ConfigTable
from consist.fs.atomic import read_bytes_or_none, write_bytes_if_absent
from consist.fs.contain import join_inside
from consist.identity.canonical import canonicalize
from consist.identity.inputs import DigestRef
from consist.model.artifact import Artifact

BUNDLES_DIR = "config_bundles"

#: Logs one input of the active run: (path, key, meta) -> Artifact.
LogInput = Callable[[str, str, dict[str, Any]], Artifact]


def plan_identity_refs(plan: ConfigPlan, label: str | None = None) -> list[tuple[str, DigestRef]]:
    """Hash-only identity inputs of a plan: one per logical config file."""
    prefix = label or plan.adapter_name
    return [(f"{prefix}:{item.rel}", DigestRef(item.digest, item.paths[0])) for item in plan.files]


def bundle_dir(run_dir: str, plan: ConfigPlan) -> str:
    return os.path.join(run_dir, BUNDLES_DIR, plan.adapter_name, plan.identity[:32])


def write_bundle(run_dir: str, plan: ConfigPlan) -> str:
    """The plan's resolved configuration as a directory (written once per identity)."""
    root = bundle_dir(run_dir, plan)
    marker = root + ".complete"
    if os.path.exists(marker):  # every later run of this configuration: one stat
        return root
    for item in plan.files:
        target = join_inside(root, item.rel, "config file")
        if os.path.exists(target):
            continue
        if len(item.paths) == 1:
            data = read_bytes_or_none(item.paths[0])
            if data is None:
                continue  # vanished since the plan was prepared; the artifact step reports it
        else:
            document = canonicalize(plan.documents[item.rel])
            data = json.dumps(document, indent=2, ensure_ascii=False).encode()
        write_bytes_if_absent(target, data)
    os.makedirs(root, exist_ok=True)  # an empty configuration still has a bundle
    write_bytes_if_absent(marker, plan.identity.encode())
    return root


_TABLES: dict[tuple[str, str], tuple[ConfigTable, ...]] = {}
_TABLES_KEPT = 16


def plan_tables(plan: ConfigPlan) -> tuple[ConfigTable, ...]:
    """The plan's slices: prepared with it, or derived once per identity and memoised
    (a run with ``adapter=`` prepares without them, so a cache hit does not derive them)."""
    if plan.tables or plan.adapter is None:
        return plan.tables
    key = (plan.adapter_name, plan.identity)
    tables = _TABLES.get(key)
    if tables is None:
        tables = tuple(plan.adapter.tables(plan.documents))
        if len(_TABLES) >= _TABLES_KEPT:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = tables
    return tables


def write_tables(run_dir: str, plan: ConfigPlan) -> dict[str, str]:
    """Each slice as ``<bundle>.tables/<name>.json``; returns name -> path."""
    root = bundle_dir(run_dir, plan) + ".tables"
    paths: dict[str, str] = {}
    for table in plan_tables(plan):
        target = join_inside(root, f"{table.name}.json", "table name")
        if not os.path.exists(target):
            # Not the canonical form: it would turn 0.0 into 0, and a loader would then type
            # a float column as an integer one.
            rows = json.dumps(table.to_records(), ensure_ascii=False, default=str)
            write_bytes_if_absent(target, rows.encode())
        paths[table.name] = target
    return paths


def profile_table(table: ConfigTable) -> dict[str, list[str]]:
    """Column -> sorted JSON type names seen in it (``config_plan_profile_schema``)."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    seen: dict[str, set[str]] = {column: set() for column in table.columns}
    for row in table.rows:
        for column, value in zip(table.columns, row, strict=True):
            seen[column].add(names.get(type(value), "string"))
    return {column: sorted(kinds) for column, kinds in seen.items()}


def apply_plan(
    plan: ConfigPlan,
    *,
    run_dir: str,
    log_input: LogInput,
    ingest: bool = True,
    profile_schema: bool = False,
    label: str | None = None,
) -> ConfigContribution:
    """Log the plan's files, bundle and (when ``ingest``) slices as inputs of a run."""
    name = plan.adapter_name
    prefix = label or name
    if plan.validate_only:
        return ConfigContribution(plan.identity, name, {}, (), None)
    base: dict[str, Any] = {"config_adapter": name, "config_identity": plan.identity}
    artifacts: dict[str, Artifact] = {}
    for item in plan.files:
        key = f"{prefix}:{item.rel}"
        meta: dict[str, Any] = {
            **base,
            "config_role": "file",
            "config_rel": item.rel,
            "config_kind": item.kind,
        }
        artifacts[key] = log_input(item.paths[0], key, meta)
    root = write_bundle(run_dir, plan)
    bundle_key = f"{prefix}:bundle"
    artifacts[bundle_key] = log_input(root, bundle_key, {**base, "config_role": "bundle"})
    tables: tuple[str, ...] = ()
    if ingest:
        written = write_tables(run_dir, plan)
        for table_name, path in written.items():
            key = f"{prefix}:table:{table_name}"
            meta = {**base, "config_role": "table", "table": table_name}
            if profile_schema:
                table = next(t for t in plan_tables(plan) if t.name == table_name)
                meta["schema"] = profile_table(table)
            artifacts[key] = log_input(path, key, meta)
        tables = tuple(written)
    return ConfigContribution(plan.identity, name, artifacts, tables, root)
