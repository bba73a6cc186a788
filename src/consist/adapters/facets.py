"""Config facets from a plan: ``prepare_config(facet_spec=...)`` -> the run's ConfigFacet.

The spec (``facet_spec``) maps a facet key to a value of the resolved configuration:

    {"sample_size": ("settings.yaml", "households_sample_size"),
     "vot": "trip_mode_choice.yaml:CONSTANTS.vot_threshold",
     "coef.ivt": ("trip_mode_choice_coefficients.csv", "coef_ivt")}

Rules:

* A selector is ``(file, key)`` or the string ``"file:key"`` (split at the first
  colon). ``file`` is a logical config file of the plan (its ``rel``, e.g.
  ``settings.yaml``, ``sub/x.yaml``); ``key`` is a dotted path into that file's parsed
  document, with a literal dot written ``\\.`` (as in flattened facet keys).
* Lookup is the adapter's when it has ``facet_value(rel, document, path)`` (e.g.
  ActivitySim reads coefficient CSVs by coefficient name), else a walk through nested
  mappings. A file or key the configuration does not have is a ConfigError naming the
  selector, raised by ``prepare_config`` already (the plan holds the documents).
* A dotted facet key nests (``"coef.ivt"`` -> ``{"coef": {"ivt": ...}}``), so its
  flattened key in ``run_config_kv`` is ``coef.ivt``; two facet keys that would nest
  into each other are a ConfigError.
* On a run, the plan's values are merged with the run's own facet (``facet=`` /
  ``facet_from=``): the run's values win on the same (flattened) key, the run's schema name and
  version win when set, and the plan's ``facet_index`` wins when it is not None (else
  the run's, default True). The namespace is the run's model name, as for every run
  facet. Facets are never part of the identity.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from consist.adapters.base import ConfigPlan
from consist.errors import ConfigError
from consist.model.facet import ConfigFacet, facet_id, plain_mapping
from consist.model.limits import check_size
from consist.request.facet import check_index, check_schema_version
from consist.settings import MAX_META_BYTES

_MISSING = object()


def split_key(key: str) -> list[str]:
    """A dotted key's parts; ``\\.`` is a literal dot and ``\\\\`` a backslash."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(key)
    for char in chars:
        if char == "\\":
            current.append(next(chars, "\\"))
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def check_facet_options(
    facet_spec: object, schema_name: object, schema_version: object, index: object
) -> None:
    """The ``prepare_config`` facet options' types; the first bad one raises ConfigError."""
    if facet_spec is not None and not isinstance(facet_spec, Mapping):
        raise ConfigError(
            f"facet_spec={facet_spec!r} must be a dict of facet key -> (file, key).",
            fix="Pass facet_spec={'sample_size': ('settings.yaml', 'households_sample_size')}.",
            parameter="facet_spec",
        )
    if schema_name is not None and (not isinstance(schema_name, str) or not schema_name):
        raise ConfigError(
            f"facet_schema_name={schema_name!r} must be a non-empty string or None.",
            fix="Pass facet_schema_name='asim_facet'.",
            parameter="facet_schema_name",
        )
    check_schema_version(schema_version, "facet_schema_version")
    check_index(index, "facet_index", default=True)
    if facet_spec is None and (schema_name is not None or schema_version is not None):
        raise ConfigError(
            "facet_schema_name / facet_schema_version were given without facet_spec: the "
            "plan has no facet for them to describe.",
            fix="Pass facet_spec={facet key: (file, key), ...} too, or drop them.",
            parameter="facet_spec",
        )


def plan_facet_values(plan: ConfigPlan) -> dict[str, Any] | None:
    """The facet payload ``plan.facet`` (the spec) selects, or None without a spec."""
    spec = plan.facet
    if spec is None:
        return None
    payload: dict[str, Any] = {}
    for facet_key, selector in spec.items():
        if not isinstance(facet_key, str) or not facet_key:
            raise ConfigError(
                f"facet_spec has the key {facet_key!r}; facet keys are non-empty strings.",
                fix="Name each facet value, e.g. {'sample_size': ('settings.yaml', ...)}.",
                parameter="facet_spec",
            )
        rel, key = _selector(facet_key, selector)
        _put(payload, facet_key, _lookup(plan, facet_key, rel, key))
    # The same JSON rules as facet=...: numpy scalars become numbers, objects are refused.
    return plain_mapping(payload, "facet_spec")


