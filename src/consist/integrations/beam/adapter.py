"""BeamConfigAdapter: BEAM's HOCON ``.conf`` trees.

Rules:

* Config directories are ordered, the first wins (by path relative to the directory).
* The logical files are every ``.conf`` file of the directories (hidden ones skipped), or
  only ``primary_config`` when it is given (its includes are still read and watched).
* Each file's document is its fully resolved HOCON (includes and substitutions applied,
  hocon.py), so the identity is the configuration BEAM would see.
* Slice: ``beam_settings`` (file, key, value as canonical JSON) with one row per scalar
  leaf, keys dotted (``beam.agentsim.lastIteration``).
* Overrides: ``ConfigOverrides(constants={(file, dotted_key): value})`` (or a plain
  mapping of the same shape) append ``dotted.key = <JSON value>`` lines to the copied
  file; in HOCON a later assignment wins, so the override holds over anything the file
  or its includes set. Coefficient overrides are an ActivitySim notion and are refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from consist.adapters.base import ConfigSource, ConfigTable, ParsedConfig
from consist.errors import ConfigError
from consist.identity.canonical import canonicalize
from consist.integrations.beam.hocon import hocon_value, included_files, read_hocon


class BeamConfigAdapter:
    """Config adapter for BEAM HOCON configuration trees.

    Parameters
    ----------
    root_dirs:
        Ordered config directories; the first directory wins.
    primary_config:
        The main ``.conf`` file (relative to a config directory); without it every
        ``.conf`` file is a logical config file.

    Examples
    --------
    >>> adapter = BeamConfigAdapter(root_dirs=["beam/conf"], primary_config="beam.conf")  # doctest: +SKIP
    """

    name = "beam"
    version = "1"

    def __init__(
        self,
        root_dirs: Iterable[str | os.PathLike[str]] | None = None,
        *,
        primary_config: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(root_dirs, (str, os.PathLike)):
            root_dirs = [root_dirs]
        self.root_dirs = [Path(os.path.abspath(os.fspath(d))) for d in root_dirs or ()]
        self.primary_config = None if primary_config is None else os.fspath(primary_config)

    def __repr__(self) -> str:
        dirs = [os.fspath(d) for d in self.root_dirs]
        return f"BeamConfigAdapter(root_dirs={dirs!r}, primary_config={self.primary_config!r})"

    def with_root_dirs(self, root_dirs: Iterable[str | os.PathLike[str]]) -> BeamConfigAdapter:
        return type(self)(root_dirs, primary_config=self.primary_config)

    def config_dirs(self) -> list[Path]:
        if not self.root_dirs:
            raise ConfigError(
                "BeamConfigAdapter() has no root_dirs, and no config_dirs were given.",
                fix="Build it with BeamConfigAdapter(root_dirs=[...]) or pass config_dirs.",
                parameter="root_dirs",
            )
        return list(self.root_dirs)

    def discover(self, config_dirs: Sequence[Path], *, strict: bool) -> list[ConfigSource]:
        found: dict[str, str] = {}
        for directory in config_dirs:
            for rel, path in _walk(os.fspath(directory), ""):
                found.setdefault(rel, path)
        if self.primary_config is not None:
            rel = self.primary_config.replace(os.sep, "/")
            if rel not in found:
                raise ConfigError(
                    f"primary_config={self.primary_config!r} is not in the config directories.",
                    fix="Name a .conf file relative to one of the config directories.",
                    parameter="primary_config",
                )
            found = {rel: found[rel]}
        if strict and not found:
            raise ConfigError(
                "No .conf file in the BEAM config directories.",
                fix="Point config_dirs at BEAM configuration directories.",
                parameter="config_dirs",
            )
        return [ConfigSource(rel, (found[rel],), "hocon") for rel in sorted(found)]

    def parse(self, source: ConfigSource) -> ParsedConfig:
        path = source.paths[0]
        return ParsedConfig(read_hocon(path), included_files(path))

    def tables(self, documents: Mapping[str, object]) -> list[ConfigTable]:
        rows: list[tuple[Any, ...]] = []
        for rel, document in sorted(documents.items()):
            for key, value in _leaves(document, ""):
                rows.append((rel, key, json.dumps(canonicalize(value), ensure_ascii=False)))
        return [ConfigTable("beam_settings", ("file", "key", "value"), tuple(rows))]

    def materialize(
        self,
        base_dirs: Sequence[Path],
        dest: Path,
        overrides: object,
        *,
        strict: bool,
        primary_config: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Copy every ``.conf`` of ``base_dirs`` (first wins) to ``dest``; append overrides."""
        constants = _constants(overrides)
        for directory in reversed(list(base_dirs)):  # earlier directories overwrite later
            for rel, path in _walk(os.fspath(directory), ""):
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(Path(path).read_bytes())
        dest.mkdir(parents=True, exist_ok=True)
        for (rel, key), value in constants.items():
            target = dest / rel
            if not target.is_file():
                raise ConfigError(
                    f"constants names file {rel!r}, which is not in the BEAM configuration.",
                    fix="Use a .conf path relative to the config directory.",
                    parameter="constants",
                )
            if strict and _lookup(read_hocon(os.fspath(target)), key) is _MISSING:
                raise ConfigError(
                    f"constants key {key!r} is not set in {rel!r}.",
                    fix="Check the key, or pass strict=False to add it.",
                    parameter="constants",
                )
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(f"\n{key} = {hocon_value(value)}\n")
        return dest

    def run_with_config_overrides(self, tracker: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on a copy of the base configuration with overrides (see the tracker)."""
        from consist.integrations.activitysim.overrides import ConfigOverrides
        from consist.integrations.config_runs import run_with_overrides

        overrides = kwargs.pop("overrides")
        if isinstance(overrides, Mapping):
            overrides = ConfigOverrides(constants=overrides)
        return run_with_overrides(tracker, self, overrides=overrides, **kwargs)


_MISSING = object()


def _constants(overrides: object) -> Mapping[tuple[str, str], Any]:
    from consist.integrations.activitysim.overrides import ConfigOverrides

    if isinstance(overrides, Mapping):
        overrides = ConfigOverrides(constants=overrides)
    if not isinstance(overrides, ConfigOverrides):
        raise ConfigError(
            f"overrides={overrides!r} is not a ConfigOverrides or a mapping.",
            fix="Pass overrides={('beam.conf', 'beam.agentsim.lastIteration'): 2}.",
            parameter="overrides",
        )
    if overrides.coefficients:
        raise ConfigError(
            "BEAM configurations have no coefficient files; coefficients overrides are "
            "ActivitySim's.",
            fix="Use constants={(file, dotted_key): value} for BEAM.",
            parameter="overrides",
        )
    return overrides.constants


def _lookup(document: Any, key: str) -> Any:
    node = document
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _walk(directory: str, prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            if entry.is_dir():
                found.extend(_walk(entry.path, rel + "/"))
            elif entry.name.endswith(".conf") and entry.is_file():
                found.append((rel, entry.path))
    return found


def _leaves(value: Any, prefix: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from _leaves(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif prefix:
        yield prefix, value
