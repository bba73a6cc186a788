"""The run keyword set, declared once, and RunRequest: what one call asked for.

``RunKwargs`` (``Tracker.run``) and ``TraceKwargs`` (``Tracker.trace``) are the ONE
declaration of the keywords a run accepts beyond ``fn`` / ``name``. Both share
``StepKwargs``; ``run`` groups its cache, output and execution controls in option objects,
``trace`` takes them flat, as the reference documents. ``Tracker.run`` / ``Tracker.trace``
keep explicit signatures for readers and IDEs; tests/unit/request/test_run_kwargs.py checks
that they, ``begin_run`` and the reference agree with these TypedDicts.

The facade packs its arguments into a RunRequest as its first statement (request/build.py);
nothing below the facade takes more than a RunRequest. Option fields are parsed enums here,
so no layer below re-checks a string.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict

from consist.adapters.base import ConfigAdapter, ConfigPlan
from consist.model.artifact import Artifact
from consist.model.facet import ConfigFacet
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

#: A file reference: a path or an Artifact logged by an earlier run.
PathRef = str | os.PathLike[str] | Artifact
#: Named or unnamed file references: ``{"name": ref}``, ``[ref, ("name", ref), ...]`` or one ref.
InputRefs = Mapping[str, PathRef] | Sequence[PathRef | tuple[str, PathRef]] | PathRef


class StepKwargs(TypedDict, total=False):
    """Keywords shared by ``run`` and ``trace``: what the step is, reads and writes."""

    run_id: str | None
    model: str | None
    description: str | None
    config: object
    adapter: ConfigAdapter | ConfigPlan | None  # a plan: prepare_config(..., facet_spec=...)
    config_plan_ingest: bool
    config_plan_profile_schema: bool
    inputs: InputRefs | None
    input_keys: Iterable[str] | str | None  # deprecated: request/input_keys.py
    optional_input_keys: Iterable[str] | str | None  # deprecated
    depends_on: InputRefs | None
    tags: list[str] | None
    facet: object
    facet_from: list[str] | None
    facet_schema_version: str | int | None
    facet_index: bool | None
    identity_inputs: InputRefs | None
    year: int | None
    iteration: int | None
    phase: str | None
    stage: str | None
    parent_run_id: str | None
    outputs: list[str] | None
    output_paths: Mapping[str, PathRef] | None
    capture_dir: str | os.PathLike[str] | None
    capture_pattern: str


class RunKwargs(StepKwargs, total=False):
    """Keywords of ``Tracker.run`` / ``consist.run`` after ``fn`` and ``name``."""

    cache_options: CacheOptions | None
    output_policy: OutputPolicyOptions | None
    execution_options: ExecutionOptions | None
    runtime_kwargs: Mapping[str, Any] | None


class TraceKwargs(StepKwargs, total=False):
    """Keywords of ``Tracker.trace`` / ``consist.trace`` after ``name``."""

    cache_mode: CacheMode | str
    cache_version: int | None
    cache_epoch: int | None
    cache_hydration: Hydration | str | None
    validate_cached_outputs: ValidateMode | str
    code_identity: CodeIdentityMode | str | None
    code_identity_extra_deps: list[str] | None
    output_mismatch: OutputAction | str
    output_missing: OutputAction | str


#: ``begin_run`` keywords (beyond its named parameters) that are run fields, not metadata.
BEGIN_RUN_FIELDS = (
    "name", "year", "iteration", "stage", "phase", "parent_run_id", "depends_on",
    "identity_inputs", "outputs", "output_paths", "capture_dir", "capture_pattern",
)  # fmt: skip


class ExecutionStyle(StrEnum):
    """Who executes the code between begin and end.

    FUNCTION: ``Tracker.run`` calls ``fn`` (skipped on a cache hit).
    TRACE: the body of a ``with tracker.trace(...)`` block (always executes).
    IMPERATIVE: the caller's code between ``begin_run`` and ``end_run`` (always executes).
    """

    FUNCTION = "function"
    TRACE = "trace"
    IMPERATIVE = "imperative"


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """Parsed cache controls."""

    mode: CacheMode = CacheMode.REUSE
    version: int | None = None
    epoch: int | None = None
    code_identity: CodeIdentityMode | None = None
    code_identity_extra_deps: tuple[str, ...] = ()
    hydration: Hydration | None = None
    validate: ValidateMode = ValidateMode.LAZY


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Declared outputs and what to do when they do not appear."""

    keys: tuple[str, ...] | None = None
    paths: Mapping[str, PathRef] | None = None
    missing: OutputAction = OutputAction.WARN
    mismatch: OutputAction = OutputAction.WARN
    capture_dir: str | None = None  # new or modified files here become outputs
    capture_pattern: str = "*"


@dataclass(slots=True)
class RunRequest:
    """One validated run / trace / begin_run call.

    Treated as immutable (``dataclasses.replace`` makes a changed copy), but not frozen:
    a frozen dataclass sets each of these ~30 fields through ``object.__setattr__``,
    which cost ~2 µs of every run's begin.
    """

    style: ExecutionStyle
    name: str
    model: str
    run_id: str
    fn: Callable[..., Any] | None = None
    description: str | None = None
    config: object = None
    inputs: InputRefs | None = None
    depends_on: InputRefs | None = None
    identity_inputs: InputRefs | None = None
    tags: tuple[str, ...] = ()
    year: int | None = None
    iteration: int | None = None
    stage: str | None = None
    phase: str | None = None
    parent_run_id: str | None = None
    output: OutputSpec = field(default_factory=OutputSpec)
    cache: CacheSpec = field(default_factory=CacheSpec)
    input_binding: InputBinding = InputBinding.AUTO
    runtime_kwargs: Mapping[str, Any] = field(default_factory=dict)
    artifact_dir: str | None = None
    allow_external_paths: bool = False
    caller_file: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    facet: ConfigFacet | None = None  # queryable config values, not part of the identity
    # A prepared config (adapters/base.ConfigPlan) applied to the run at begin.
    config_plan: Any = None
    config_plan_ingest: bool = True
    config_plan_profile_schema: bool = False
    # executor='container': the ContainerSpec (execute/container.py) to run.
    container: Any = None
