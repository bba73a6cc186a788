"""ActivitySimConfigAdapter: ordered config directories of YAML settings and CSV files.

Rules:

* Config directories are ordered, the first wins: a file ``rel`` (a path relative to its
  directory, ``/``-separated) is read from the first directory that has it. Hidden files
  and directories are skipped; ``.yaml`` / ``.yml`` / ``.csv`` files are configuration,
  anything else is ignored.
* ``settings.yaml`` is the exception: it is made of every directory's ``settings.yaml``,
  and a layer that says ``inherit_settings: true`` is deep-merged over the next
  (parse.py).
* Slices: ``activitysim_coefficients`` (file, coefficient_name, segment, value,
  value_ref, constrain) from every CSV with a ``coefficient_name`` column (segment is
  None for a ``value`` column, else each other column is a segment; a number is in
  ``value`` as a float, a coefficient name of a template file in ``value_ref``), and
  ``activitysim_settings``
  (file, key, value as canonical JSON) for the top-level scalars of every YAML file and
  the entries of its ``CONSTANTS`` mapping.
* ``facet_spec`` selectors (adapters/facets.py) read a coefficient file by coefficient
  name (``coef_ivt``, or ``coef_ivt.<segment>``), other files by dotted key.
* ``strict``: a missing ``settings.yaml``, or a model YAML whose ``SPEC`` /
  ``COEFFICIENTS`` / ``COEFFICIENT_TEMPLATE`` names a file that is not in the
  configuration, is a ConfigError.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from consist.adapters.base import ConfigSource, ConfigTable, ParsedConfig
from consist.adapters.facets import mapping_value
from consist.errors import ConfigError
from consist.identity.canonical import canonicalize
from consist.integrations.activitysim.parse import (
    kind_of,
    read_csv,
    read_settings_layers,
    read_yaml,
)

SETTINGS = "settings.yaml"
_REFERENCE_KEYS = ("SPEC", "COEFFICIENTS", "COEFFICIENT_TEMPLATE")


class ActivitySimConfigAdapter:
    """Config adapter for ActivitySim configuration directories.

    Parameters
    ----------
    root_dirs:
        Ordered config directories, e.g. ``[overlay, base]``; the first directory wins.
        Optional: without it, pass ``config_dirs`` to ``prepare_config`` /
        ``canonicalize_config`` / ``run_with_config_overrides(base_config_dirs=...)``.

    Examples
    --------
    >>> adapter = ActivitySimConfigAdapter(root_dirs=["configs_overlay", "configs"])  # doctest: +SKIP
    >>> tracker.run(fn=simulate, adapter=adapter)  # doctest: +SKIP
    """

    name = "activitysim"
    version = "1"

    def __init__(self, root_dirs: Iterable[str | os.PathLike[str]] | None = None) -> None:
        if isinstance(root_dirs, (str, os.PathLike)):
            root_dirs = [root_dirs]
        self.root_dirs = [Path(os.path.abspath(os.fspath(d))) for d in root_dirs or ()]

    def __repr__(self) -> str:
        return f"ActivitySimConfigAdapter(root_dirs={[os.fspath(d) for d in self.root_dirs]!r})"

    def with_root_dirs(
        self, root_dirs: Iterable[str | os.PathLike[str]]
    ) -> ActivitySimConfigAdapter:
        return type(self)(root_dirs)

    def config_dirs(self) -> list[Path]:
        if not self.root_dirs:
            raise ConfigError(
                "ActivitySimConfigAdapter() has no root_dirs, and no config_dirs were given.",
                fix="Build it with ActivitySimConfigAdapter(root_dirs=[overlay, base]), or "
                "pass config_dirs=[...].",
                parameter="root_dirs",
            )
        return list(self.root_dirs)

    def discover(self, config_dirs: Sequence[Path], *, strict: bool) -> list[ConfigSource]:
        layers: dict[str, list[str]] = {}
        for directory in config_dirs:
            for rel, path in _walk(os.fspath(directory), ""):
                layers.setdefault(rel, []).append(path)
        if strict and SETTINGS not in layers:
            raise ConfigError(
                f"No {SETTINGS} in the config directories {[os.fspath(d) for d in config_dirs]}.",
                fix="Point config_dirs at ActivitySim config directories, or pass strict=False.",
                parameter="config_dirs",
            )
        sources = []
        for rel in sorted(layers):
            paths = layers[rel] if rel == SETTINGS else layers[rel][:1]
            sources.append(ConfigSource(rel, tuple(paths), kind_of(rel) or "file"))
        return sources

    def parse(self, source: ConfigSource) -> ParsedConfig:
        if source.rel == SETTINGS:
            document, used = read_settings_layers(source.paths)
            return ParsedConfig(document, used)
        path = source.paths[0]
        document = read_csv(path) if source.kind == "csv" else read_yaml(path)
        return ParsedConfig(document, (path,))

    def tables(self, documents: Mapping[str, object]) -> list[ConfigTable]:
        coefficients: list[tuple[Any, ...]] = []
        settings: list[tuple[Any, ...]] = []
        for rel, document in sorted(documents.items()):
            if rel.endswith(".csv") and isinstance(document, Mapping):
                coefficients.extend(_coefficient_rows(rel, document))
            elif isinstance(document, Mapping):
                settings.extend(_setting_rows(rel, document))
        return [
            ConfigTable(
                "activitysim_coefficients",
                ("file", "coefficient_name", "segment", "value", "value_ref", "constrain"),
                tuple(coefficients),
            ),
            ConfigTable("activitysim_settings", ("file", "key", "value"), tuple(settings)),
        ]

    def facet_value(self, rel: str, document: object, path: Sequence[str]) -> Any:
        """A value for ``prepare_config(facet_spec=...)`` (KeyError when there is none).

        A coefficient file (a ``coefficient_name`` column) is read by coefficient:
        ``coef_ivt`` is its ``value`` column, ``coef_ivt.work`` its ``work`` segment
        column. Every other file: the dotted path through its mappings.
        """
        columns = document.get("columns") if isinstance(document, Mapping) else None
        if not isinstance(columns, list) or "coefficient_name" not in columns:
            return mapping_value(document, path)
        if len(path) > 2:
            raise KeyError(".".join(path))
        column = path[1] if len(path) == 2 else "value"
        if column not in columns or column in ("coefficient_name", "constrain"):
            raise KeyError(column)
        name_at, value_at = columns.index("coefficient_name"), columns.index(column)
        assert isinstance(document, Mapping)
        for row in document.get("rows") or ():
            if row[name_at] == path[0]:
                return row[value_at]
        raise KeyError(path[0])

    def missing_references(self, documents: Mapping[str, object]) -> list[str]:
        """``file: KEY -> name`` for every referenced file that is not in the configuration."""
        missing = []
        for rel, document in sorted(documents.items()):
            if not isinstance(document, Mapping):
                continue
            folder = os.path.dirname(rel)
            for key in _REFERENCE_KEYS:
                name = document.get(key)
                if isinstance(name, str) and name.endswith(".csv"):
                    target = f"{folder}/{name}" if folder else name
                    if target not in documents and name not in documents:
                        missing.append(f"{rel}: {key} -> {name}")
        return missing

    def materialize(
        self,
        base_dirs: Sequence[Path],
        dest: Path,
        overrides: object,
        *,
        strict: bool,
        primary_config: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Write the resolved base configuration into ``dest`` and apply ``overrides``."""
        from consist.integrations.activitysim.overrides import ConfigOverrides, apply_overrides
        from consist.integrations.config_runs import copy_resolved

        if not isinstance(overrides, ConfigOverrides):
            raise ConfigError(
                f"overrides={overrides!r} is not an ActivitySim ConfigOverrides.",
                fix="Pass overrides=ConfigOverrides(constants={...}, coefficients={...}).",
                parameter="overrides",
            )
        copy_resolved(self, base_dirs, dest, strict=strict)
        apply_overrides(os.fspath(dest), overrides, strict=strict)
        return dest

    def run_with_config_overrides(self, tracker: Any, **kwargs: Any) -> Any:
        """Run ``fn`` on a copy of the base configuration with overrides (see the tracker)."""
        from consist.integrations.config_runs import run_with_overrides

        return run_with_overrides(tracker, self, **kwargs)


