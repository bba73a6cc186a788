"""Reading ActivitySim config files into canonical documents.

Rules:

* YAML files are read with ``yaml.safe_load``: comments, quoting, indentation, flow vs
  block style and key order do not reach the document.
* CSV files become ``{"columns": [...], "rows": [[...], ...]}``. Headers and cells are
  stripped; a cell that starts with a digit, a sign or a ``.`` and reads as an int or a
  float is that number (so ``0.50`` equals ``0.5`` and ``1.0`` equals ``1``), an empty
  cell is ``None``, anything else (``nan`` included) stays text.
  Row order is kept (ActivitySim reads specs top to bottom).
* ``settings.yaml`` layers: when the first layer says ``inherit_settings: true`` it is
  deep-merged over the next layer (which may inherit further); mappings merge key by key,
  the overlay's value wins for anything else (lists are replaced, not concatenated).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from typing import Any

from consist._libs.yaml import import_yaml
from consist.errors import ConfigError


def read_yaml(path: str) -> Any:
    yaml = import_yaml()
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    # libyaml's safe loader when present: same documents as yaml.safe_load, ~5x faster.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"The ActivitySim config file {path} is not valid YAML.",
            cause=str(exc),
            fix="Correct the YAML syntax at the position shown.",
            path=path,
        ) from None


_NUMERIC_START = frozenset("0123456789+-.")


def cell_value(text: str) -> Any:
    """A CSV cell as int, float, None or stripped text (see the module rules)."""
    value = text.strip()
    if value == "":
        return None
    # Most cells are names or expressions: skip the (slow) failed conversions for them.
    if value[0] not in _NUMERIC_START:
        return value
    if value.isdigit() or (value[0] in "+-" and value[1:].isdigit()):
        return int(value)
    try:
        number = float(value)
    except ValueError:
        return value
    if math.isfinite(number) and number.is_integer():
        return int(number)
    return number


def read_csv(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return {"columns": [], "rows": []}
    columns = [cell.strip() for cell in rows[0]]
    body = [[cell_value(cell) for cell in row] for row in rows[1:]]
    return {"columns": columns, "rows": body}


def write_csv(document: Mapping[str, Any]) -> bytes:
    """A CSV document back to text (used when overrides rewrite a coefficient file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(document["columns"])
    for row in document["rows"]:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode("utf-8")


def deep_merge(base: Any, overlay: Any) -> Any:
    """``overlay`` over ``base``: mappings merge recursively, the overlay wins otherwise."""
    if isinstance(base, Mapping) and isinstance(overlay, Mapping):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return overlay


def read_settings_layers(paths: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """(effective settings document, files read) for settings.yaml layers, first wins."""
    document = read_yaml(paths[0])
    if (
        len(paths) > 1
        and isinstance(document, Mapping)
        and document.get("inherit_settings") is True
    ):
        # The next layer may inherit further itself: resolve it first, then merge over it.
        deeper, used = read_settings_layers(paths[1:])
        return deep_merge(deeper if isinstance(deeper, Mapping) else {}, document), (
            paths[0],
            *used,
        )
    return document, (paths[0],)


def kind_of(name: str) -> str | None:
    suffix = os.path.splitext(name)[1].lower()
    return {".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}.get(suffix)
