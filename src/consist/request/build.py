"""Validate and normalise the keyword arguments of run / trace / begin_run into a RunRequest."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from consist.errors import ConfigError
from consist.model.limits import (
    validate_name,
    validate_optional_int,
    validate_optional_str,
    validate_tags,
)
from consist.options import CacheOptions, ExecutionOptions, OutputPolicyOptions
from consist.request.spec import RunRequest


def new_run_id(name: str) -> str:
    """A readable, collision-free run id: ``<name>-<UTC time>-<random>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{name}-{stamp}-{uuid.uuid4().hex[:12]}"


def _check_type(value: Any, expected: type | tuple[type, ...], parameter: str, hint: str) -> None:
    if value is not None and not isinstance(value, expected):
        raise ConfigError(
            f"{parameter} must be {hint}, got {type(value).__name__} {value!r}.",
            fix=f"Pass {parameter} as {hint}.",
            parameter=parameter,
        )


def _outputs(outputs: Any) -> tuple[str, ...] | None:
    if outputs is None:
        return None
    if isinstance(outputs, str):
        outputs = [outputs]
    keys = tuple(outputs)
    for key in keys:
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"outputs contains {key!r}; output keys must be non-empty strings.",
                fix="Pass outputs=['key', ...].",
                parameter="outputs",
            )
    return keys


def build_request(
    *,
    fn: Callable[..., Any] | None,
    name: str | None,
    run_id: str | None,
    model: str | None,
    cache: CacheOptions,
    output_policy: OutputPolicyOptions | None = None,
    execution: ExecutionOptions | None = None,
    runtime_kwargs: Mapping[str, Any] | None = None,
    tags: Any = None,
    year: Any = None,
    iteration: Any = None,
    stage: Any = None,
    phase: Any = None,
    description: Any = None,
    parent_run_id: Any = None,
    outputs: Any = None,
    output_paths: Any = None,
    artifact_dir: Any = None,
    **rest: Any,
) -> RunRequest:
    """Check every argument and return the request; raise ConfigError on the first bad one."""
    if fn is not None and not callable(fn):
        raise ConfigError(
            f"fn={fn!r} is not callable.", fix="Pass a function, e.g. fn=my_step.", parameter="fn"
        )
    if name is None:
        name = getattr(fn, "__name__", None) if fn is not None else None
        if name is None or name == "<lambda>":
            name = model or (run_id if run_id else None)
        if name is None:
            raise ConfigError(
                "The run has no name.",
                fix="Pass name=... (or fn=..., whose name is used).",
                parameter="name",
            )
    validate_name(name, "name")
    model = validate_name(model if model is not None else name, "model")
    run_id = validate_name(run_id, "run_id") if run_id is not None else new_run_id(name)
    _check_type(output_policy, OutputPolicyOptions, "output_policy", "an OutputPolicyOptions")
    _check_type(execution, ExecutionOptions, "execution_options", "an ExecutionOptions")
    _check_type(runtime_kwargs, Mapping, "runtime_kwargs", "a mapping of parameter names")
    _check_type(output_paths, Mapping, "output_paths", "a mapping of key -> path")
    execution = execution or ExecutionOptions()
    if runtime_kwargs:
        merged = {**(execution.runtime_kwargs or {}), **runtime_kwargs}
        execution = ExecutionOptions(execution.input_binding, merged)
    return RunRequest(
        name=name,
        model=model,
        run_id=run_id,
        fn=fn,
        description=validate_optional_str(description, "description"),
        tags=tuple(validate_tags(tags)),
        year=validate_optional_int(year, "year"),
        iteration=validate_optional_int(iteration, "iteration"),
        stage=validate_optional_str(stage, "stage"),
        phase=validate_optional_str(phase, "phase"),
        parent_run_id=validate_optional_str(parent_run_id, "parent_run_id"),
        outputs=_outputs(outputs),
        output_paths=output_paths,
        cache=cache,
        output_policy=output_policy or OutputPolicyOptions(),
        execution=execution,
        artifact_dir=os.fspath(artifact_dir) if artifact_dir is not None else None,
        **rest,
    )
