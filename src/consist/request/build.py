"""A facade call becomes one RunRequest: every argument checked, options parsed to enums.

The facade passes its arguments as one mapping (``locals()`` of its first statement), so
the keyword set is restated nowhere but in request/spec.py. The first bad argument raises a
ConfigError naming it; an unknown keyword raises UnknownKeywordError with the closest
valid name.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from consist.errors import ConfigError, UnknownKeywordError
from consist.execute.watch import check_dir
from consist.identity.inputs import iter_named_refs
from consist.model.clock import utc_stamp
from consist.model.ids import random_hex
from consist.model.limits import (
    validate_meta,
    validate_name,
    validate_optional_int,
    validate_optional_str,
    validate_tags,
)
from consist.model.plain import plain_numbers
from consist.options import (
    CacheMode,
    CacheOptions,
    CodeIdentityMode,
    ExecutionOptions,
    Hydration,
    InputBinding,
    OutputAction,
    OutputPolicyOptions,
    ValidateMode,
)
from consist.request.facet import build_facet
from consist.request.spec import (
    BEGIN_RUN_FIELDS,
    CacheSpec,
    ExecutionStyle,
    OutputSpec,
    RunKwargs,
    RunRequest,
    StepKwargs,
    TraceKwargs,
)

if TYPE_CHECKING:
    from consist.adapters.base import ConfigPlan
    from consist.model.facet import ConfigFacet

RUN_KEYWORDS = frozenset(RunKwargs.__annotations__)
TRACE_KEYWORDS = frozenset(TraceKwargs.__annotations__)
_STEP_KEYWORDS = tuple(StepKwargs.__annotations__)
_STEP_KEYWORD_SET = frozenset(_STEP_KEYWORDS)


_DEFAULT_CACHE = CacheSpec()
_DEFAULT_POLICY = OutputPolicyOptions()


def new_run_id(name: str) -> str:
    """A readable, collision-free run id: ``<name>-<UTC time>-<random>``."""
    return f"{name}-{utc_stamp()}-{random_hex(48)}"


#: Keywords the reference retired from run / trace, with their replacement.
RETIRED_KEYWORDS = {"config_plan": "adapter", "hash_inputs": "identity_inputs"}


def check_keywords(given: Iterable[str], allowed: Iterable[str], where: str) -> None:
    """Refuse a keyword outside ``allowed``, suggesting the closest valid one."""
    valid = sorted(allowed)
    for name in given:
        if name in RETIRED_KEYWORDS and name not in valid:
            raise UnknownKeywordError(
                f"{name} is not accepted on {where}(...): config_plan and hash_inputs are "
                "not accepted on Tracker.run(...) and Tracker.trace(...).",
                fix=f"Use adapter and identity_inputs ({name}= becomes {RETIRED_KEYWORDS[name]}=).",
                parameter=name,
            )
        if name not in valid:
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"Did you mean {close[0]!r}?" if close else f"Valid: {', '.join(valid)}."
            raise UnknownKeywordError(
                f"{where} got an unknown keyword argument {name!r}.",
                fix=hint,
                parameter=name,
            )


def request_from_run(call: Mapping[str, Any]) -> RunRequest:
    """``Tracker.run``'s arguments (fn, name and RunKwargs) as a RunRequest."""
    fn = call.get("fn")
    execution = _typed(
        call.get("execution_options"), ExecutionOptions, "execution_options", "ExecutionOptions"
    )
    container = container_spec(execution, call.get("output_paths"))
    if fn is None and container is None:
        raise ConfigError(
            "tracker.run needs fn=... (the function to run).",
            fix="Pass fn=your_function, or use tracker.trace(...) for inline code.",
            parameter="fn",
        )
    if fn is not None and not callable(fn):
        raise ConfigError(
            f"fn={fn!r} is not callable.", fix="Pass a function, e.g. fn=my_step.", parameter="fn"
        )
    options = _typed(call.get("cache_options"), CacheOptions, "cache_options", "CacheOptions")
    policy = _typed(
        call.get("output_policy"), OutputPolicyOptions, "output_policy", "OutputPolicyOptions"
    )
    runtime = _typed(
        call.get("runtime_kwargs"), Mapping, "runtime_kwargs", "a mapping of parameter names"
    )
    # The option objects parsed their values already; defaults skip building new ones.
    cache = _DEFAULT_CACHE
    if options is not None:
        cache = _cache_spec(
            options.cache_mode,
            options.cache_version,
            options.cache_epoch,
            options.code_identity,
            options.code_identity_extra_deps,
            options.cache_hydration,
            options.validate_cached_outputs,
        )
    policy = policy or _DEFAULT_POLICY
    binding = InputBinding.AUTO if execution is None else execution.input_binding
    runtime_kwargs = runtime or {}
    if execution is not None and execution.runtime_kwargs:
        runtime_kwargs = {**execution.runtime_kwargs, **runtime_kwargs}
    return _build(
        ExecutionStyle.FUNCTION,
        call,
        fn=fn,
        cache=cache,
        missing=policy.output_missing,
        mismatch=policy.output_mismatch,
        input_binding=InputBinding.parse(binding, "input_binding"),
        runtime_kwargs=runtime_kwargs,
        container=container,
    )


