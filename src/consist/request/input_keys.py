"""``input_keys`` / ``optional_input_keys``: the deprecated way to take a scenario's outputs.

Older workflows named coupler keys instead of passing artifacts. They are kept as
aliases of ``inputs``:

* inside a scenario step (``sc.run`` / ``sc.trace`` / ``sc.step``, or a ``define_step``
  default of a function run through one), each key of ``input_keys`` is taken from the
  scenario's Coupler as the input of that name; a key the coupler does not hold is a
  :class:`MissingInputError` naming it. Keys of ``optional_input_keys`` the coupler does
  not hold are skipped. Either one warns once per call with a DeprecationWarning naming
  the replacement, ``inputs={key: sc.coupler.require(key)}``;
* the artifacts join ``inputs`` under their keys, so the identity is exactly that of the
  replacement call (the step chains to the step that produced them). A key that
  ``inputs`` already names with a different artifact is a ConfigError;
* a str is one key; any other iterable of non-empty strings is a list of keys;
* outside a scenario there is no coupler to read: a non-empty value is a ConfigError
  (request/build.py), an empty one means nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from consist.errors import ConfigError, MissingInputError
from consist.identity.code import user_stacklevel
from consist.identity.inputs import iter_named_refs
from consist.model.artifact import Artifact

PARAMETERS = ("input_keys", "optional_input_keys")


def parse_keys(value: object, parameter: str) -> tuple[str, ...]:
    """``value`` as a tuple of keys (None and empty give ``()``)."""
    if value is None:
        return ()
    keys: tuple[object, ...] = (value,)
    if not isinstance(value, str) and isinstance(value, Iterable):
        keys = tuple(value)
    for key in keys:
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"{parameter}={value!r} contains {key!r}; keys are non-empty strings.",
                fix=f"Pass {parameter}='key' or {parameter}=['key', ...].",
                parameter=parameter,
            )
    return tuple(dict.fromkeys(str(key) for key in keys))


def refuse_outside_scenario(call: Mapping[str, Any], where: str) -> None:
    """A non-empty ``input_keys`` / ``optional_input_keys`` with no coupler to read."""
    for parameter in PARAMETERS:
        keys = parse_keys(call.get(parameter), parameter)
        if keys:
            raise ConfigError(
                f"{where}({parameter}={list(keys)!r}) reads a scenario's coupler, and this "
                "run is not a scenario step.",
                cause=f"{parameter} is a deprecated alias that takes the named outputs of "
                "earlier steps from the scenario's Coupler.",
                fix="Pass the artifacts as inputs={key: artifact}, or run the step through "
                f"a scenario: with tracker.scenario(...) as sc: sc.run(..., {parameter}=...).",
                parameter=parameter,
            )


def coupled_inputs(
    call: Mapping[str, Any], held: Mapping[str, Artifact], scenario: str
) -> dict[str, Any]:
    """``call`` with its input keys taken from ``held`` (the coupler) into ``inputs``.

    The returned call has both parameters set to ``()``, so a ``define_step`` default
    applied again by ``Tracker.run`` cannot bring them back.
    """
    required = parse_keys(call.get("input_keys"), "input_keys")
    optional = parse_keys(call.get("optional_input_keys"), "optional_input_keys")
    merged = {**call, "input_keys": (), "optional_input_keys": ()}
    if not required and not optional:
        return merged
    used = [p for p, keys in zip(PARAMETERS, (required, optional), strict=True) if keys]
    warnings.warn(
        f"{' and '.join(used)} are deprecated: pass the coupler's artifacts as inputs, "
        "e.g. inputs={key: sc.coupler.require(key)} (or sc.coupler.get(key) for an "
        "optional one).",
        DeprecationWarning,
        stacklevel=user_stacklevel(),
    )
    for key in required:
        if key not in held:
            have = ", ".join(repr(k) for k in held) or "none"
            raise MissingInputError(
                f"input_keys names {key!r}, which scenario {scenario!r}'s coupler does not "
                f"hold (it holds: {have}).",
                fix="Run the step that produces it first, or move the key to "
                "optional_input_keys if the step can do without it.",
                parameter="input_keys",
                value=key,
            )
    found = {key: held[key] for key in (*required, *optional) if key in held}
    merged["inputs"] = _merge(call.get("inputs"), found)
    return merged


def _merge(inputs: Any, found: Mapping[str, Artifact]) -> Any:
    """``inputs`` plus ``found``; a key named twice must name the same artifact."""
    if inputs is None:
        return dict(found)
    pairs = iter_named_refs(inputs, "inputs")
    given = dict(pairs)
    extra: dict[str, Artifact] = {}
    for key, artifact in found.items():
        if key not in given:
            extra[key] = artifact
            continue
        other = given[key]
        if not (isinstance(other, Artifact) and other.id == artifact.id):
            raise ConfigError(
                f"inputs[{key!r}] is {other!r}, while input_keys takes the coupler's "
                f"artifact {artifact.id!r} under the same name.",
                fix=f"Drop {key!r} from inputs or from input_keys / optional_input_keys.",
                parameter="inputs",
            )
    if isinstance(inputs, Mapping):
        return {**inputs, **extra}
    return [*pairs, *extra.items()]
