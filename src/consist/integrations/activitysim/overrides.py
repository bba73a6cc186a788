"""ConfigOverrides: changed constants and coefficients, applied to a copy of a config.

Rules:

* ``constants={(file, dotted_key): value}`` sets a YAML value; ``a.b.c`` walks nested
  mappings (``CONSTANTS.cost_per_mile`` in a model file, ``households_sample_size`` in
  settings.yaml).
* ``coefficients={(file, coefficient, segment): value}`` sets a CSV cell: the row whose
  ``coefficient_name`` is ``coefficient``, column ``value`` when ``segment`` is None,
  else the column named ``segment`` (segmented or template coefficient files).
* ``strict=True``: a file, key, coefficient or segment that does not exist is a
  ConfigError naming it. ``strict=False``: a missing YAML key is created (a missing file,
  row or column is still an error: there is nothing sensible to create).
* Overrides never touch the base directories: they are applied to files already copied
  into the override run's resolved config directory.
* ``to_config()`` is the overrides' part of the run config (and so of its identity):
  ``{"constants": {"<file>::<key>": v}, "coefficients": {"<file>::<coef>::<segment>": v}}``,
  so a miss names the file and key that changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consist._libs.yaml import import_yaml
from consist.errors import ConfigError
from consist.integrations.activitysim.parse import read_csv, read_yaml, write_csv


@dataclass(frozen=True)
class ConfigOverrides:
    """Constants and coefficients to change in a copy of an ActivitySim configuration.

    Examples
    --------
    >>> ConfigOverrides(
    ...     constants={("settings.yaml", "households_sample_size"): 500},
    ...     coefficients={("trip_mode_choice_coefficients.csv", "coef_ivt", None): -0.03},
    ... )  # doctest: +SKIP
    """

    constants: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    coefficients: Mapping[tuple[str, str, str | None], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in self.constants:
            if not (
                isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)
            ):
                raise ConfigError(
                    f"constants has key {key!r}; keys are (file, dotted_key) tuples of str.",
                    fix="Use constants={('settings.yaml', 'households_sample_size'): 100}.",
                    parameter="constants",
                )
        for coefficient in self.coefficients:
            valid = (
                isinstance(coefficient, tuple)
                and len(coefficient) == 3
                and isinstance(coefficient[0], str)
                and isinstance(coefficient[1], str)
                and (coefficient[2] is None or isinstance(coefficient[2], str))
            )
            if not valid:
                raise ConfigError(
                    f"coefficients has key {coefficient!r}; keys are (file, coefficient, segment) "
                    "with segment a str or None.",
                    fix="Use coefficients={('x_coefficients.csv', 'coef_ivt', None): -0.02}.",
                    parameter="coefficients",
                )

    def to_config(self) -> dict[str, dict[str, Any]]:
        """The overrides as a JSON-like mapping (part of the run config and identity)."""
        return {
            "constants": {f"{f}::{k}": v for (f, k), v in self.constants.items()},
            "coefficients": {
                f"{f}::{c}::{'' if s is None else s}": v
                for (f, c, s), v in self.coefficients.items()
            },
        }

    def files(self) -> set[str]:
        return {f for f, _ in self.constants} | {f for f, _, _ in self.coefficients}


def _target(root: str, rel: str, what: str) -> str:
    path = os.path.normpath(os.path.join(root, rel))
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        raise ConfigError(
            f"{what} names file {rel!r}, which is not in the configuration.",
            fix="Use a file name relative to the config directory, e.g. 'settings.yaml'.",
            parameter=what,
        )
    return path


def apply_overrides(root: str, overrides: ConfigOverrides, *, strict: bool) -> None:
    """Rewrite the files under ``root`` (a copy) with ``overrides``."""
    yaml = import_yaml()
    by_file: dict[str, list[tuple[str, Any]]] = {}
    for (rel, key), value in overrides.constants.items():
        by_file.setdefault(rel, []).append((key, value))
    for rel, items in by_file.items():
        path = _target(root, rel, "constants")
        document = read_yaml(path)
        if document is None:
            document = {}
        for key, value in items:
            _set_dotted(document, key, value, rel=rel, strict=strict)
        text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
        _replace(path, text.encode("utf-8"))
    by_csv: dict[str, list[tuple[str, str | None, Any]]] = {}
    for (rel, coefficient, segment), value in overrides.coefficients.items():
        by_csv.setdefault(rel, []).append((coefficient, segment, value))
    for rel, cells in by_csv.items():
        path = _target(root, rel, "coefficients")
        document = read_csv(path)
        for coefficient, segment, value in cells:
            _set_cell(document, coefficient, segment, value, rel=rel)
        _replace(path, write_csv(document))


def _replace(path: str, data: bytes) -> None:
    # The copy may be a hard link or read-only: write a fresh file in its place.
    os.unlink(path)
    with open(path, "wb") as handle:
        handle.write(data)


def _set_dotted(document: Any, key: str, value: Any, *, rel: str, strict: bool) -> None:
    parts = key.split(".")
    node = document
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if not isinstance(node, dict):
            raise ConfigError(
                f"constants key {key!r} in {rel!r}: {'.'.join(parts[:depth])!r} is not a mapping.",
                fix="Point the dotted key at a value inside mappings.",
                parameter="constants",
            )
        if part not in node:
            if strict:
                raise ConfigError(
                    f"constants key {key!r} is not in {rel!r} (missing {part!r}).",
                    fix="Check the key, or pass strict=False to add it.",
                    parameter="constants",
                )
            node[part] = value if last else {}
        if last:
            node[part] = value
        else:
            node = node[part]


def _set_cell(
    document: dict[str, Any], coefficient: str, segment: str | None, value: Any, *, rel: str
) -> None:
    columns: list[str] = document["columns"]
    if "coefficient_name" not in columns:
        raise ConfigError(
            f"coefficients names {rel!r}, which has no 'coefficient_name' column.",
            fix="Name a coefficients CSV (columns coefficient_name, value, ...).",
            parameter="coefficients",
        )
    column = "value" if segment is None else segment
    if column not in columns:
        raise ConfigError(
            f"coefficients: {rel!r} has no column {column!r} (columns: {', '.join(columns)}).",
            fix="Use segment=None for a 'value' column, or a segment column name.",
            parameter="coefficients",
        )
    name_at, value_at = columns.index("coefficient_name"), columns.index(column)
    for row in document["rows"]:
        if row[name_at] == coefficient:
            row[value_at] = value
            return
    raise ConfigError(
        f"coefficients: {rel!r} has no coefficient {coefficient!r}.",
        fix="Use a coefficient_name that exists in the file.",
        parameter="coefficients",
    )
