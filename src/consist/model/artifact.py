"""Artifact: a file (or directory) a run read or wrote, as recorded."""

from __future__ import annotations

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
    driver: format name inferred from the suffix (``"csv"``, ``"parquet"``, ``"txt"``...).
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
        values: dict[str, Any] = {name: data.get(name) for name in ARTIFACT_FIELDS}
        values["meta"] = dict(values["meta"] or {})
        return cls(**values, abs_path=abs_path)


def driver_for_path(path: str) -> str | None:
    """Infer a driver name from the file suffix (``data.csv.gz`` → ``csv``)."""
    name = path.rsplit("/", 1)[-1].lower()
    for compressed in (".gz", ".bz2", ".zst", ".xz"):
        if name.endswith(compressed):
            name = name[: -len(compressed)]
    if "." not in name:
        return None
    return name.rsplit(".", 1)[-1] or None
