"""Step defaults: ``define_step``, their merge into a call, and step name templates.

Rules (precedence, highest first):

1. keywords the caller passed explicitly (a keyword is "unset" when it is absent or None);
2. the function's ``define_step`` defaults;
3. the enclosing scenario's step defaults (``cache_epoch``, ``step_cache_hydration``);
4. the tracker's defaults (applied later, by request/build.py).

Defaults never replace a value the caller gave. Flat cache and output-policy keywords
(``cache_mode=``, ``cache_epoch=``, ``output_missing=``, ``input_binding=`` ...) fill the
matching field of ``run``'s option groups: without an explicit option object one is built
from them; with one, only its fields left at ``None`` are filled, so an explicit
``CacheOptions`` keeps its ``cache_mode`` (which is never None).

A step name is, in order: the explicit ``name``, ``define_step(name=...)``, the step's
``name_template``, the scenario's ``name_template``, and the function's ``__name__``.
Templates are ``str.format`` strings over :data:`TEMPLATE_FIELDS`; a field whose value is
None renders empty, and separators (``_-.``) left at either end are stripped.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from consist.errors import ConfigError, UnknownKeywordError
from consist.model.limits import validate_name, validate_optional_int, validate_tags
from consist.options import CacheOptions, ExecutionOptions, OutputPolicyOptions
from consist.request.build import RUN_KEYWORDS, check_keywords
from consist.request.input_keys import PARAMETERS, parse_keys

_F = TypeVar("_F", bound=Callable[..., Any])

#: Attribute ``define_step`` sets on the function (a read-only mapping).
STEP_ATTRIBUTE = "__consist_step__"

#: Fields a name template may use.
TEMPLATE_FIELDS = frozenset(
    {"fn_name", "func_name", "scenario", "model", "year", "iteration", "stage", "phase"}
)

# Option groups of ``run`` and the flat keywords that fill their fields. Read from the
# dataclasses, so a field added to an option group is a valid step default at once.
_OPTION_GROUPS: tuple[tuple[str, type[Any]], ...] = (
    ("cache_options", CacheOptions),
    ("output_policy", OutputPolicyOptions),
    ("execution_options", ExecutionOptions),
)
_FLAT_FIELDS = {
    f.name: group
    for group, cls in _OPTION_GROUPS
    for f in dataclasses.fields(cls)
    if f.name not in RUN_KEYWORDS  # runtime_kwargs is a keyword of run itself
}
_GROUP_CLASS = dict(_OPTION_GROUPS)
_NO_DEFAULTS: Mapping[str, Any] = MappingProxyType({})
_NAME_KEYS = frozenset({"name", "name_template"})
# A default run_id would give every call of the step the same id.
STEP_KEYWORDS = frozenset((RUN_KEYWORDS - {"run_id"}) | set(_FLAT_FIELDS) | _NAME_KEYS)


def define_step(**defaults: Any) -> Callable[[_F], _F]:
    """Attach run defaults (outputs, tags, cache_mode, ...) to a function.

    ``Tracker.run`` and ``ScenarioContext.run`` read them; explicit arguments win.
    Values are checked now, so a bad default fails at import, not at the first run.
    """
    check_keywords(defaults, STEP_KEYWORDS, "define_step")
    checked = _checked_defaults(defaults)

    def attach(fn: _F) -> _F:
        if not callable(fn):
            raise ConfigError(
                f"define_step decorates functions, got {type(fn).__name__} {fn!r}.",
                fix="Use @define_step(...) on a def.",
                parameter="fn",
            )
        merged = {**step_defaults(fn), **checked}  # a later define_step wins
        try:
            setattr(fn, STEP_ATTRIBUTE, MappingProxyType(merged))
        except (AttributeError, TypeError):
            raise ConfigError(
                f"define_step cannot attach defaults to {fn!r} (it takes no attributes).",
                fix="Wrap it in a def and decorate that.",
                parameter="fn",
            ) from None
        return fn

    return attach


def step_defaults(fn: object) -> Mapping[str, Any]:
    """The ``define_step`` defaults of ``fn`` (empty when it has none)."""
    found = getattr(fn, STEP_ATTRIBUTE, None)
    return found if isinstance(found, Mapping) else _NO_DEFAULTS


def apply_defaults(
    call: Mapping[str, Any], *layers: Mapping[str, Any], grouped: bool = True
) -> dict[str, Any]:
    """``call`` with its unset keywords filled from ``layers`` (highest first).

    ``grouped`` (``run``): flat option keywords fill the option groups; otherwise
    (``trace``) they stay flat. ``name`` / ``name_template`` are left for :func:`step_name`.
    """
    merged = dict(call)
    flat: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            group = _FLAT_FIELDS.get(key) if grouped else None
            if group is not None:
                flat.setdefault(group, {}).setdefault(key, value)
            elif merged.get(key) is None:
                merged[key] = value
    for group, fields in flat.items():
        merged[group] = _fill_group(_GROUP_CLASS[group], merged.get(group), fields)
    return merged


def step_name(
    call: Mapping[str, Any],
    fn: object,
    *,
    scenario: str | None = None,
    scenario_template: str | None = None,
) -> str | None:
    """The step's name: explicit, then a template (step's, then scenario's), else None."""
    if call.get("name") is not None:
        return str(call["name"])
    template = call.get("name_template") or scenario_template
    if template is None:
        return None
    fn_name = getattr(fn, "__name__", None)
    values = {
        "fn_name": fn_name,
        "func_name": fn_name,
        "scenario": scenario,
        "model": call.get("model"),
        "year": call.get("year"),
        "iteration": call.get("iteration"),
        "stage": call.get("stage"),
        "phase": call.get("phase"),
    }
    text = template.format_map({k: "" if v is None else v for k, v in values.items()})
    return validate_name(text.strip("_-."), "name_template")


