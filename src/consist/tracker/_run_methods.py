"""Run lifecycle methods of Tracker: run, trace, begin_run, end_run, start_run.

Each method packs its arguments into a RunRequest (request/build.py) as its first
statement and hands it to the spine (flow.py); every run ends through ``flow.end``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from consist import flow
from consist.adapters.base import ConfigAdapter, ConfigPlan
from consist.errors import ConsistError, RunStateError, invalid_option
from consist.execute.executor import Executor
from consist.execute.python import PythonExecutor
from consist.identity.code import caller_file
from consist.model.run import Run, RunPhase, RunResult, RunStatus
from consist.options import (
    CacheMode,
    CacheOptions,
    CodeIdentityMode,
    ExecutionOptions,
    Hydration,
    OutputAction,
    OutputPolicyOptions,
    ValidateMode,
)
from consist.request import build, steps
from consist.request.spec import ExecutionStyle, InputRefs, PathRef, RunRequest
from consist.tracker._base import TrackerBase, refuse_unknown_keywords

if TYPE_CHECKING:
    from consist.tracker.tracker import Tracker

_PYTHON = PythonExecutor()
logger = logging.getLogger("consist")


class RunMethods(TrackerBase):
    @refuse_unknown_keywords
    def run(
        self,
        fn: Callable[..., Any] | None = None,
        name: str | None = None,
        *,
        run_id: str | None = None,
        model: str | None = None,
        description: str | None = None,
        config: object = None,
        adapter: ConfigAdapter | ConfigPlan | None = None,
        config_plan_ingest: bool = True,
        config_plan_profile_schema: bool = False,
        inputs: InputRefs | None = None,
        input_keys: Iterable[str] | str | None = None,
        optional_input_keys: Iterable[str] | str | None = None,
        depends_on: InputRefs | None = None,
        tags: list[str] | None = None,
        facet: object = None,
        facet_from: list[str] | None = None,
        facet_schema_version: str | int | None = None,
        facet_index: bool | None = None,
        identity_inputs: InputRefs | None = None,
        year: int | None = None,
        iteration: int | None = None,
        phase: str | None = None,
        stage: str | None = None,
        parent_run_id: str | None = None,
        outputs: list[str] | None = None,
        output_paths: Mapping[str, PathRef] | None = None,
        capture_dir: str | os.PathLike[str] | None = None,
        capture_pattern: str = "*",
        cache_options: CacheOptions | None = None,
        output_policy: OutputPolicyOptions | None = None,
        execution_options: ExecutionOptions | None = None,
        runtime_kwargs: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Execute ``fn`` as a run, or reuse an identical completed run.

        The identity is a hash of the code, ``config``, ``inputs`` (+ ``depends_on``,
        ``identity_inputs``), ``model``, ``year``, ``iteration`` and the cache version/epoch.
        On a cache hit ``fn`` is not called and the earlier outputs are returned.
        Defaults attached with ``define_step`` fill what the call leaves unset.
        ``facet`` (a small dict or pydantic model) and the config keys named in
        ``facet_from`` are stored as queryable values, not part of the identity; with
        ``facet_index`` (default True) they are flattened into
        ``global_tables.run_config_kv`` (see docs/queries.md).
        With ``adapter=`` the adapter's configuration (its canonical per-file digests) is
        part of the identity and its files are logged as inputs (docs/adapters.md);
        ``adapter=tracker.prepare_config(..., facet_spec=...)`` also records the config
        values the plan selects in the run's facet.
        ``execution_options=ExecutionOptions(executor="container", container={...})``
        runs an image instead of ``fn``.
        ``input_keys`` / ``optional_input_keys`` (deprecated) name coupler keys and are
        only read by a scenario step (``sc.run``); here they raise ConfigError.

        Returns
        -------
        RunResult
            ``.run``, ``.outputs`` (key -> Artifact) and ``.cache_hit``.

        Raises
        ------
        UnknownKeywordError
            For a keyword ``run`` does not take (the closest valid name is suggested).

        Examples
        --------
        >>> result = tracker.run(fn=clean, inputs={"raw": "raw.csv"}, outputs=["cleaned"])  # doctest: +SKIP
        """
        call = locals()
        if getattr(fn, steps.STEP_ATTRIBUTE, None):  # define_step defaults; explicit wins
            call = steps.apply_defaults(call, steps.step_defaults(fn))
            call["name"] = steps.step_name(call, fn)
        request = build.request_from_run(call)
        return self._run_request(request)

    def _run_request(self, request: RunRequest) -> RunResult:
        """Run a built request with its executor (Python, or a container's backend)."""
        self._require_no_active("tracker.run")
        executor: Executor = _PYTHON
        if request.container is not None:
            from consist.integrations.containers.backends import container_executor

            container = container_executor(request.container)
            request = container.prepare(request)
            executor = container
        result = flow.run_function(self._services, request, self._activated, executor)
        # Slices are ingested by the run that first logs them (a hit reuses that run's).
        if request.config_plan is not None and request.config_plan_ingest and not result.cache_hit:
            from consist.tracker._config_methods import ingest_config_slices

            record = self._services.sync.find_record(result.run.id)
            try:
                if record is not None:
                    ingest_config_slices(self, result.run, record.inputs,
                                         profile_schema=request.config_plan_profile_schema)  # fmt: skip
            except ConsistError as exc:
                # The run itself completed and is recorded; a slice load must not undo that.
                logger.warning("consist: config slices of run %s not ingested: %s",
                               result.run.id, exc)  # fmt: skip
        return result

    @refuse_unknown_keywords
    def trace(
        self,
        name: str,
        *,
        run_id: str | None = None,
        model: str | None = None,
        description: str | None = None,
        config: object = None,
        adapter: ConfigAdapter | ConfigPlan | None = None,
        config_plan_ingest: bool = True,
        config_plan_profile_schema: bool = False,
        inputs: InputRefs | None = None,
        input_keys: Iterable[str] | str | None = None,
        optional_input_keys: Iterable[str] | str | None = None,
        depends_on: InputRefs | None = None,
        tags: list[str] | None = None,
        facet: object = None,
        facet_from: list[str] | None = None,
        facet_schema_version: str | int | None = None,
        facet_index: bool | None = None,
        identity_inputs: InputRefs | None = None,
        year: int | None = None,
        iteration: int | None = None,
        phase: str | None = None,
        stage: str | None = None,
        parent_run_id: str | None = None,
        outputs: list[str] | None = None,
        output_paths: Mapping[str, PathRef] | None = None,
        capture_dir: str | os.PathLike[str] | None = None,
        capture_pattern: str = "*",
        cache_mode: CacheMode | str = "reuse",
        cache_hydration: Hydration | str | None = None,
        cache_version: int | None = None,
        cache_epoch: int | None = None,
        validate_cached_outputs: ValidateMode | str = "lazy",
        code_identity: CodeIdentityMode | str | None = None,
        code_identity_extra_deps: list[str] | None = None,
        output_mismatch: OutputAction | str = "warn",
        output_missing: OutputAction | str = "warn",
    ) -> _TraceContext:
        """Context manager for an inline run whose body always executes, even on a cache hit.

        Inside the block ``tracker.is_cached`` tells whether an identical run completed
        before. ``output_paths`` (relative paths resolve against the working directory)
        are logged when the block exits. Without ``fn``, code identity comes from the
        file containing the ``with`` statement.
        ``input_keys`` / ``optional_input_keys`` (deprecated) are only read by
        ``sc.trace`` in a scenario (docs/scenarios.md).

        Examples
        --------
        >>> with tracker.trace("my_analysis", output_paths={"results": "./results.csv"}):  # doctest: +SKIP
        ...     write_results("./results.csv")
        """
        return _TraceContext(self, build.request_from_trace(locals(), caller_file()))

    def begin_run(
        self,
        run_id: str,
        model: str,
        config: Any = None,
        inputs: Any = None,
        tags: list[str] | None = None,
        description: str | None = None,
        cache_mode: str = "reuse",
        *,
        artifact_dir: Any = None,
        allow_external_paths: bool | None = None,
        facet: object = None,
        facet_from: list[str] | None = None,
        hash_inputs: InputRefs | None = None,
        code_identity: str | None = None,
        code_identity_extra_deps: list[str] | None = None,
        cache_version: int | None = None,
        cache_epoch: int | None = None,
        facet_schema_version: str | int | None = None,
        facet_index: bool = True,
        **kwargs: Any,
    ) -> Run:
        """Start a run imperatively; finish it with :meth:`end_run`.

        ``hash_inputs`` (begin_run's older name for hash-only inputs) is added to
        ``identity_inputs``.

        ``artifact_dir`` (relative paths resolve under run_dir) must stay inside run_dir
        unless ``allow_external_paths=True``.
        ``name``, ``year``, ``iteration``, ``stage``, ``phase``, ``parent_run_id``,
        ``depends_on``, ``identity_inputs``, ``outputs`` and ``output_paths`` are accepted
        as keywords; any other keyword is stored in ``run.meta``, except keywords of
        ``run`` / ``trace`` that begin_run does not take, which are refused.

        Raises
        ------
        RuntimeError
            If a run is already active on this tracker.
        """
        call = dict(locals())
        extra = call.pop("kwargs")
        request = build.request_from_begin_run(call, extra, caller_file())
        self._require_no_active("begin_run")
        active = flow.begin(self._services, request)
        self._attach(active)
        active.advance(RunPhase.EXECUTING)
        return active.run

    def end_run(self, status: str = "completed", error: BaseException | None = None) -> Run:
        """End the run started with :meth:`begin_run`; persist it and fire hooks.

        Calling it again after the run ended logs a warning and returns the same run.

        Raises
        ------
        RuntimeError
            If no run was begun.
        """
        final = _parse_status(status)
        active = self._active
        if active is None:
            last = self._last
            if last is not None and last.request.style is ExecutionStyle.IMPERATIVE:
                flow.end(self._services, last, final, error)  # warns: already ended
                return last.run
            raise RunStateError("end_run called with no active run.", fix="Call begin_run first.")
        if active.request.style is not ExecutionStyle.IMPERATIVE:
            raise RunStateError(
                f"Run {active.run.id!r} was started by tracker.run/trace; it ends with them.",
                fix="Call end_run only for runs started with begin_run.",
            )
        try:
            flow.end(self._services, active, final, error)
        finally:
            self._detach(active)
        return active.run

    @contextmanager
    def start_run(self, run_id: str, model: str, **kwargs: Any) -> Iterator[Tracker]:
        """Context manager around :meth:`begin_run` / :meth:`end_run`.

        An exception in the block marks the run failed, records the error, and re-raises.
        """
        self.begin_run(run_id, model, **kwargs)
        try:
            yield cast("Tracker", self)
        except BaseException as exc:
            self.end_run("failed", exc)
            raise
        self.end_run("completed")


def _parse_status(status: str) -> RunStatus:
    if status in ("completed", "failed"):
        return RunStatus(status)
    raise invalid_option("status", status, ["completed", "failed"])


class _TraceContext:
    """What ``tracker.trace`` returns: enter begins the run, exit ends it."""

    def __init__(self, tracker: TrackerBase, request: RunRequest) -> None:
        self._tracker = tracker
        self._request = request
        self._active: flow.ActiveRun | None = None

    def __enter__(self) -> Tracker:
        tracker = self._tracker
        tracker._require_no_active(f"trace({self._request.name!r})")
        active = flow.begin(tracker._services, self._request)
        tracker._attach(active)
        active.advance(RunPhase.EXECUTING)
        self._active = active
        return cast("Tracker", tracker)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        active = self._active
        if active is None:
            raise RunStateError("trace block exited without entering.", fix="Use `with`.")
        status = RunStatus.COMPLETED if exc is None else RunStatus.FAILED
        try:
            flow.end(self._tracker._services, active, status, exc)
        finally:
            self._tracker._detach(active)
