"""JSON bytes for records: snapshots, journal lines and cache index entries.

Records are encoded with orjson (a core dependency): ~10x faster than the standard
library's encoder on a run record, which every cache hit and miss writes. The rules:

* compact (no spaces), UTF-8: non-ASCII text is written as itself, not as ``\\uXXXX``
  escapes. Both forms are the same JSON; readers (json, orjson, DuckDB's read_json)
  see the same strings. Code that searches raw lines for a value looks for both
  forms (persist/materialize.py), since older journals hold the escaped one.
* a value JSON has no type for is written as its ``repr`` text (records must never fail
  to write); datetime/date/time and dataclass instances take that path too. Enums are
  written as their value and UUIDs as their text (orjson's own forms; the standard
  library wrote a plain Enum and a UUID as their repr).
* NaN and +/-inf are kept: orjson would write them as ``null``, so a value holding one
  (``has_non_finite``) is written by the standard library's encoder (``NaN``,
  ``Infinity``), as before. Callers that know their value holds none say so
  (``finite=True``) and skip the walk. A config never holds one (the canonical form
  tags them, identity/canonical.py).
* what orjson refuses (integers beyond 64 bits, lone surrogates, non-string dict keys)
  falls back to the standard library's encoder too.
* decoding tries orjson, then the standard library (which reads ``NaN``, ``Infinity``
  and big integers); a line neither can read raises ValueError.

The identity encoders (identity/canonical.py, identity/signature.py) are NOT this one:
their bytes are hashed and pinned by golden tests.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _default(value: Any) -> Any:
    # orjson writes subclasses of str/int/dict/list as their base value, as the standard
    # library does; a float subclass (numpy.float64) comes here.
    if isinstance(value, float):
        return float.__float__(value)
    return repr(value)


_FALLBACK = json.JSONEncoder(separators=(",", ":"), default=repr)


def encode(value: Any, *, finite: bool = False) -> bytes:
    """Compact JSON bytes of ``value`` (see the module rules); ``finite=True`` when the
    caller knows ``value`` holds no NaN or infinity."""
    if finite or not has_non_finite(value):
        try:
            return orjson.dumps(value, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            pass
    return _FALLBACK.encode(value).encode("utf-8", "surrogatepass")


def has_non_finite(value: Any) -> bool:
    """Whether ``value`` (nested dicts, lists, tuples) holds a NaN or an infinity."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            if item - item != 0:  # 0.0 for a finite float, NaN for NaN and +/-inf
                return True
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):  # float subclasses
            return True
    return False


def decode(data: bytes | str) -> Any:
    """The value of JSON ``data``; ValueError when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
