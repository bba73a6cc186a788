"""Calling the user's function: bind inputs and runtime kwargs, map returns to outputs."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from consist._libs.pandas import is_pandas_object
from consist.errors import ConfigError, RunStateError
from consist.formats.registry import driver_for_path, is_tabular, read_table
from consist.identity.inputs import ResolvedInput
from consist.model.artifact import Artifact
from consist.options import InputBinding
from consist.request.spec import RunRequest


class PythonExecutor:
    """Calls ``request.fn`` in this process (the Executor of ``Tracker.run``)."""

    def check(self, request: RunRequest) -> None:
        if request.fn is not None:
            check_runtime_kwargs(request.fn, request.runtime_kwargs)

    def execute(self, request: RunRequest, inputs: Sequence[ResolvedInput]) -> Any:
        if request.fn is None:
            raise RunStateError(
                f"Run {request.run_id!r} has no function to execute.",
                fix="Pass fn=... to tracker.run.",
            )
        kwargs = bind_arguments(
            request.fn,
            named_inputs=[item for item in inputs if item.role == "input"],
            binding=request.input_binding,
            config=request.config,
            runtime_kwargs=request.runtime_kwargs,
        )
        return request.fn(**kwargs)


_signatures: dict[Any, tuple[frozenset[str], bool, dict[str, Any]]] = {}


def _parameters(fn: Callable[..., Any]) -> tuple[frozenset[str], bool, dict[str, Any]]:
    """(parameter names, accepts **kwargs, annotations) - memoised per function."""
    key = getattr(fn, "__code__", None) or fn
    cached = _signatures.get(key)
    if cached is not None:
        return cached
    params = inspect.signature(fn).parameters
    names = frozenset(
        n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
    annotations = {n: p.annotation for n, p in params.items()}
    _signatures[key] = (names, var_kw, annotations)
    return names, var_kw, annotations


def _wants_loaded(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return "DataFrame" in text or "Series" in text


def bind_arguments(
    fn: Callable[..., Any],
    *,
    named_inputs: list[ResolvedInput],
    binding: InputBinding,
    config: Any,
    runtime_kwargs: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Keyword arguments for ``fn``: named inputs, ``config`` and runtime kwargs."""
    names, var_kw, annotations = _parameters(fn)
    kwargs: dict[str, Any] = {}
    if binding is not InputBinding.NONE:
        for item in named_inputs:
            if item.name not in names:
                continue
            load = binding is InputBinding.LOADED or (
                binding is InputBinding.AUTO and _wants_loaded(annotations.get(item.name))
            )
            driver = driver_for_path(item.abs_path)
            if load and is_tabular(driver):
                kwargs[item.name] = read_table(item.abs_path, driver)
            else:
                from pathlib import Path

                kwargs[item.name] = Path(item.abs_path)
    if config is not None and "config" in names and "config" not in kwargs:
        kwargs["config"] = config
    # runtime_kwargs were checked by check_runtime_kwargs before the cache lookup.
    kwargs.update(runtime_kwargs or {})
    return kwargs


def check_runtime_kwargs(fn: Callable[..., Any], runtime_kwargs: Mapping[str, Any] | None) -> None:
    """Reject runtime kwargs ``fn`` cannot take, before the cache lookup hides the typo."""
    if not runtime_kwargs:
        return
    names, var_kw, _ = _parameters(fn)
    if var_kw:
        return
    for key in runtime_kwargs:
        if key not in names:
            raise ConfigError(
                f"runtime_kwargs has {key!r}, but {getattr(fn, '__name__', fn)!r} takes no "
                f"parameter of that name (it takes: {', '.join(sorted(names)) or 'none'}).",
                fix="Rename the runtime kwarg or add the parameter to the function.",
                parameter="runtime_kwargs",
            )


def is_artifact_like(value: Any) -> bool:
    return isinstance(value, (str, PurePath, Artifact)) or is_pandas_object(value)


def split_returns(value: Any, declared: tuple[str, ...] | None) -> tuple[dict[str, Any], bool]:
    """Map a return value to {key: value}; the flag says it did not fit the declaration."""
    if value is None:
        return {}, False
    if isinstance(value, Mapping):
        items = {k: v for k, v in value.items() if is_artifact_like(v)}
        mismatch = declared is not None and set(items) != set(declared)
        return items, mismatch
    if declared is None:
        if is_artifact_like(value) and not is_pandas_object(value):
            return {_key_for(value): value}, False
        return {}, False
    if isinstance(value, (list, tuple)) and len(declared) != 1:
        pairs = dict(zip(declared, value, strict=False))
        return pairs, len(value) != len(declared)
    if len(declared) == 1:
        return {declared[0]: value}, not is_artifact_like(value)
    return {declared[0]: value}, True


def _key_for(value: Any) -> str:
    if isinstance(value, Artifact):
        return value.key
    name = os.path.basename(os.fspath(value))
    return name.split(".", 1)[0] or "output"
