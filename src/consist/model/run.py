"""Run records: what one execution of a step was, and what a caller gets back."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from consist.model.artifact import Artifact
from consist.model.decision import CacheDecision
from consist.model.facet import ConfigFacet

#: Version of the persisted JSON snapshot shape (consist_runs/<id>.json).
SNAPSHOT_SCHEMA_VERSION = 1


class RunStatus(StrEnum):
    """Lifecycle state of a run.

    RUNNING: started, not yet ended (or the process died before ending it).
    COMPLETED: ended normally; its outputs may be reused by later runs.
    FAILED: user code raised; ``error`` holds the message.
    """

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class RunPhase(StrEnum):
    """Where an ActiveRun is in its lifecycle.

    BEGUN: identity computed, cache decided, start recorded; no user code ran yet.
    EXECUTING: user code is running (the function, a trace body, begin_run...end_run).
    SUSPENDED: paused while child steps run (a scenario header); resumes to EXECUTING.
    FINISHING: outputs collected and the output policy applied; the record is being written.
    COMPLETED: ended normally (also every cache hit of ``run``).
    FAILED: user code, the output policy or the caller ended it with an error.
    """

    BEGUN = "begun"
    EXECUTING = "executing"
    SUSPENDED = "suspended"
    FINISHING = "finishing"
    COMPLETED = "completed"
    FAILED = "failed"

    def can_become(self, other: RunPhase) -> bool:
        """Whether the lifecycle allows moving from this phase to ``other``."""
        # _value_ is a plain attribute; .value goes through a descriptor (hot path).
        return other._value_ in _NEXT_PHASES[self._value_]


# The lifecycle's transitions: begun -> executing <-> suspended -> finishing -> end state.
_NEXT_PHASES: dict[str, frozenset[str]] = {
    "begun": frozenset({"executing", "finishing"}),
    "executing": frozenset({"suspended", "finishing"}),
    "suspended": frozenset({"executing", "finishing"}),
    "finishing": frozenset({"completed", "failed"}),
    "completed": frozenset(),
    "failed": frozenset(),
}


RUN_FIELDS = (
    "id",
    "name",
    "model_name",
    "description",
    "status",
    "parent_run_id",
    "year",
    "iteration",
    "stage",
    "phase",
    "tags",
    "signature",
    "config_hash",
    "input_hash",
    "git_hash",
    "code_identity_mode",
    "cache_hit",
    "reused_run_id",
    "error",
    "artifact_dir",
    "created_at",
    "started_at",
    "ended_at",
    "duration_seconds",
    "meta",
    "cache_decision",
    "owner",
)


@dataclass(slots=True)
class Run:
    """One recorded execution (or cache reuse) of a step.

    ``signature`` is the run identity (hash of code, config, inputs and discriminators);
    ``config_hash``, ``input_hash`` and ``git_hash`` are its components. A cache hit is
    its own run with ``cache_hit=True`` and ``reused_run_id`` naming the run it reused.
    ``stage`` and ``phase`` are mirrored into ``meta`` for older queries.
    ``cache_decision`` is the JSON form of the run's :class:`CacheDecision` (why it
    hit or executed); ``None`` only in records written before decisions were stored.
    """

    id: str
    name: str
    model_name: str
    description: str | None = None
    status: str = RunStatus.RUNNING.value
    parent_run_id: str | None = None
    year: int | None = None
    iteration: int | None = None
    stage: str | None = None
    phase: str | None = None
    tags: list[str] = field(default_factory=list)
    signature: str | None = None
    config_hash: str | None = None
    input_hash: str | None = None
    git_hash: str | None = None
    code_identity_mode: str | None = None
    cache_hit: bool = False
    reused_run_id: str | None = None
    error: str | None = None
    artifact_dir: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_seconds: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    cache_decision: dict[str, Any] | None = None
    owner: dict[str, Any] | None = None

    @property
    def model(self) -> str:
        """Alias of ``model_name``."""
        return self.model_name

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RUN_FIELDS}

    def _repr_html_(self) -> str:
        """A one-row table for notebooks (model/html.py)."""
        from consist.model.html import runs_table_html

        return runs_table_html([self])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        if data.keys() == _RUN_FIELD_SET:
            # A record as Consist writes it: positional, since decoded keys are not the
            # interned names keyword matching compares first (~0.7 µs against ~3.5 µs).
            run = cls(*_run_values_of(data))
            run.tags = list(run.tags or [])
            run.meta = dict(run.meta or {})
            return run
        values = {name: data[name] for name in RUN_FIELDS if name in data}
        values["tags"] = list(values.get("tags") or [])
        values["meta"] = dict(values.get("meta") or {})
        return cls(**values)


_RUN_FIELD_SET = frozenset(RUN_FIELDS)
_run_values_of = operator.itemgetter(*RUN_FIELDS)


@dataclass(slots=True)
class ConsistRecord:
    """The full JSON snapshot of one run: the run, its config, inputs, outputs and identity."""

    run: Run
    config: Any = None
    inputs: list[Artifact] = field(default_factory=list)
    outputs: list[Artifact] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SNAPSHOT_SCHEMA_VERSION
    facet: ConfigFacet | None = None  # in the snapshot only when the run has one
    # Facets of artifacts logged with facet=..., by artifact id (also only when present).
    artifact_facets: dict[str, ConfigFacet] = field(default_factory=dict)

    def outputs_by_key(self) -> dict[str, Artifact]:
        return {artifact.key: artifact for artifact in self.outputs}

    def inputs_by_key(self) -> dict[str, Artifact]:
        return {artifact.key: artifact for artifact in self.inputs}

    def _repr_html_(self) -> str:
        """The run's row with its config values, for notebooks (model/html.py)."""
        from consist.model.html import flatten_config, runs_table_html

        return runs_table_html([self.run], configs={self.run.id: flatten_config(self.config)})


@dataclass(slots=True)
class RunResult:
    """What ``Tracker.run`` returns.

    Attributes
    ----------
    run: the recorded run (for a cache hit, the new run that records the reuse).
    outputs: output artifacts by key (for a hit, the reused run's outputs).
    cache_hit: whether the function was skipped because an identical run had completed.
    value: the function's return value (``None`` on a cache hit).
    cache_reason: why the run hit or executed (a :class:`CacheDecision`; for a miss,
        which identity components differ from the nearest earlier run of the step).
    """

    run: Run
    outputs: dict[str, Artifact] = field(default_factory=dict)
    cache_hit: bool = False
    value: Any = None

    @property
    def cache_reason(self) -> CacheDecision | None:
        """Why the run hit the cache or executed (None for records without a decision)."""
        data = self.run.cache_decision
        return CacheDecision.from_dict(data) if data else None

    def _repr_html_(self) -> str:
        """The run's row and its outputs, for notebooks (model/html.py)."""
        from consist.model.html import result_html

        return result_html(self.run, self.outputs)

    @property
    def output(self) -> Artifact | None:
        """The single output artifact, or ``None`` when there is not exactly one."""
        return next(iter(self.outputs.values())) if len(self.outputs) == 1 else None
