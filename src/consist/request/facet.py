"""``facet=`` / ``facet_from=`` / ``facet_schema_version=`` / ``facet_index=`` -> a ConfigFacet.

The facet of a run is fixed when the run begins (it is part of the request, not of the
identity). ``facet_from`` names top-level config keys whose values are copied into the
facet; an explicit ``facet`` wins over a copied key of the same name. The namespace is
the run's model name. A facet is limited to the size of run metadata (it is meant to be
small): larger values belong in the config or in files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from consist.errors import ConfigError
from consist.model.facet import ConfigFacet, facet_id, plain_mapping
from consist.model.limits import check_size
from consist.model.plain import plain_value
from consist.settings import MAX_META_BYTES


def build_facet(
    *,
    namespace: str,
    config: object,
    facet: object,
    facet_from: object,
    version: object,
    index: object,
    parameter: str = "facet",
) -> ConfigFacet | None:
    """The run's ConfigFacet, or None when neither ``facet`` nor ``facet_from`` is given."""
    checked_version = check_schema_version(version, f"{parameter}_schema_version")
    checked_index = check_index(index, f"{parameter}_index", default=True)
    keys = _facet_from(facet_from)
    if facet is None and not keys:
        return None
    payload: dict[str, Any] = {}
    if keys:
        source = _config_mapping(config)
        for key in keys:
            if key not in source:
                raise ConfigError(
                    f"facet_from names {key!r}, which is not a key of the run's config "
                    f"(keys: {sorted(source)[:20]}).",
                    fix="List top-level config keys in facet_from, or pass facet={...}.",
                    parameter="facet_from",
                )
            payload[key] = plain_value(source[key], f"config.{key}")
    schema_name = None
    if facet is not None:
        if not isinstance(facet, Mapping):
            schema_name = type(facet).__name__
        payload.update(plain_mapping(facet, parameter))
    size = len(json.dumps(payload, ensure_ascii=False, default=repr).encode("utf-8", "replace"))
    check_size(size, MAX_META_BYTES, parameter, "CONSIST_MAX_META_BYTES")
    return ConfigFacet(
        id=facet_id(namespace, payload, schema_name, checked_version),
        namespace=namespace,
        payload=payload,
        schema_name=schema_name,
        schema_version=checked_version,
        index=checked_index,
    )


def check_schema_version(value: object, parameter: str) -> str | int | None:
    if value is None or (isinstance(value, (str, int)) and not isinstance(value, bool)):
        return value
    raise ConfigError(
        f"{parameter}={value!r} must be a string, an integer or None.",
        fix=f"Pass {parameter}=1 or {parameter}='v2'.",
        parameter=parameter,
    )


def check_index(value: object, parameter: str, *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    raise ConfigError(
        f"{parameter}={value!r} must be True, False or None.",
        fix=f"Pass {parameter}=True to make the facet queryable.",
        parameter=parameter,
    )


def _facet_from(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(
            f"facet_from={value!r} must be a list of config keys.",
            fix=f"Pass facet_from=[{value!r}]."
            if isinstance(value, str)
            else "Pass facet_from=['key', ...].",
            parameter="facet_from",
        )
    for key in value:
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"facet_from contains {key!r}; config keys are non-empty strings.",
                fix="Pass facet_from=['key', ...].",
                parameter="facet_from",
            )
    return list(value)


def _config_mapping(config: object) -> Mapping[str, Any]:
    if isinstance(config, Mapping):
        return config
    if callable(getattr(config, "model_dump", None)):
        dumped = config.model_dump(mode="python")  # type: ignore[attr-defined]
        return dumped if isinstance(dumped, Mapping) else {}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    raise ConfigError(
        "facet_from needs a config to copy keys from, but the run has no config.",
        fix="Pass config={...} with those keys, or pass the values as facet={...}.",
        parameter="facet_from",
    )