def request_from_trace(call: Mapping[str, Any], caller_file: str | None) -> RunRequest:
    """``Tracker.trace``'s arguments (name and TraceKwargs) as a RunRequest."""
    return _build(
        ExecutionStyle.TRACE,
        call,
        cache=_flat_cache_spec(call),
        missing=call.get("output_missing", OutputAction.WARN),
        mismatch=call.get("output_mismatch", OutputAction.WARN),
        caller_file=caller_file,
    )


def request_from_begin_run(
    call: Mapping[str, Any], extra: Mapping[str, Any], caller_file: str | None
) -> RunRequest:
    """``begin_run``'s arguments as a RunRequest; ``extra`` keywords that are not run
    fields (BEGIN_RUN_FIELDS) become ``run.meta``, as the reference documents."""
    # Run keywords begin_run does not take would otherwise vanish silently into meta.
    misplaced = sorted(
        set(extra) & (RUN_KEYWORDS | TRACE_KEYWORDS | {"fn"}) - set(BEGIN_RUN_FIELDS)
    )
    if misplaced:
        raise UnknownKeywordError(
            f"begin_run does not take {misplaced[0]!r} (it would be stored as metadata).",
            fix="Pass cache controls as begin_run's own keywords (cache_mode=, cache_version=, "
            "...), or use tracker.run / tracker.trace for the others.",
            parameter=misplaced[0],
        )
    fields = {key: extra[key] for key in BEGIN_RUN_FIELDS if key in extra}
    meta = {key: plain_numbers(value) for key, value in extra.items() if key not in fields}
    validate_meta(meta, "meta")
    merged = {**call, **fields, "name": fields.get("name") or call["run_id"]}
    if call.get("hash_inputs") is not None:  # begin_run's legacy name, additive
        merged["identity_inputs"] = [
            *iter_named_refs(fields.get("identity_inputs"), "identity_inputs"),
            *iter_named_refs(call["hash_inputs"], "hash_inputs"),
        ]
    return _build(
        ExecutionStyle.IMPERATIVE,
        merged,
        cache=_flat_cache_spec(call),
        artifact_dir=call.get("artifact_dir"),
        allow_external_paths=_optional_bool(
            call.get("allow_external_paths"), "allow_external_paths"
        ),
        caller_file=caller_file,
        meta=meta,
    )


