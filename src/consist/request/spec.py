"""RunRequest: one frozen description of what a run/trace/begin_run call asked for.

The facade packs its keyword arguments into a RunRequest as its first statement;
nothing below the facade takes more than a RunRequest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from consist.options import CacheOptions, ExecutionOptions, OutputPolicyOptions


@dataclass(frozen=True, slots=True)
class RunRequest:
    name: str
    model: str
    run_id: str
    fn: Callable[..., Any] | None = None
    description: str | None = None
    config: Any = None
    inputs: Any = None
    depends_on: Any = None
    identity_inputs: Any = None
    tags: tuple[str, ...] = ()
    year: int | None = None
    iteration: int | None = None
    stage: str | None = None
    phase: str | None = None
    parent_run_id: str | None = None
    outputs: tuple[str, ...] | None = None
    output_paths: Mapping[str, Any] | None = None
    cache: CacheOptions = field(default_factory=CacheOptions)
    output_policy: OutputPolicyOptions = field(default_factory=OutputPolicyOptions)
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    artifact_dir: str | None = None
    caller_file: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
