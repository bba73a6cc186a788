"""Plain JSON values: numpy scalars and arrays, tuples, enums and paths as JSON data.

Values users pass as metadata or facets are stored in JSON records and read back by
queries, so they must come back as what they mean: ``np.int64(3)`` as ``3``,
``np.bool_(True)`` as ``True``, ``np.float32(0.1)`` as ``0.1`` (its shortest decimal
form, not the double 0.10000000149...), never as their ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from os import PathLike, fspath
from typing import Any

from consist.errors import ConfigError


def _is_array_like(value: Any) -> bool:
    return hasattr(value, "dtype") and callable(getattr(value, "tolist", None))


def _numpy_plain(value: Any) -> Any:
    """A numpy scalar or array as Python data; narrow floats keep their shortest text."""
    dtype = value.dtype
    if getattr(value, "ndim", 1) == 0 and dtype.kind == "f" and dtype.itemsize < 8:
        return float(str(value))  # float32 0.1 -> 0.1, not 0.10000000149011612
    return value.tolist()


def plain_numbers(value: Any) -> Any:
    """``value`` with numpy scalars / arrays replaced by Python data, recursively through
    dicts, lists and tuples; anything else is left as it is (lenient: metadata)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {key: plain_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_numbers(item) for item in value]
    if _is_array_like(value):
        return plain_numbers(_numpy_plain(value))
    return value


def plain_value(value: Any, where: str = "value") -> Any:
    """``value`` as plain JSON data: numpy scalars -> numbers, tuples -> lists...

    Raises ConfigError (naming ``where``) for a value with no JSON form.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return int(value)  # an IntEnum / bool subclass... as a plain int
    if isinstance(value, float):
        return float(value)  # np.float64 is a float subclass
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(
                    f"{where} has the key {key!r} of type {type(key).__name__}; keys must be "
                    "strings.",
                    fix="Use string keys.",
                    parameter=where.split(".")[0].split("[")[0],
                )
            out[str(key)] = plain_value(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [plain_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if _is_array_like(value):
        return plain_value(_numpy_plain(value), where)
    if isinstance(value, Enum):
        return plain_value(value.value, where)
    if isinstance(value, PathLike):
        return fspath(value)
    raise ConfigError(
        f"{where}={value!r} of type {type(value).__name__} has no JSON form.",
        fix="Use strings, numbers, booleans, None, lists or dicts of those.",
        parameter=where.split(".")[0].split("[")[0],
    )