def merge_plan_facet(
    run_facet: ConfigFacet | None, plan: ConfigPlan, namespace: str
) -> ConfigFacet | None:
    """The run's facet with the plan's values merged in (module rules)."""
    values = plan_facet_values(plan)
    if values is None:
        return run_facet
    payload = _deep_merge(values, run_facet.payload if run_facet is not None else {})
    schema_name = run_facet.schema_name if run_facet is not None else None
    schema_name = schema_name or plan.facet_schema_name
    version = run_facet.schema_version if run_facet is not None else None
    version = plan.facet_schema_version if version is None else version
    if plan.facet_index is not None:
        index = plan.facet_index
    else:
        index = run_facet.index if run_facet is not None else True
    size = len(json.dumps(payload, ensure_ascii=False, default=repr).encode("utf-8", "replace"))
    check_size(size, MAX_META_BYTES, "facet_spec", "CONSIST_MAX_META_BYTES")
    return ConfigFacet(
        id=facet_id(namespace, payload, schema_name, version),
        namespace=namespace,
        payload=payload,
        schema_name=schema_name,
        schema_version=version,
        index=index,
    )


def _selector(facet_key: str, selector: object) -> tuple[str, str]:
    if isinstance(selector, str) and ":" in selector:
        rel, _, key = selector.partition(":")
    elif (
        isinstance(selector, Sequence)
        and not isinstance(selector, str)
        and len(selector) == 2
        and all(isinstance(part, str) for part in selector)
    ):
        rel, key = selector
    else:
        raise ConfigError(
            f"facet_spec[{facet_key!r}] = {selector!r} is not a (file, key) selector.",
            fix="Pass ('settings.yaml', 'households_sample_size') or "
            "'settings.yaml:households_sample_size'.",
            parameter="facet_spec",
        )
    if not rel or not key:
        raise ConfigError(
            f"facet_spec[{facet_key!r}] = {selector!r} needs both a file and a key.",
            fix="Pass ('settings.yaml', 'households_sample_size').",
            parameter="facet_spec",
        )
    return rel, key


def _lookup(plan: ConfigPlan, facet_key: str, rel: str, key: str) -> Any:
    if rel not in plan.documents:
        files = sorted(plan.documents)
        raise ConfigError(
            f"facet_spec[{facet_key!r}] names the file {rel!r}, which is not part of the "
            f"{plan.adapter_name} configuration (files: {files[:20]}).",
            fix="Name a config file by its path relative to the config directories.",
            parameter="facet_spec",
        )
    document = plan.documents[rel]
    path = split_key(key)
    hook = getattr(plan.adapter, "facet_value", None)
    try:
        if callable(hook):
            return hook(rel, document, path)
        return mapping_value(document, path)
    except KeyError:
        raise ConfigError(
            f"facet_spec[{facet_key!r}]: the config file {rel!r} has no key {key!r}.",
            fix="Check the key (a dotted path into the file; a literal dot is written \\.).",
            parameter="facet_spec",
        ) from None


def mapping_value(document: object, path: Sequence[str]) -> Any:
    """The value at ``path`` through nested mappings; KeyError when it is not there."""
    value = document
    for part in path:
        if not isinstance(value, Mapping):
            raise KeyError(part)
        found = value.get(part, _MISSING)
        if found is _MISSING:
            raise KeyError(part)
        value = found
    return value


def _put(payload: dict[str, Any], facet_key: str, value: Any) -> None:
    """Set ``value`` at the nested position of the dotted ``facet_key``."""
    *parents, last = split_key(facet_key)
    node = payload
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict) or not part:
            raise _overlap(facet_key)
        node = child
    if not last or last in node:
        raise _overlap(facet_key)
    node[last] = value


def _overlap(facet_key: str) -> ConfigError:
    return ConfigError(
        f"facet_spec key {facet_key!r} overlaps another facet key (a dotted key nests: "
        "'a.b' lives inside 'a'), or has an empty part.",
        fix="Give each facet value its own key, e.g. 'coef.ivt' and 'coef.walk'.",
        parameter="facet_spec",
    )


def _deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
