"""The config-adapter seam: what a model-specific adapter provides, and the plan records.

Contract:

* An adapter turns ordered config directories into *logical config files*
  (:class:`ConfigSource`, e.g. ``settings.yaml`` made of the layers of several
  directories) and parses each one into a JSON-like document. The canonical JSON of that
  document, not the file bytes, is the file's identity: reformatting, reordering mapping
  keys or editing comments never changes it; a changed value always does.
* ``parse`` is pure: the same files give the same document. It reports every physical file
  it read (``ParsedConfig.files_read``), which is what the per-file memo of
  ``adapters/plan.py`` keys on.
* ``tables`` derives queryable slices (coefficient tables, key settings) from the parsed
  documents; it never reads files.
* :class:`ConfigPlan` is the result of ``prepare_config``: a value, with no side effect
  on any run or store. ``adapters/apply.py`` turns it into run artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """One logical config file: its name relative to the config roots and its layers.

    ``paths`` lists the physical files, the winning (first) directory first; most
    sources have one. ``kind`` is the adapter's name for the format (``yaml``, ``csv``...).
    """

    rel: str
    paths: tuple[str, ...]
    kind: str


@dataclass(frozen=True, slots=True)
class ParsedConfig:
    """What ``ConfigAdapter.parse`` returns: the document and every file it read."""

    document: object
    files_read: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConfigTable:
    """A queryable slice of a configuration: named columns and rows of scalars."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def to_records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True, slots=True)
class ConfigAdapterOptions:
    """Shared adapter options; a value given here overrides the call's default."""

    strict: bool | None = None
    ingest: bool | None = None
    profile_schema: bool | None = None


@runtime_checkable
class ConfigAdapter(Protocol):
    """A model-specific reader of configuration directories (ActivitySim, BEAM...)."""

    @property
    def name(self) -> str:
        """Short adapter name recorded in ``run.meta["config_adapter"]``."""
        ...

    @property
    def version(self) -> str:
        """Version of the adapter's canonical rules; part of every plan identity."""
        ...

    def config_dirs(self) -> list[Path]:
        """The adapter's own ordered config directories (used by ``run(adapter=...)``)."""
        ...

    def discover(self, config_dirs: Sequence[Path], *, strict: bool) -> list[ConfigSource]:
        """The logical config files of ``config_dirs`` (first directory wins), sorted."""
        ...

    def parse(self, source: ConfigSource) -> ParsedConfig:
        """Parse one logical file into a JSON-like document."""
        ...

    def tables(self, documents: Mapping[str, object]) -> list[ConfigTable]:
        """Queryable slices derived from the parsed documents (``rel -> document``)."""
        ...


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A logical config file in a plan: where it is and its canonical digest."""

    rel: str
    paths: tuple[str, ...]
    kind: str
    digest: str


@dataclass(frozen=True, slots=True)
class ConfigPlan:
    """A prepared configuration: files, canonical documents and the identity they give.

    Build it with ``prepare_config``; nothing is logged or ingested until
    ``apply_config_plan`` (or a run with ``adapter=``) applies it.
    """

    adapter_name: str
    adapter_version: str
    config_dirs: tuple[str, ...]
    files: tuple[PlannedFile, ...]
    identity: str
    documents: Mapping[str, object] = field(repr=False)
    tables: tuple[ConfigTable, ...] = field(default=(), repr=False)
    validate_only: bool = False
    facet: Mapping[str, Any] | None = None
    facet_schema_name: str | None = None
    facet_schema_version: str | int | None = None
    facet_index: bool | None = None
    # The adapter that made the plan: derives the tables when they are first needed.
    adapter: Any = field(default=None, repr=False, compare=False)

    def file(self, rel: str) -> PlannedFile | None:
        return next((item for item in self.files if item.rel == rel), None)


@dataclass(frozen=True, slots=True)
class ConfigContribution:
    """What applying a plan added to a run: artifacts by key and the slices written."""

    identity: str
    adapter_name: str
    artifacts: Mapping[str, Any]
    tables: tuple[str, ...]
    bundle_path: str | None