def _build(
    style: ExecutionStyle,
    call: Mapping[str, Any],
    *,
    cache: CacheSpec,
    fn: Callable[..., Any] | None = None,
    missing: object = OutputAction.WARN,
    mismatch: object = OutputAction.WARN,
    input_binding: InputBinding = InputBinding.AUTO,
    runtime_kwargs: Mapping[str, Any] | None = None,
    artifact_dir: object = None,
    allow_external_paths: bool = False,
    caller_file: str | None = None,
    meta: Mapping[str, Any] | None = None,
    container: Any = None,
) -> RunRequest:
    if call.keys() >= _STEP_KEYWORD_SET:
        step = call  # run()'s locals hold every step keyword: read in place, not copied
    else:
        step = dict(zip(_STEP_KEYWORDS, map(call.get, _STEP_KEYWORDS), strict=True))
    if step["input_keys"] is not None or step["optional_input_keys"] is not None:
        from consist.request.input_keys import refuse_outside_scenario

        where = "tracker.run" if style is ExecutionStyle.FUNCTION else "tracker.trace"
        refuse_outside_scenario(step, where)  # a scenario step has resolved them already
    name, model, run_id = _names(fn, call.get("name"), step["model"], step["run_id"])
    plan, identity_inputs, plan_meta = _adapter_plan(step["adapter"], step["identity_inputs"])
    output_paths = _typed(step["output_paths"], Mapping, "output_paths", "a mapping of key -> path")
    pattern = "*" if step["capture_pattern"] is None else step["capture_pattern"]
    if not isinstance(pattern, str) or not pattern or "\x00" in pattern:
        raise ConfigError(
            f"capture_pattern={pattern!r} must be a non-empty glob pattern.",
            fix="Pass capture_pattern='*.csv' (or leave the default '*').",
            parameter="capture_pattern",
        )
    return RunRequest(
        style=style,
        name=name,
        model=model,
        run_id=run_id,
        fn=fn,
        description=validate_optional_str(step["description"], "description"),
        config=_config(step["config"]),
        inputs=step["inputs"],
        depends_on=step["depends_on"],
        identity_inputs=identity_inputs,
        tags=tuple(validate_tags(step["tags"])),
        year=validate_optional_int(step["year"], "year"),
        iteration=validate_optional_int(step["iteration"], "iteration"),
        stage=validate_optional_str(step["stage"], "stage"),
        phase=validate_optional_str(step["phase"], "phase"),
        parent_run_id=validate_optional_str(step["parent_run_id"], "parent_run_id"),
        output=OutputSpec(
            keys=_output_keys(step["outputs"]),
            paths=output_paths,
            missing=OutputAction.parse(missing, "output_missing"),
            mismatch=OutputAction.parse(mismatch, "output_mismatch"),
            capture_dir=(
                None
                if step["capture_dir"] is None
                else check_dir(step["capture_dir"], "capture_dir")
            ),
            capture_pattern=pattern,
        ),
        cache=cache,
        input_binding=input_binding,
        runtime_kwargs=dict(runtime_kwargs or {}),
        artifact_dir=_optional_path(artifact_dir, "artifact_dir"),
        allow_external_paths=allow_external_paths,
        caller_file=caller_file,
        meta={**(meta or {}), **plan_meta},
        facet=_facet(step, model, plan),
        config_plan=plan,
        config_plan_ingest=_flag(step["config_plan_ingest"], True, "config_plan_ingest"),
        config_plan_profile_schema=_flag(
            step["config_plan_profile_schema"], False, "config_plan_profile_schema"
        ),
        container=container,
    )


def _adapter_plan(adapter: object, identity_inputs: Any) -> tuple[Any, Any, dict[str, Any]]:
    """``adapter=``: its prepared plan, identity inputs + one part per config file, meta.

    A ConfigPlan (``tracker.prepare_config(...)``) is prepared again from its adapter and
    directories (memoised: a stat per file), so the run's identity and bundle are those of
    the files as they are now; the plan contributes its facet options.
    """
    if adapter is None:
        return None, identity_inputs, {}
    # adapters load only when a run uses one (tests/test_import_cost.py)
    from consist.adapters.apply import plan_identity_refs
    from consist.adapters.base import ConfigPlan
    from consist.adapters.plan import check_adapter, prepare_config, replan

    if isinstance(adapter, ConfigPlan):
        plan = replan(adapter)
    else:  # slices: derived when applied
        plan = prepare_config(check_adapter(adapter), with_tables=False)
    refs = [*iter_named_refs(identity_inputs, "identity_inputs"), *plan_identity_refs(plan)]
    return plan, refs, {"config_adapter": plan.adapter_name, "config_identity": plan.identity}


def _facet(step: Mapping[str, Any], model: str, plan: ConfigPlan | None) -> ConfigFacet | None:
    """The run's facet (``facet=`` / ``facet_from=``), with a plan's ``facet_spec`` values."""
    if (
        plan is None
        and step["facet"] is None
        and step["facet_from"] is None
        and step["facet_schema_version"] is None
        and step["facet_index"] is None
    ):
        return None  # the common call: nothing to build or check
    facet = build_facet(
        namespace=model,
        config=step["config"],
        facet=step["facet"],
        facet_from=step["facet_from"],
        version=step["facet_schema_version"],
        index=step["facet_index"],
    )
    if plan is None or plan.facet is None:
        return facet
    from consist.adapters.facets import merge_plan_facet

    return merge_plan_facet(facet, plan, model)


_FACET_KEYWORDS = ("facet", "facet_from", "facet_schema_version", "facet_index")


def _flag(value: object, default: bool, parameter: str) -> bool:
    return default if value is None else _optional_bool(value, parameter)


def container_spec(execution: ExecutionOptions | None, output_paths: object) -> Any:
    """executor='container': the parsed ContainerSpec; output_paths are required."""
    if execution is None or execution.executor != "container":
        return None
    from consist.execute.container import ContainerSpec

    if not output_paths:
        raise ConfigError(
            "executor='container' needs output_paths={key: host path}: a container run "
            "returns no Python value to log.",
            fix="Pass output_paths={'result': 'out/result.csv', ...}.",
            parameter="output_paths",
        )
    return ContainerSpec.parse(execution.container)


