"""The shared body of ``run_with_config_overrides`` for adapters that materialise configs.

What an override run does, in order:

1. The base configuration is the config bundle of ``base_run_id`` (its ``config_role ==
   "bundle"`` artifact, see ``get_config_bundle``) or the ordered ``base_config_dirs``.
2. The resolved base is copied into ``<output_dir>/resolved_config`` (a directory this
   call owns and replaces) and the adapter applies the overrides to that copy; the base
   directories are never written.
3. Identity: the user's ``config`` plus ``{"config_overrides": overrides.to_config()}``
   (so a miss names the file and key that changed), the user's ``identity_inputs``, and
   with ``resolved_config_identity="auto"`` one more hash-only input named
   ``identity_label`` whose digest is the resolved configuration's canonical identity.
   ``"off"`` leaves that input out. With ``base_run_id`` the base bundle is also an input
   (``base_config_bundle``), so the new run's lineage names its base run.
4. The resolved configuration is applied to the run as with ``run(adapter=...)`` (files,
   bundle and slices logged), so an override run can be the base of the next one.
5. ``run.meta["resolved_config_identity"] = {mode, adapter, label, path, digest}`` and
   ``run.meta["config_override"] = {base_run_id, base_config_dirs}``.

``fn`` receives ``resolved_config_dir`` (a Path) when it has a parameter of that name,
and ``override_runtime_kwargs`` as runtime keyword arguments (never part of identity).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from consist.adapters.base import ConfigAdapter
from consist.adapters.plan import config_dir_list, prepare_config
from consist.errors import ConfigError, invalid_option
from consist.fs.atomic import read_bytes_or_none
from consist.identity.canonical import canonicalize
from consist.identity.inputs import DigestRef, iter_named_refs
from consist.options import ExecutionOptions
from consist.request import build

RESOLVED_DIR = "resolved_config"


def copy_resolved(
    adapter: ConfigAdapter, base_dirs: Sequence[Path], dest: Path, *, strict: bool
) -> None:
    """Write the resolved configuration of ``base_dirs`` (first wins) into ``dest``."""
    import json

    plan = prepare_config(adapter, base_dirs, strict=strict, with_tables=False)
    for item in plan.files:
        target = dest / item.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(item.paths) == 1:
            data = read_bytes_or_none(item.paths[0])
            if data is None:
                raise ConfigError(
                    f"The base config file {item.paths[0]} vanished while it was copied.",
                    fix="Do not change the base configuration during an override run.",
                    parameter="base_config_dirs",
                )
        else:  # merged layers (inherit_settings): the merged document; YAML reads JSON
            document = canonicalize(plan.documents[item.rel])
            data = json.dumps(document, indent=2, ensure_ascii=False).encode()
        target.write_bytes(data)
    dest.mkdir(parents=True, exist_ok=True)


def run_with_overrides(
    tracker: Any,
    adapter: Any,
    *,
    base_run_id: str | None,
    base_config_dirs: Sequence[str | os.PathLike[str]] | None,
    base_primary_config: str | os.PathLike[str] | None,
    overrides: Any,
    output_dir: str | os.PathLike[str],
    fn: Any,
    name: str,
    model: str | None,
    config: Mapping[str, Any] | None,
    outputs: list[str] | None,
    execution_options: ExecutionOptions | None,
    strict: bool,
    identity_inputs: Any,
    resolved_config_identity: str,
    identity_label: str,
    override_runtime_kwargs: Mapping[str, Any] | None,
    **run_kwargs: Any,
) -> Any:
    """See the module rules; ``tracker`` has already checked the base selectors."""
    if resolved_config_identity not in ("auto", "off"):
        raise invalid_option("resolved_config_identity", resolved_config_identity, ["auto", "off"])
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError(
            f"config must be a mapping for an override run, got {type(config).__name__}.",
            fix="Pass config={'key': value, ...}.",
            parameter="config",
        )
    base_inputs: dict[str, Any] = {}
    if base_run_id is not None:
        bundle = tracker.get_config_bundle_artifact(base_run_id, adapter=adapter)
        base_dirs = [Path(bundle.path)]
        base_inputs["base_config_bundle"] = bundle
    else:
        base_dirs = config_dir_list(base_config_dirs)
    dest = Path(os.path.abspath(os.fspath(output_dir))) / RESOLVED_DIR
    if dest.exists():
        shutil.rmtree(dest)  # ours: a previous override run's copy
    adapter.materialize(
        base_dirs, dest, overrides, strict=strict, primary_config=base_primary_config
    )
    resolved = adapter.with_root_dirs([dest])
    plan = prepare_config(resolved, [dest], strict=strict)
    refs: list[tuple[str, Any]] = list(iter_named_refs(identity_inputs, "identity_inputs"))
    if resolved_config_identity == "auto":
        refs.append((identity_label, DigestRef(plan.identity, os.fspath(dest))))
    runtime = dict((execution_options.runtime_kwargs if execution_options else None) or {})
    runtime.update(override_runtime_kwargs or {})
    if fn is not None and "resolved_config_dir" in _parameters(fn):
        runtime.setdefault("resolved_config_dir", dest)
    options = dataclasses.replace(
        execution_options or ExecutionOptions(), runtime_kwargs=runtime or None
    )
    user_inputs = run_kwargs.pop("inputs", None)
    inputs: Any = base_inputs or user_inputs
    if base_inputs and user_inputs is not None:
        inputs = [*iter_named_refs(user_inputs, "inputs"), *base_inputs.items()]
    call = {
        **run_kwargs,
        "fn": fn,
        "name": name,
        "model": model,
        "config": {**(config or {}), "config_overrides": overrides.to_config()},
        "outputs": outputs,
        "inputs": inputs,
        "identity_inputs": refs,
        "execution_options": options,
    }
    request = build.request_from_run(call)
    meta = {
        **request.meta,
        "config_adapter": plan.adapter_name,
        "config_identity": plan.identity,
        "resolved_config_identity": {
            "mode": resolved_config_identity,
            "adapter": plan.adapter_name,
            "label": identity_label,
            "path": os.fspath(dest),
            "digest": plan.identity,
        },
        "config_override": {
            "base_run_id": base_run_id,
            "base_config_dirs": [os.fspath(d) for d in base_dirs] if base_run_id is None else None,
        },
    }
    request = dataclasses.replace(request, config_plan=plan, meta=meta)
    return tracker._run_request(request)


def _parameters(fn: Any) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()
