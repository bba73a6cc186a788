"""A cache hit seen from inside the run: what ``cached_artifacts`` / ``cached_output`` return.

The reused run's outputs are handed out under the *in-run cache options*
(request/cache_scope.py): the run's own ``validate_cached_outputs`` / ``cache_hydration``,
or the defaults while a helper has called ``suspend_cache_options()``, until
``restore_cache_options()`` brings the caller's back. They are applied every time an
output is asked for, since the files may have changed since the run began.

Rules, per cached output (validation first, then hydration):

* ``validate_cached_outputs``: ``lazy``, the file must exist (a missing one is restored
  from a recorded copy of its bytes, as a hit's lookup does); ``strict``, its bytes must
  still have the recorded digest (through the digest memo: an unchanged file costs a
  ``stat``); ``none``, nothing is checked. An output that fails is left out, with a
  warning naming it and why, so ``cached_output(key)`` answers None ("not cached"); a
  changed file is never overwritten.
* ``cache_hydration``: ``outputs-all``, its bytes are put in the run's artifact
  directory (copied now when begin did not, or when that copy is gone); ``outputs-requested``,
  the same for the keys of ``output_paths``; ``inputs-missing`` / None, nothing is copied.
  A hydrated output is returned as a copy of its Artifact whose ``path`` is the hydrated
  file; id, uri, hash and producer stay the recorded ones, so passing it on as an input
  chains to the producing run exactly as the original would. An output not hydrated is
  returned as the recorded Artifact itself.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from consist.cache.copies import CopyIndex
from consist.cache.hydrate import copy_cached, hydration_targets
from consist.cache.validate import validate_outputs
from consist.identity.code import user_stacklevel
from consist.identity.files import FileDigester
from consist.model.artifact import Artifact
from consist.model.decision import DemotionReason
from consist.request.cache_scope import ActiveRunCacheOptions

_WHY = {DemotionReason.MISSING: "its file is gone", DemotionReason.CHANGED: "its bytes changed"}


def cached_outputs(
    cached: Iterable[Artifact],
    options: ActiveRunCacheOptions,
    *,
    keys: Collection[str] | None = None,
    output_paths: Mapping[str, Any] | None,
    artifact_dir: str,
    copies: CopyIndex,
    digester: FileDigester,
) -> dict[str, Artifact]:
    """The cached outputs (only ``keys``, when given) that pass ``options``, hydrated as
    they ask, by key."""
    by_key = {artifact.key: artifact for artifact in cached}
    targets = hydration_targets(
        options.cache_hydration, by_key, output_paths, artifact_dir, warn=False
    )
    mode = options.validate_cached_outputs
    found: dict[str, Artifact] = {}
    for key, artifact in by_key.items():
        if keys is not None and key not in keys:
            continue
        failed = validate_outputs([artifact], mode, digester=digester, recover=copies.restore)
        if failed is not None:
            warnings.warn(
                f"Cached output {key!r} of run {artifact.run_id!r} is not returned: "
                f"{_WHY[failed[1]]} (validate_cached_outputs={mode.value!r}).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            continue
        target = targets.get(key)
        if target is not None and copy_cached(artifact, target, copies, digester):
            artifact = dataclasses.replace(artifact, abs_path=target, meta=dict(artifact.meta))
        found[key] = artifact
    return found
