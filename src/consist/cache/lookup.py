"""Reuse or run? A signature and a cache mode become a CacheDecision."""

from __future__ import annotations

import os
from dataclasses import dataclass

from consist.cache.index import CompletedIndex
from consist.model.run import ConsistRecord
from consist.options import CacheMode


@dataclass(frozen=True, slots=True)
class CacheDecision:
    """``hit`` is the completed run to reuse, or None; ``reason`` says why not."""

    hit: ConsistRecord | None
    reason: str


def lookup_cache(completed: CompletedIndex, signature: str, mode: CacheMode) -> CacheDecision:
    if mode is CacheMode.OVERWRITE:
        return CacheDecision(None, "cache_mode='overwrite'")
    record = completed.lookup(signature)
    if record is None:
        return CacheDecision(None, "no completed run with this signature")
    # Lazy validation: a hit is only as good as its files. One stat per output.
    for artifact in record.outputs:
        if not os.path.exists(artifact.abs_path or artifact.uri):
            completed.forget(signature)
            return CacheDecision(
                None, f"cached output {artifact.key!r} is missing at {artifact.path}"
            )
    return CacheDecision(record, "hit")