def _names(
    fn: Callable[..., Any] | None, name: object, model: object, run_id: object
) -> tuple[str, str, str]:
    """(name, model, run_id): name defaults to fn's name, model to the name."""
    if name is None:
        name = getattr(fn, "__name__", None) if fn is not None else None
        if name is None or name == "<lambda>":
            name = model or run_id or None
        if name is None:
            raise ConfigError(
                "The run has no name.",
                fix="Pass name=... (or fn=..., whose name is used).",
                parameter="name",
            )
    checked = validate_name(name, "name")
    model_name = validate_name(model if model is not None else checked, "model")
    run = validate_name(run_id, "run_id") if run_id is not None else new_run_id(checked)
    return checked, model_name, run


def _flat_cache_spec(call: Mapping[str, Any]) -> CacheSpec:
    """Cache controls given as flat keywords (trace, begin_run)."""
    return _cache_spec(
        call.get("cache_mode", CacheMode.REUSE),
        call.get("cache_version"),
        call.get("cache_epoch"),
        call.get("code_identity"),
        call.get("code_identity_extra_deps"),
        call.get("cache_hydration"),
        call.get("validate_cached_outputs", ValidateMode.LAZY),
    )


def _cache_spec(
    mode: object,
    version: object,
    epoch: object,
    code_identity: object,
    extra_deps: object,
    hydration: object = None,
    validate: object = ValidateMode.LAZY,
) -> CacheSpec:
    deps = () if extra_deps is None else extra_deps
    if isinstance(deps, str) or not isinstance(deps, (list, tuple)):
        raise ConfigError(
            f"code_identity_extra_deps={extra_deps!r} must be a list of file paths.",
            fix="Pass code_identity_extra_deps=['helpers.py', ...].",
            parameter="code_identity_extra_deps",
        )
    return CacheSpec(
        mode=CacheMode.parse(mode, "cache_mode"),
        version=validate_optional_int(version, "cache_version"),
        epoch=validate_optional_int(epoch, "cache_epoch"),
        code_identity=(
            None
            if code_identity is None
            else CodeIdentityMode.parse(code_identity, "code_identity")
        ),
        code_identity_extra_deps=tuple(os.fspath(dep) for dep in deps),
        hydration=None if hydration is None else Hydration.parse(hydration, "cache_hydration"),
        validate=ValidateMode.parse(validate, "validate_cached_outputs"),
    )


def _typed(value: Any, expected: type, parameter: str, hint: str) -> Any:
    if value is not None and not isinstance(value, expected):
        raise ConfigError(
            f"{parameter} must be {hint}, got {type(value).__name__} {value!r}.",
            fix=f"Pass {parameter} as {hint}.",
            parameter=parameter,
        )
    return value


def _config(config: object) -> object:
    """A run's config is a mapping, a pydantic-style model or a dataclass instance."""
    if (
        config is None
        or isinstance(config, Mapping)
        or callable(getattr(config, "model_dump", None))
        or (dataclasses.is_dataclass(config) and not isinstance(config, type))
    ):
        return config
    raise ConfigError(
        f"config must be a mapping (or a pydantic model / dataclass), got "
        f"{type(config).__name__} {_short(config)}.",
        fix="Pass config={'key': value, ...}; put lists or scalars under a key.",
        parameter="config",
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _optional_bool(value: object, parameter: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise ConfigError(
        f"{parameter}={value!r} must be True, False or None.",
        fix=f"Pass {parameter}=True to allow it.",
        parameter=parameter,
    )


def _optional_path(value: object, parameter: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(
            f"{parameter}={value!r} must be a path.",
            fix=f"Pass {parameter} as a str or pathlib.Path.",
            parameter=parameter,
        )
    return os.fspath(value)


def _output_keys(outputs: object) -> tuple[str, ...] | None:
    if outputs is None:
        return None
    items = [outputs] if isinstance(outputs, str) else outputs
    if not isinstance(items, (list, tuple)):
        raise ConfigError(
            f"outputs={outputs!r} must be a list of output keys.",
            fix="Pass outputs=['key', ...].",
            parameter="outputs",
        )
    for key in items:
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"outputs contains {key!r}; output keys must be non-empty strings.",
                fix="Pass outputs=['key', ...].",
                parameter="outputs",
            )
    return tuple(items)
