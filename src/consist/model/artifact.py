"""Artifact records: a file (or directory) a run read or wrote, and what the produced-file
index knows of a path.

Records only: no I/O; the driver name of a path is inferred in ``consist.formats.registry``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Fields persisted in snapshots and the store, in order. ``abs_path`` is machine-local
# and resolved again from ``uri`` when a record is read back.
ARTIFACT_FIELDS = (
    "id",
    "key",
    "uri",
    "driver",
    "hash",
    "size",
    "run_id",
    "producer_signature",
    "created_at",
    "meta",
)


@dataclass(slots=True)
class Artifact:
    """A recorded file or directory.

    Attributes
    ----------
    id: unique artifact id (hex UUID).
    key: semantic name, e.g. ``"households"``.
    uri: portable location: ``./relative`` under the tracker's run_dir, else an absolute path.
    driver: format name (``"csv"``, ``"parquet"``, ``"txt"``...), see ``consist.formats``.
    hash: blake3 content digest (file) or manifest digest (directory).
    size: bytes (files) or ``None``.
    run_id: the run that produced it (outputs) or first logged it (inputs).
    producer_signature: signature of the producing run; ``None`` for raw inputs.
        This is the Merkle link that makes downstream identities depend on upstream runs.
    """

    id: str
    key: str
    uri: str
    driver: str | None = None
    hash: str | None = None
    size: int | None = None
    run_id: str | None = None
    producer_signature: str | None = None
    created_at: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    abs_path: str | None = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> Path:
        """Local filesystem path of the artifact."""
        return Path(self.abs_path if self.abs_path is not None else self.uri)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ARTIFACT_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], abs_path: str | None = None) -> Artifact:
        if data.keys() == _ARTIFACT_FIELD_SET:  # as Consist writes it (see Run.from_dict)
            artifact = cls(*_artifact_values_of(data))
            artifact.meta = dict(artifact.meta or {})
            artifact.abs_path = abs_path
            return artifact
        values: dict[str, Any] = {name: data.get(name) for name in ARTIFACT_FIELDS}
        values["meta"] = dict(values["meta"] or {})
        return cls(**values, abs_path=abs_path)


_ARTIFACT_FIELD_SET = frozenset(ARTIFACT_FIELDS)
_artifact_values_of = operator.itemgetter(*ARTIFACT_FIELDS)


@dataclass(frozen=True, slots=True)
class ProducedFile:
    """What the produced-files index knows of a path: the run that wrote it and the bytes.

    The index (``cache/index.py``) keeps one per output path; ``identity/inputs.py`` turns
    it into the producer signature of a plain-path input (the Merkle link).
    """

    signature: str
    digest: str
    run_id: str
    artifact_id: str
