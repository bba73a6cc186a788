"""Confirm a cache hit's outputs before reuse: lazy, strict or none.

Rules (``validate_cached_outputs``):

* ``lazy`` (default): every output path must exist: one ``stat`` per output.
* ``strict``: every output's bytes must still have the digest recorded when it was
  produced. The digest goes through the FileDigester memo keyed by (device, inode, size,
  mtime, ctime), so an unchanged file costs a ``stat`` and a dict lookup, never a read.
* ``none``: nothing is checked; a hit is reused even when its files are gone.

An output that is gone may be *recovered*: the ``recover`` callable (the copy index,
cache/copies.py) restores it from a recorded copy of the same bytes, and the hit stands.
An output that is gone and cannot be recovered, or whose bytes changed, demotes the hit
(reason MISSING or CHANGED); a changed file is never overwritten by a copy, since the
change may be the user's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from consist.errors import ConsistError
from consist.identity.files import FileDigester
from consist.model.artifact import Artifact
from consist.model.decision import DemotionReason
from consist.options import ValidateMode

#: Restores a missing output from a recorded copy; True when it did.
Recover = Callable[[Artifact], bool]
#: The first output that fails validation, and why.
Failure = tuple[Artifact, DemotionReason]


def validate_outputs(
    outputs: Iterable[Artifact],
    mode: ValidateMode = ValidateMode.LAZY,
    *,
    digester: FileDigester | None = None,
    recover: Recover | None = None,
) -> Failure | None:
    """The first output that cannot be reused under ``mode``, or None when all can."""
    if mode is ValidateMode.NONE:
        return None
    strict = mode is ValidateMode.STRICT and digester is not None
    for artifact in outputs:
        path = artifact.abs_path or artifact.uri
        if not os.path.exists(path):
            if recover is not None and artifact.hash and recover(artifact):
                continue
            return artifact, DemotionReason.MISSING
        if strict and artifact.hash and not _same_bytes(digester, path, artifact.hash):
            return artifact, DemotionReason.CHANGED
    return None


def _same_bytes(digester: FileDigester | None, path: str, digest: str) -> bool:
    assert digester is not None
    try:
        return digester.digest(path, what="cached output") == digest
    except ConsistError:
        return False  # vanished or unreadable between the stat and the hash
