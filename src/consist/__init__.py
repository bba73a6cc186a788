"""Consist: provenance-first caching for scientific simulation workflows.

Names are loaded lazily (PEP 562) so ``import consist`` stays fast and pulls in no
pandas, pyarrow, duckdb or sqlalchemy.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # the tracker and its configuration
    "Tracker": "consist.tracker.tracker",
    "TrackerConfig": "consist.settings",
    "use_tracker": "consist.context",
    "current_run": "consist.api",
    "current_tracker": "consist.api",
    "ingest": "consist.api",
    # queries on the current tracker
    "find_latest_run": "consist.api",
    "find_run": "consist.api",
    "find_runs": "consist.api",
    "get_artifact": "consist.api",
    "run_set": "consist.api",
    # module-level helpers on the current tracker
    "cached_artifacts": "consist.api",
    "cached_output": "consist.api",
    "capture_outputs": "consist.api",
    "define_step": "consist.api",
    "log_artifact": "consist.api",
    "log_artifacts": "consist.api",
    "log_dataframe": "consist.api",
    "load": "consist.api",
    "load_df": "consist.api",
    "log_input": "consist.api",
    "log_meta": "consist.api",
    "log_output": "consist.api",
    "output_path": "consist.api",
    "run": "consist.api",
    "run_query": "consist.api",
    "scenario": "consist.api",
    "start_run": "consist.api",
    "trace": "consist.api",
    "view": "consist.api",
    # scenarios
    "Coupler": "consist.workflow.coupler",
    "ScenarioContext": "consist.workflow.scenario",
    # option groups and enums
    "CacheMode": "consist.options",
    "CacheOptions": "consist.options",
    "CodeIdentityMode": "consist.options",
    "ExecutionOptions": "consist.options",
    "Hydration": "consist.options",
    "InputBinding": "consist.options",
    "OutputAction": "consist.options",
    "OutputPolicyOptions": "consist.options",
    "ValidateMode": "consist.options",
    # records
    "Artifact": "consist.model.artifact",
    "CacheDecision": "consist.model.decision",
    "CacheOutcome": "consist.model.decision",
    "ConsistRecord": "consist.model.run",
    "Run": "consist.model.run",
    "RunResult": "consist.model.run",
    "RunStatus": "consist.model.run",
    "LineageNode": "consist.query.lineage",
    "RunSet": "consist.query.runset",
    # errors
    "ConsistError": "consist.errors",
    "ConfigError": "consist.errors",
    "IdentityError": "consist.errors",
    "MissingInputError": "consist.errors",
    "ExecutionError": "consist.errors",
    "OutputValidationError": "consist.errors",
    "RunStateError": "consist.errors",
    "StoreError": "consist.errors",
    "MissingArtifactError": "consist.errors",
    "QueryError": "consist.errors",
    "ViewError": "consist.errors",
    "MissingDependencyError": "consist.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> _Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'consist' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if _TYPE_CHECKING:
    from consist.api import (
        cached_artifacts,
        cached_output,
        capture_outputs,
        current_run,
        current_tracker,
        define_step,
        find_latest_run,
        find_run,
        find_runs,
        get_artifact,
        ingest,
        load,
        load_df,
        log_artifact,
        log_artifacts,
        log_dataframe,
        log_input,
        log_meta,
        log_output,
        output_path,
        run,
        run_query,
        run_set,
        scenario,
        start_run,
        trace,
        view,
    )
    from consist.context import use_tracker
    from consist.errors import (
        ConfigError,
        ConsistError,
        ExecutionError,
        IdentityError,
        MissingArtifactError,
        MissingDependencyError,
        MissingInputError,
        OutputValidationError,
        QueryError,
        RunStateError,
        StoreError,
        ViewError,
    )
    from consist.model.artifact import Artifact
    from consist.model.decision import CacheDecision, CacheOutcome
    from consist.model.run import ConsistRecord, Run, RunResult, RunStatus
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
    from consist.query.lineage import LineageNode
    from consist.query.runset import RunSet
    from consist.settings import TrackerConfig
    from consist.tracker.tracker import Tracker
    from consist.workflow.coupler import Coupler
    from consist.workflow.scenario import ScenarioContext
