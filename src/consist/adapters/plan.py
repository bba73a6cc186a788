"""prepare_config: config directories -> ConfigPlan, with memoised per-file digests.

Rules:

* A plan is a value: preparing one reads config files and nothing else (no artifact, no
  store row, no file written).
* Each logical file's digest is the BLAKE3 of the canonical JSON of its parsed document
  (identity/canonical.py), tagged with its kind. The plan identity combines, under a
  versioned prefix, the adapter name and version and the sorted ``rel -> digest`` lines;
  the directories' own paths are not part of it (moving a config tree does not
  invalidate). Which directory a file won from is not part of it either: only content.
* The memo keeps, per logical file, the stat keys of every physical file its parse read,
  and the digest and document. A re-run with nothing changed costs one directory scan and
  one ``stat`` per file: no file is read or parsed again.
* ``validate_only`` parses and derives the tables, so a broken file fails here, and marks
  the plan so applying it logs and ingests nothing.
* ``run(adapter=plan)`` applies ``replan(plan)``: the plan prepared again (memoised), so a
  config edited after ``prepare_config`` never runs under the old identity.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from consist.adapters.base import (
    ConfigAdapter,
    ConfigAdapterOptions,
    ConfigPlan,
    ConfigSource,
    PlannedFile,
)
from consist.errors import ConfigError, IdentityError
from consist.identity.canonical import canonical_json, digest_bytes
from consist.identity.files import StatKey, stat_key

PLAN_VERSION = "consist-config-plan-v1"

_Entry = tuple[tuple[tuple[str, StatKey], ...], str, object]


class ParsedFileMemo:
    """``(adapter, rel, layer paths) -> (stat keys read, digest, document)``, per process."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, tuple[str, ...]], _Entry] = {}
        self._lock = threading.Lock()

    def get(self, adapter: str, source: ConfigSource) -> tuple[str, object] | None:
        entry = self._entries.get((adapter, source.rel, source.paths))
        if entry is None:
            return None
        stamps, digest, document = entry
        try:
            if any(stat_key(path) != key for path, key in stamps):
                return None
        except OSError:
            return None
        return digest, document

    def put(
        self,
        adapter: str,
        source: ConfigSource,
        stamps: tuple[tuple[str, StatKey], ...],
        digest: str,
        document: object,
    ) -> None:
        with self._lock:
            self._entries[(adapter, source.rel, source.paths)] = (stamps, digest, document)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


MEMO = ParsedFileMemo()


def resolve_options(
    options: ConfigAdapterOptions | None, *, strict: bool, ingest: bool, profile_schema: bool
) -> tuple[bool, bool, bool]:
    """(strict, ingest, profile_schema): a value set in ``options`` wins over the call's."""
    if options is None:
        return strict, ingest, profile_schema
    return (
        strict if options.strict is None else options.strict,
        ingest if options.ingest is None else options.ingest,
        profile_schema if options.profile_schema is None else options.profile_schema,
    )


def check_adapter(adapter: object, parameter: str = "adapter") -> ConfigAdapter:
    if not isinstance(adapter, ConfigAdapter):
        raise ConfigError(
            f"{parameter}={adapter!r} is not a config adapter.",
            fix="Pass e.g. consist.integrations.activitysim.ActivitySimConfigAdapter(...).",
            parameter=parameter,
        )
    return adapter


def config_dir_list(config_dirs: Iterable[str | os.PathLike[str]] | None) -> list[Path]:
    """The ordered directories of ``config_dirs``; each must exist."""
    if config_dirs is None or isinstance(config_dirs, (str, os.PathLike)):
        raise ConfigError(
            f"config_dirs={config_dirs!r} must be a list of directories.",
            fix="Pass config_dirs=[overlay_dir, base_dir] (the first directory wins).",
            parameter="config_dirs",
        )
    dirs = [Path(os.path.abspath(os.fspath(item))) for item in config_dirs]
    if not dirs:
        raise ConfigError(
            "config_dirs is empty.", fix="Pass at least one directory.", parameter="config_dirs"
        )
    for directory in dirs:
        if not directory.is_dir():
            raise ConfigError(
                f"config_dirs contains {os.fspath(directory)!r}, which is not a directory.",
                fix="Create the directory or correct the path.",
                parameter="config_dirs",
            )
    return dirs


