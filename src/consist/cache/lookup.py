"""Reuse or run? A signature and a cache mode become a CacheLookup.

Pure apart from recovery: the lookup reads the index (one memo access or one file
read), then validates the hit's outputs (cache/validate.py: one ``stat`` per output in
the default lazy mode). When an output is gone and ``recover`` cannot restore it, or its
bytes changed under strict validation, it answers DEMOTED and leaves it to the caller to
``forget`` the index entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from consist.cache.index import CompletedIndex
from consist.cache.validate import Recover, validate_outputs
from consist.identity.files import FileDigester
from consist.model.artifact import Artifact
from consist.model.decision import CacheOutcome, DemotionReason
from consist.model.run import ConsistRecord
from consist.options import CacheMode, ValidateMode


@dataclass(frozen=True, slots=True)
class CacheLookup:
    """What the index says of a signature.

    ``record`` is the completed run to reuse (HIT) or the one whose output ``missing``
    is gone or changed (DEMOTED, with ``reason``); both are None on MISS and OVERWRITE.
    """

    outcome: CacheOutcome
    record: ConsistRecord | None = None
    missing: Artifact | None = None
    reason: DemotionReason | None = None

    @property
    def hit(self) -> ConsistRecord | None:
        """The run to reuse, or None."""
        return self.record if self.outcome is CacheOutcome.HIT else None


MISS = CacheLookup(CacheOutcome.MISS)  # immutable: one object serves every miss


def lookup_cache(
    completed: CompletedIndex,
    signature: str,
    mode: CacheMode,
    validate: ValidateMode = ValidateMode.LAZY,
    *,
    digester: FileDigester | None = None,
    recover: Recover | None = None,
    memo_only: bool = False,
) -> CacheLookup:
    """``memo_only``: look at runs this process has seen only (no file read)."""
    if mode is CacheMode.OVERWRITE:
        return CacheLookup(CacheOutcome.OVERWRITE)
    record = completed.lookup(signature, memo_only=memo_only)
    if record is None:
        return MISS
    failed = validate_outputs(record.outputs, validate, digester=digester, recover=recover)
    if failed is not None:
        return CacheLookup(CacheOutcome.DEMOTED, record, failed[0], failed[1])
    return CacheLookup(CacheOutcome.HIT, record)
