"""Hydration: put a cache hit's bytes where the new run wants them, or restore inputs.

Rules (``cache_hydration``; ``None``, the default, copies nothing):

* ``outputs-requested``: on a hit, each key of ``output_paths`` whose cached output exists
  is copied to that path (relative paths resolve against the working directory, as
  ``output_paths`` always do). A destination that already holds the same bytes is left
  alone. A requested key the hit does not have is a warning, not an error.
* ``outputs-all``: on a hit, every cached output is copied into the new run's artifact
  directory under its file name (``<key>__<name>`` when two outputs share a name).
* ``inputs-missing``: before code executes (a miss, or any ``trace`` body), an input
  whose file is gone is restored from a recorded copy of the same bytes; one that cannot
  be restored raises :class:`MissingInputError` naming the run that produced it.

Every copy goes through ``copy_atomic`` (temp name + rename) and is noted in the copy
index (cache/copies.py), so a later hit whose original was deleted can recover from it.
Where the hydrated copies went is returned, for ``run.meta["hydrated_outputs"]``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from consist.cache.copies import CopyIndex
from consist.errors import ConsistError, MissingInputError
from consist.fs.atomic import copy_atomic
from consist.fs.contain import join_inside
from consist.fs.layout import RunLayout
from consist.identity.code import user_stacklevel
from consist.identity.files import FileDigester
from consist.identity.inputs import ResolvedInput
from consist.model.artifact import Artifact
from consist.options import Hydration


def hydrate_outputs(
    hydration: Hydration,
    cached: Mapping[str, Artifact],
    *,
    output_paths: Mapping[str, Any] | None,
    artifact_dir: str,
    layout: RunLayout,
    copies: CopyIndex,
    digester: FileDigester,
) -> dict[str, str]:
    """Copy a hit's outputs as ``hydration`` asks; return key -> portable URI of each copy."""
    targets = hydration_targets(hydration, cached, output_paths, artifact_dir)
    copied: dict[str, str] = {}
    for key, target in targets.items():
        if copy_cached(cached[key], target, copies, digester):
            copied[key] = layout.to_uri(target)
    return copied


def hydration_targets(
    hydration: Hydration | None,
    cached: Mapping[str, Artifact],
    output_paths: Mapping[str, Any] | None,
    artifact_dir: str,
    *,
    warn: bool = True,
) -> dict[str, str]:
    """Key -> absolute path each cached output goes to under ``hydration`` (no I/O)."""
    targets: dict[str, str] = {}
    if hydration is Hydration.OUTPUTS_REQUESTED:
        for key, ref in (output_paths or {}).items():
            if key not in cached:
                if warn:
                    _warn(f"cache_hydration: the cached run has no output {key!r} to copy")
                continue
            target = ref.path if isinstance(ref, Artifact) else ref
            targets[key] = os.path.abspath(os.fspath(target))
    elif hydration is Hydration.OUTPUTS_ALL:
        names: dict[str, int] = {}
        for artifact in cached.values():
            name = os.path.basename(artifact.uri.rstrip("/")) or artifact.key
            names[name] = names.get(name, 0) + 1
        for key, artifact in cached.items():
            name = os.path.basename(artifact.uri.rstrip("/")) or key
            part = name if names[name] == 1 else f"{key}__{name}"
            targets[key] = join_inside(artifact_dir, part, "key")
    return targets


def copy_cached(artifact: Artifact, target: str, copies: CopyIndex, digester: FileDigester) -> bool:
    """Put ``artifact``'s bytes at ``target`` (a no-op when they are there); False, with a
    warning, when neither the file nor a recorded copy of it exists."""
    source = artifact.abs_path or artifact.uri
    if os.path.abspath(source) == target:
        return True
    if (
        artifact.hash
        and os.path.isfile(target)
        and _digest_or_none(digester, target) == artifact.hash
    ):
        copies.add(artifact.hash, target)
        return True  # already there: no copy
    if os.path.exists(source):
        copy_atomic(source, target)
    elif not copies.restore(artifact, target):
        _warn(
            f"cache_hydration: output {artifact.key!r} of run {artifact.run_id!r} is missing at "
            f"{source} and no recorded copy exists; nothing was copied to {target}"
        )
        return False
    copies.add(artifact.hash, target)
    return True


def backfill_inputs(resolved: Iterable[ResolvedInput], copies: CopyIndex) -> list[str]:
    """Restore every missing input from a recorded copy; return the restored paths."""
    restored = []
    for item in resolved:
        if item.role == "identity" or os.path.exists(item.abs_path):
            continue
        artifact = Artifact(id="", key=item.name, uri=item.abs_path, hash=item.digest,
                            abs_path=item.abs_path)  # fmt: skip
        if not copies.restore(artifact):
            producer = item.producer_run_id
            raise MissingInputError(
                f"cache_hydration='inputs-missing': input {item.name!r} is missing at "
                f"{item.abs_path} and no recorded copy of its bytes exists.",
                fix=(
                    f"Re-run the step that produced it (run {producer!r}) or restore the file."
                    if producer
                    else "Restore the file; no run is recorded as its producer."
                ),
                path=item.abs_path,
                run_id=producer,
            )
        restored.append(item.abs_path)
    return restored


def _digest_or_none(digester: FileDigester, path: str) -> str | None:
    try:
        return digester.digest(path, what="hydration target")
    except ConsistError:
        return None


def _warn(message: str) -> None:
    warnings.warn(message + ".", UserWarning, stacklevel=user_stacklevel())