def check_name_template(template: object, parameter: str = "name_template") -> str | None:
    """Refuse a template that is not a string or uses a field outside TEMPLATE_FIELDS."""
    if template is None:
        return None
    if not isinstance(template, str) or not template.strip():
        raise ConfigError(
            f"{parameter}={template!r} must be a non-empty format string.",
            fix=f"Pass e.g. {parameter}='{{fn_name}}_{{year}}'.",
            parameter=parameter,
        )
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigError(
            f"{parameter}={template!r} is not a valid format string ({exc}).",
            fix="Use {field} placeholders; write a literal brace as {{ or }}.",
            parameter=parameter,
        ) from None
    for field in fields:
        if field not in TEMPLATE_FIELDS:
            raise UnknownKeywordError(
                f"{parameter}={template!r} uses the unknown field {{{field}}}.",
                fix=f"Use only: {', '.join(sorted(TEMPLATE_FIELDS))}.",
                parameter=parameter,
            )
    return template


def _fill_group(cls: type[Any], explicit: object, fields: Mapping[str, Any]) -> Any:
    """An option group from flat defaults; an explicit group's None fields are filled."""
    if explicit is None:
        return cls(**fields)
    if not isinstance(explicit, cls):
        return explicit  # request/build.py refuses it with a named error
    unset = {k: v for k, v in fields.items() if getattr(explicit, k) is None}
    return dataclasses.replace(explicit, **unset) if unset else explicit


def _checked_defaults(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Validate what can be checked without a call; return the defaults unchanged."""
    for group, cls in _OPTION_GROUPS:  # parses enum values, naming the keyword
        fields = {k: v for k, v in defaults.items() if _FLAT_FIELDS.get(k) == group}
        if fields:
            cls(**fields)
        if defaults.get(group) is not None and not isinstance(defaults[group], cls):
            raise ConfigError(
                f"define_step({group}={defaults[group]!r}) must be a {cls.__name__}.",
                fix=f"Pass {group}={cls.__name__}(...), or its fields as keywords.",
                parameter=group,
            )
    if defaults.get("name") is not None:
        validate_name(defaults["name"], "name")
    check_name_template(defaults.get("name_template"))
    validate_tags(defaults.get("tags"))
    for key in ("year", "iteration"):
        validate_optional_int(defaults.get(key), key)
    for key in PARAMETERS:  # deprecated coupler keys: read when a scenario runs the step
        parse_keys(defaults.get(key), key)
    outputs = defaults.get("outputs")
    if outputs is not None:
        _check_outputs(outputs)
    return dict(defaults)


def _check_outputs(outputs: object) -> None:
    items: Iterable[object] = [outputs] if isinstance(outputs, str) else outputs  # type: ignore[assignment]
    if not isinstance(items, (list, tuple)) or not all(isinstance(k, str) and k for k in items):
        raise ConfigError(
            f"define_step(outputs={outputs!r}) must be a list of non-empty output keys.",
            fix="Pass outputs=['key', ...].",
            parameter="outputs",
        )
