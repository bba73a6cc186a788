"""Config facets: small, queryable config values persisted beside a run (or an artifact).

A facet is NOT part of a run's identity: two runs with the same config and different
facets share a cache entry. Rules (docs/queries.md, "Config facets"):

* a facet is a JSON object with string keys; values are JSON values (numpy scalars and
  arrays become plain numbers / lists, tuples lists, ``Enum`` members their value,
  paths their string). Anything else is a ConfigError naming the key path.
* ``ConfigFacet.id`` is a digest of (namespace, schema name, schema version, payload),
  so identical facets of many runs are stored once.
* flattening: nested objects become dotted keys; a literal ``.`` in a key is escaped as
  ``\\.`` and a literal backslash as ``\\\\``, so the flattening is reversible. Lists and
  empty objects are leaves (value_type ``json``).
* each leaf is one :class:`ConfigKV` row with a ``value_type`` of ``null``, ``bool``,
  ``int``, ``float``, ``str`` or ``json``; ``value_num`` holds ints and floats (as a
  double), ``value_str`` strings, ``value_bool`` booleans, and ``value_json`` holds
  every non-null value as JSON (exact, so an int beyond 2**53 reads back exactly; a non-finite
  float as the string "nan" / "inf" / "-inf").

Records only: no I/O. The store rows are built from these (store/*), the facade reads
them back with :meth:`ConfigKV.value`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from consist.errors import ConfigError
from consist.model.plain import plain_value

VALUE_TYPES = ("null", "bool", "int", "float", "str", "json")


def plain_mapping(value: Any, parameter: str) -> dict[str, Any]:
    """A facet payload (mapping, pydantic model or dataclass) as a plain JSON object."""
    if callable(getattr(value, "model_dump", None)) and not isinstance(value, type):
        value = value.model_dump(mode="python")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{parameter} must be a dict (or a pydantic model / dataclass), got "
            f"{type(value).__name__} {value!r:.80}.",
            fix=f"Pass {parameter}={{'key': value, ...}}.",
            parameter=parameter,
        )
    plain = plain_value(value, parameter)
    for key in _all_keys(plain):
        if not key:
            raise ConfigError(
                f"{parameter} has an empty key; flattened keys need a name at every level.",
                fix="Give every key a non-empty name.",
                parameter=parameter,
            )
    return dict(plain)


def _all_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _all_keys(item)


def escape_key(part: str) -> str:
    """One key segment as it appears in a flattened key."""
    return part.replace("\\", "\\\\").replace(".", "\\.")


def flatten(payload: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(flattened key, leaf value) pairs of a plain JSON object, in key order."""
    for key in sorted(payload):
        value = payload[key]
        full = prefix + escape_key(key)
        if isinstance(value, dict) and value:
            yield from flatten(value, full + ".")
        else:
            yield full, value


def value_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "json"


def json_text(value: Any) -> str:
    """Exact, key-sorted JSON; non-finite floats as the strings "nan" / "inf" / "-inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(repr(value))
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ConfigFacet:
    """One persisted facet: its payload and where it belongs.

    ``namespace`` is the run's model name; ``schema_name`` the pydantic model / dataclass
    class name the facet came from (None for a dict); ``index``: whether its leaves are
    flattened into ``run_config_kv`` (or ``artifact_kv``).
    """

    id: str
    namespace: str
    payload: dict[str, Any]
    schema_name: str | None = None
    schema_version: str | int | None = None
    index: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfigFacet:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def rows(self, run_id: str) -> list[ConfigKV]:
        """The flattened key/value rows of this facet for ``run_id`` (none if unindexed)."""
        if not self.index:
            return []
        return [
            ConfigKV.of(run_id, self.id, self.namespace, key, value)
            for key, value in flatten(self.payload)
        ]


def facet_id(
    namespace: str, payload: Mapping[str, Any], schema_name: str | None, version: object
) -> str:
    text = json_text([namespace, schema_name, version, payload])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ConfigKV:
    """One flattened facet leaf (a row of ``global_tables.run_config_kv``)."""

    run_id: str
    facet_id: str
    namespace: str
    key: str
    value_type: str
    value_str: str | None = None
    value_num: float | None = None
    value_bool: bool | None = None
    value_json: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, run_id: str, facet: str, namespace: str, key: str, value: Any) -> ConfigKV:
        kind = value_type(value)
        return cls(
            run_id=run_id,
            facet_id=facet,
            namespace=namespace,
            key=key,
            value_type=kind,
            value_str=value if kind == "str" else None,
            value_num=float(value) if kind in ("int", "float") else None,
            value_bool=value if kind == "bool" else None,
            value_json=None if kind == "null" else json_text(value),
        )

    @property
    def value(self) -> Any:
        """The leaf's value with its original type."""
        kind = self.value_type
        if kind == "bool":
            return self.value_bool
        if kind == "float":
            return self.value_num
        if kind == "str":
            return self.value_str
        if kind in ("int", "json") and self.value_json is not None:
            return json.loads(self.value_json)  # exact beyond 2**53, unlike value_num
        return None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