def _walk(directory: str, prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            if entry.is_dir():
                found.extend(_walk(entry.path, rel + "/"))
            elif kind_of(entry.name) is not None and entry.is_file():
                found.append((rel, entry.path))
    return found


def _coefficient_rows(rel: str, document: Mapping[str, Any]) -> Iterable[tuple[Any, ...]]:
    columns = list(document.get("columns") or ())
    if "coefficient_name" not in columns:
        return []
    name_at = columns.index("coefficient_name")
    constrain_at = columns.index("constrain") if "constrain" in columns else None
    segments = [c for c in columns if c not in ("coefficient_name", "constrain")]
    rows = []
    for row in document.get("rows") or ():
        constrain = row[constrain_at] if constrain_at is not None else None
        for column in segments:
            segment = None if column == "value" else column
            value, ref = _value(row[columns.index(column)])
            rows.append((rel, row[name_at], segment, value, ref, constrain))
    return rows


def _setting_rows(rel: str, document: Mapping[str, Any]) -> Iterable[tuple[Any, ...]]:
    rows = []
    for key, value in document.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            rows.append((rel, str(key), _json(value)))
    constants = document.get("CONSTANTS")
    if isinstance(constants, Mapping):
        for key, value in constants.items():
            rows.append((rel, f"CONSTANTS.{key}", _json(value)))
    return rows


def _json(value: Any) -> str:
    return json.dumps(canonicalize(value), sort_keys=True, ensure_ascii=False)


def _value(cell: Any) -> tuple[float | None, str | None]:
    """(value, value_ref): numbers as float (one column type for every row), a
    coefficient name (template files) or other text in ``value_ref``."""
    if isinstance(cell, bool) or cell is None:
        return None, None if cell is None else str(cell)
    if isinstance(cell, (int, float)):
        return float(cell), None
    return None, str(cell)
