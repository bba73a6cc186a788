"""Reuse or run? A signature and a cache mode become a CacheLookup.

Pure: the lookup only reads the index (one memo access or one file read, plus one
``stat`` per cached output for lazy validation). When a hit's output is missing it
answers DEMOTED and leaves it to the caller to ``forget`` the index entry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from consist.cache.index import CompletedIndex
from consist.model.artifact import Artifact
from consist.model.decision import CacheOutcome
from consist.model.run import ConsistRecord
from consist.options import CacheMode


@dataclass(frozen=True, slots=True)
class CacheLookup:
    """What the index says of a signature.

    ``record`` is the completed run to reuse (HIT) or the one whose output ``missing``
    is gone (DEMOTED); both are None on MISS and OVERWRITE.
    """

    outcome: CacheOutcome
    record: ConsistRecord | None = None
    missing: Artifact | None = None

    @property
    def hit(self) -> ConsistRecord | None:
        """The run to reuse, or None."""
        return self.record if self.outcome is CacheOutcome.HIT else None


def lookup_cache(completed: CompletedIndex, signature: str, mode: CacheMode) -> CacheLookup:
    if mode is CacheMode.OVERWRITE:
        return CacheLookup(CacheOutcome.OVERWRITE)
    record = completed.lookup(signature)
    if record is None:
        return CacheLookup(CacheOutcome.MISS)
    # Lazy validation: a hit is only as good as its files. One stat per output.
    for artifact in record.outputs:
        if not os.path.exists(artifact.abs_path or artifact.uri):
            return CacheLookup(CacheOutcome.DEMOTED, record, artifact)
    return CacheLookup(CacheOutcome.HIT, record)