def prepare_config(
    adapter: ConfigAdapter,
    config_dirs: Iterable[str | os.PathLike[str]] | None = None,
    *,
    strict: bool = False,
    options: ConfigAdapterOptions | None = None,
    validate_only: bool = False,
    with_tables: bool = True,
    memo: ParsedFileMemo = MEMO,
) -> ConfigPlan:
    """Discover, parse (memoised) and digest the config files; derive the tables."""
    adapter = check_adapter(adapter)
    strict, _, _ = resolve_options(options, strict=strict, ingest=True, profile_schema=False)
    dirs = config_dir_list(adapter.config_dirs() if config_dirs is None else config_dirs)
    sources = adapter.discover(dirs, strict=strict)
    files: list[PlannedFile] = []
    documents: dict[str, object] = {}
    for source in sources:
        digest, document = _parsed(adapter, source, memo)
        files.append(PlannedFile(source.rel, source.paths, source.kind, digest))
        documents[source.rel] = document
    if strict:
        _check_references(adapter, documents)
    tables = tuple(adapter.tables(documents)) if (with_tables or validate_only) else ()
    return ConfigPlan(
        adapter_name=adapter.name,
        adapter_version=adapter.version,
        config_dirs=tuple(os.fspath(d) for d in dirs),
        files=tuple(files),
        identity=compute_plan_identity(adapter.name, adapter.version, files),
        documents=documents,
        tables=tables,
        validate_only=validate_only,
        adapter=adapter,
    )


def replan(plan: ConfigPlan, memo: ParsedFileMemo = MEMO) -> ConfigPlan:
    """``plan`` prepared again from its adapter and directories, keeping its facet options.

    What ``run(adapter=plan)`` applies: the files as they are now (a stat per file when
    nothing changed), so the identity and the bundle never describe stale content.
    """
    if plan.validate_only:
        raise ConfigError(
            "A plan prepared with validate_only=True cannot be applied to a run.",
            fix="Prepare it again without validate_only to run with it.",
            parameter="adapter",
        )
    if plan.adapter is None:
        raise ConfigError(
            f"The config plan of {plan.adapter_name!r} does not hold its adapter.",
            fix="Pass a plan returned by tracker.prepare_config(...), or the adapter itself.",
            parameter="adapter",
        )
    fresh = prepare_config(plan.adapter, plan.config_dirs, with_tables=False, memo=memo)
    return replace(
        fresh,
        facet=plan.facet,
        facet_schema_name=plan.facet_schema_name,
        facet_schema_version=plan.facet_schema_version,
        facet_index=plan.facet_index,
    )


def _check_references(adapter: ConfigAdapter, documents: dict[str, object]) -> None:
    """strict: an adapter that can list missing referenced files must list none."""
    check = getattr(adapter, "missing_references", None)
    missing = check(documents) if callable(check) else []
    if missing:
        raise ConfigError(
            f"The {adapter.name} configuration references files it does not contain: "
            + "; ".join(missing[:10]),
            fix="Add the files to a config directory, correct the names, or pass strict=False.",
            parameter="config_dirs",
        )


def _parsed(
    adapter: ConfigAdapter, source: ConfigSource, memo: ParsedFileMemo
) -> tuple[str, object]:
    name = adapter.name
    cached = memo.get(name, source)
    if cached is not None:
        return cached
    # Stat before reading: a write during the parse then shows up as a changed key later.
    try:
        before = {path: stat_key(path) for path in source.paths}
    except OSError as exc:
        raise IdentityError(
            f"Cannot read the config file {source.rel!r}.", cause=str(exc), path=source.rel
        ) from exc
    parsed = adapter.parse(source)
    stamps = []
    for path in sorted(set(source.paths) | set(parsed.files_read)):
        try:
            stamps.append((path, before.get(path) or stat_key(path)))
        except OSError:
            continue  # an optional include that does not exist: nothing to watch
    try:
        data = canonical_json(parsed.document)
    except ConfigError as exc:
        raise IdentityError(
            f"The config file {source.rel!r} holds a value that has no canonical form.",
            cause=exc.problem,
            fix="Report the file to the adapter's maintainers.",
            path=source.rel,
        ) from exc
    digest = digest_bytes(f"{source.kind}\0".encode() + data)
    memo.put(name, source, tuple(stamps), digest, parsed.document)
    return digest, parsed.document


def compute_plan_identity(name: str, version: str, files: Sequence[PlannedFile]) -> str:
    """Identity of a resolved configuration: adapter, version and sorted file digests."""
    lines = sorted(f"{item.rel}\0{item.digest}" for item in files)
    text = "\n".join([PLAN_VERSION, name, version, *lines])
    return digest_bytes(text.encode("utf-8", "surrogatepass"))


def identity_from_config_plan(plan: ConfigPlan) -> str:
    """Return the identity hash derived from a config plan (its canonical content)."""
    if not isinstance(plan, ConfigPlan):
        raise ConfigError(
            f"plan={plan!r} is not a ConfigPlan.",
            fix="Pass the plan returned by tracker.prepare_config(...).",
            parameter="plan",
        )
    return plan.identity
