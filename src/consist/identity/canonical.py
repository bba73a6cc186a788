"""Canonical form of run configs, the input of the config digest.

The canonical form is a persisted contract: every cached run is found again
through the digest of its config, so changing any rule below silently
invalidates every user's cache. Rules:

* ``dict`` / any ``Mapping``: keys must be ``str`` (``str`` subclasses such as
  ``StrEnum`` members count as their plain string); any other key is a
  ``ConfigError``. Keys are sorted (code point order) in the output.
* ``list`` and ``tuple`` (named tuples included) become lists, so a tuple
  equals the list with the same items.
* ``set`` / ``frozenset`` become lists sorted by each element's canonical JSON
  text, so iteration order never matters.
* ``bool`` stays ``bool`` (``True`` is *not* equal to ``1``); ``int`` stays ``int``.
* ``float``: a finite integral float becomes ``int`` (``1.0 == 1``,
  ``-0.0 == 0``); other finite floats stay floats (JSON uses the shortest
  ``repr``); NaN / +inf / -inf become ``{"__float__": "nan"}`` /
  ``{"__float__": "inf"}`` / ``{"__float__": "-inf"}``.
* ``str`` and ``None`` stay as they are. ``bytes`` / ``bytearray`` become
  ``{"__bytes__": "<lower-case hex>"}``.
* ``pathlib.PurePath`` becomes its POSIX string, so ``Path("a/b") == "a/b"``.
* ``Enum`` members become the canonical form of their ``.value``.
* ``datetime`` / ``date`` / ``time`` become their ``isoformat()`` string;
  ``Decimal`` and ``UUID`` become ``str(value)``.
* Objects with a callable ``model_dump`` (pydantic v2 models) become the
  canonical form of ``model_dump(mode="python")``; dataclass instances become
  the canonical form of ``{field.name: value}`` over ``dataclasses.fields``.
  Neither records the class name: a model equals the equivalent dict.
* Objects with ``dtype`` and ``tolist`` (numpy scalars and arrays) become the
  canonical form of ``.tolist()``.
* Instances of a class registered with ``register_canonical_type(cls, fn)``, or of
  a subclass of it (the nearest registered class in the MRO wins), become the
  canonical form of ``fn(value)``, which must be built from values these rules
  accept (JSON-like values, tuples, paths, other registered types...). Like
  models and dataclasses, the class name is not recorded. Registered classes are
  consulted only for values no other rule handles, and a builtin, a class those
  rules already handle or a class already registered (itself or through a base)
  cannot be registered (``ConfigError``), so a registration never changes a
  digest that exists today. ``fn`` raising, or returning its own type again, is
  a ``ConfigError``.
* Anything else is a ``ConfigError`` naming where in the config it sits.

Known, accepted collisions: a user dict that looks exactly like a tag
(``{"__float__": "nan"}``) equals the tagged value.

The canonical JSON is compact (``","`` / ``":"``), key-sorted, not
ASCII-escaped, UTF-8 encoded; lone surrogates (undecodable file names) are
kept with ``surrogatepass`` so hashing never fails on them. The bytes are the
standard library encoder's; a flat config of printable-ASCII keys and values that
are printable-ASCII strings, 64-bit integers, booleans or None (a sweep's usual
config) is written by orjson instead, whose bytes are then the same (a property
test holds the two together; floats are excluded, since their exponent forms
differ: ``1e-05`` against ``1e-5``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, TypeVar

import blake3
import orjson

from consist.errors import ConfigError
from consist.model.limits import check_size
from consist.settings import MAX_CONFIG_BYTES

# One shared encoder: json.dumps() with non-default options builds a new
# encoder per call, which alone would eat most of the fast-path budget.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"),
    sort_keys=True,
    ensure_ascii=False,
    allow_nan=False,
)

_NAN: dict[str, str] = {"__float__": "nan"}
_INF: dict[str, str] = {"__float__": "inf"}
_NEG_INF: dict[str, str] = {"__float__": "-inf"}

_FIX_KEYS = "Use string keys, e.g. convert them with str(key) before passing the config."
_FIX_VALUE = (
    "Convert it to a JSON-like value (dict with str keys, list, str, int, float, "
    "bool or None) before passing it as config."
)


_T = TypeVar("_T")

# Classes the built-in rules already handle (by isinstance); they cannot be registered.
_SCALARS: tuple[type, ...] = (str, int, float, bool, bytes, bytearray, Decimal, uuid.UUID)
_CONTAINERS: tuple[type, ...] = (Mapping, list, tuple, set, frozenset)
_HANDLED = _SCALARS + _CONTAINERS + (PurePath, Enum, _dt.datetime, _dt.date, _dt.time, type)

# cls -> fn given to register_canonical_type, and a memo of the MRO walk per concrete type.
_REGISTERED: dict[type, Callable[[Any], object]] = {}
_RESOLVED: dict[type, Callable[[Any], object] | None] = {}


def _kind(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Rejected(Exception):
    """Internal signal carrying what went wrong; path segments are added while unwinding.

    Building the path only on failure keeps string formatting off the hot path.
    """

    def __init__(self, bad: object, *, is_key: bool, reason: str | None = None) -> None:
        super().__init__()
        self.bad = bad
        self.is_key = is_key
        self.reason = reason  # set when a registered conversion failed
        self.segments: list[str] = []  # innermost first

    def to_error(self, root: str) -> ConfigError:
        where = root + "".join(reversed(self.segments))
        kind = _kind(type(self.bad))
        if self.reason is not None:
            return ConfigError(
                f"{where} of type {kind} could not be converted: {self.reason}.",
                cause="The function registered with register_canonical_type for it failed.",
                fix="Make that function return a JSON-like value built from other types.",
                path=where,
                type=kind,
            )
        if self.is_key:
            return ConfigError(
                f"{where} has a non-string key {self.bad!r} of type {kind}.",
                cause="Config keys must be str so the config hash is well defined.",
                fix=_FIX_KEYS,
                path=where,
                key=repr(self.bad),
            )
        return ConfigError(
            f"{where} has a value of unsupported type {kind}.",
            cause="Only JSON-like values can be hashed into a stable config digest.",
            fix=_FIX_VALUE,
            path=where,
            type=kind,
        )


def canonicalize(value: object, *, path: str = "config") -> object:
    """Return the JSON-compatible canonical form of ``value`` (rules in the module doc).

    ``path`` names the root in error messages, e.g. ``config['a'][2]``.
    """
    try:
        return _canon(value)
    except _Rejected as rejected:
        raise rejected.to_error(path) from None
    except RecursionError:
        raise ConfigError(
            f"{path} is nested too deeply or contains a reference cycle.",
            fix="Pass a finite, tree-shaped config (no object referring to itself).",
            path=path,
        ) from None


def register_canonical_type(cls: type[_T], fn: Callable[[_T], object]) -> None:
    """Teach the canonical form a new value type: ``cls`` instances canonicalize as ``fn(value)``.

    ``fn`` must return a value the canonical rules accept; subclasses of ``cls`` use it
    too. Builtins, classes the rules already handle and classes already registered are
    refused with ``ConfigError``, so no existing digest can change.
    """
    if not isinstance(cls, type):
        raise ConfigError(
            f"cls={cls!r} is not a class.",
            fix="Pass the class whose instances fn converts: register_canonical_type(MyType, fn).",
            parameter="cls",
        )
    if not callable(fn):
        raise ConfigError(
            f"fn={fn!r} is not callable.",
            fix="Pass a function taking an instance of cls and returning a JSON-like value.",
            parameter="fn",
        )
    handled_by = _existing_rule(cls)
    if handled_by is not None:
        raise ConfigError(
            f"cls={_kind(cls)} cannot be registered: {handled_by}.",
            cause="Its canonical form is fixed for every user; a registration would make "
            "digests depend on which modules were imported.",
            fix="Register your own class (or convert the value before passing the config).",
            parameter="cls",
        )
    _REGISTERED[cls] = fn
    # Memoised lookups may have recorded "not registered" for a subclass of cls.
    _RESOLVED.clear()


def _existing_rule(cls: type) -> str | None:
    """Why ``cls`` is already canonicalizable (or must stay rejected); ``None`` if free."""
    if cls.__module__ == "builtins":
        return "it is a builtin"
    if issubclass(cls, _HANDLED):
        return "a built-in canonical rule already handles it"
    if dataclasses.is_dataclass(cls) or callable(getattr(cls, "model_dump", None)):
        return "it is a dataclass or model, already canonical by its fields"
    if hasattr(cls, "dtype") and callable(getattr(cls, "tolist", None)):
        return "it is array-like (dtype and tolist), already canonical by tolist()"
    for base in cls.__mro__:
        if base in _REGISTERED:
            via = "" if base is cls else " (as a base class)"
            return f"{_kind(base)} is already registered{via}"
    return None


def canonical_json(value: object) -> bytes:
    """Compact, key-sorted UTF-8 JSON of ``canonicalize(value)``."""
    return _canonical_bytes(canonicalize(value))


def _canonical_bytes(canon: object) -> bytes:
    """The canonical JSON of a canonical value (see the module rules)."""
    if type(canon) is dict and _flat_printable(canon):
        return orjson.dumps(canon, option=orjson.OPT_SORT_KEYS)
    return _ENCODER.encode(canon).encode("utf-8", "surrogatepass")


_INT64_MIN, _UINT64_END = -(2**63), 2**64  # the integers orjson writes


def _flat_printable(canon: dict[str, object]) -> bool:
    """Whether orjson writes ``canon`` byte for byte as the standard encoder does:
    printable-ASCII keys, and values that are printable-ASCII strings (only '"' and
    backslash are escaped, alike), 64-bit integers, booleans or None."""
    for key, value in canon.items():
        if not (key.isascii() and key.isprintable()):
            return False
        if type(value) is str:
            if not (value.isascii() and value.isprintable()):
                return False
        elif type(value) is int:
            if not _INT64_MIN <= value < _UINT64_END:
                return False
        elif type(value) is not bool and value is not None:
            return False
    return True


def digest_bytes(data: bytes) -> str:
    """BLAKE3 hex digest (64 characters) of ``data``."""
    return blake3.blake3(data).hexdigest()


def compute_config_digest(config: object) -> tuple[object, str]:
    """Return ``(canonical form, digest of its canonical JSON)``; ``None`` counts as ``{}``."""
    canon = {} if config is None else canonicalize(config)
    data = _canonical_bytes(canon)
    check_size(len(data), MAX_CONFIG_BYTES, "config", "CONSIST_MAX_CONFIG_BYTES")
    return canon, digest_bytes(data)


def _canon(value: Any) -> object:
    # Exact-type checks first: they are what nearly every config consists of.
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return _canon_float(value)
    if t is dict:
        return _canon_mapping(value)
    if t is list or t is tuple:
        return _canon_sequence(value)
    return _canon_other(value)


def _canon_float(value: float) -> object:
    if math.isfinite(value):
        # 1.0 and 1 (and -0.0 and 0) must hash alike.
        return int(value) if value.is_integer() else value
    if math.isnan(value):
        return dict(_NAN)
    return dict(_INF) if value > 0 else dict(_NEG_INF)


def _canon_key(key: object) -> str:
    if isinstance(key, str):
        # Plain string data of a str subclass (e.g. a StrEnum member).
        return str.__str__(key)
    raise _Rejected(key, is_key=True)


def _canon_mapping(mapping: Mapping[Any, Any]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, item in mapping.items():
        if type(key) is not str:
            key = _canon_key(key)
        t = type(item)
        if t is str or t is int or t is bool or item is None:
            out[key] = item
            continue
        try:
            out[key] = _canon(item)
        except _Rejected as rejected:
            rejected.segments.append(f"[{key!r}]")
            raise
    if len(out) > 1:
        # Sorted so the canonical object itself (not only its JSON) is order-free.
        out = {key: out[key] for key in sorted(out)}
    return out


def _canon_sequence(items: Any) -> list[object]:
    out: list[object] = []
    for index, item in enumerate(items):
        t = type(item)
        if t is str or t is int or t is bool or item is None:
            out.append(item)
            continue
        try:
            out.append(_canon(item))
        except _Rejected as rejected:
            rejected.segments.append(f"[{index}]")
            raise
    return out


def _canon_set(items: set[Any] | frozenset[Any]) -> list[object]:
    canon: list[object] = []
    for item in items:
        try:
            canon.append(_canon(item))
        except _Rejected as rejected:
            rejected.segments.append(f"{{{item!r}}}")
            raise
    # Sorting by JSON text gives one total order across mixed element types.
    return sorted(canon, key=_ENCODER.encode)


def _canon_other(value: Any) -> object:
    # Slow path: subclasses, rich types and duck-typed libraries, most specific first.
    if isinstance(value, type):
        raise _Rejected(value, is_key=False)
    if isinstance(value, Enum):
        return _canon(value.value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return _canon_float(float.__float__(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, Mapping):
        return _canon_mapping(value)
    if isinstance(value, (list, tuple)):
        return _canon_sequence(value)
    if isinstance(value, (set, frozenset)):
        return _canon_set(value)
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if callable(getattr(value, "model_dump", None)):
        return _canon(value.model_dump(mode="python"))
    if dataclasses.is_dataclass(value):
        return _canon_dataclass(value)
    if hasattr(value, "dtype") and callable(getattr(value, "tolist", None)):
        return _canon(value.tolist())
    # Last, so a registration can only give a form to values that were rejected before.
    convert = _registered_for(type(value)) if _REGISTERED else None
    if convert is None:
        raise _Rejected(value, is_key=False)
    return _canon_registered(value, convert)


def _registered_for(cls: type) -> Callable[[Any], object] | None:
    try:
        return _RESOLVED[cls]
    except KeyError:
        pass
    found = next((_REGISTERED[base] for base in cls.__mro__ if base in _REGISTERED), None)
    _RESOLVED[cls] = found
    return found


def _canon_registered(value: Any, convert: Callable[[Any], object]) -> object:
    try:
        result = convert(value)
    except Exception as exc:  # user code: report it where it sits in the config
        raise _Rejected(value, is_key=False, reason=f"{type(exc).__name__}: {exc}") from exc
    if type(result) is type(value):
        # Would recurse forever; a cycle through other types ends as RecursionError.
        raise _Rejected(value, is_key=False, reason="its function returned the same type")
    return _canon(result)


def _canon_dataclass(value: Any) -> dict[str, object]:
    out: dict[str, object] = {}
    for field in dataclasses.fields(value):
        try:
            out[field.name] = _canon(getattr(value, field.name))
        except _Rejected as rejected:
            # Attribute syntax in the error path, as users would write it.
            rejected.segments.append(f".{field.name}")
            raise
    return {name: out[name] for name in sorted(out)}
