"""Run lifecycle methods of Tracker: run, trace, begin_run, end_run, start_run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from consist import flow
from consist.errors import ConfigError, RunStateError
from consist.model.run import Run, RunResult, RunStatus
from consist.options import CacheOptions, ExecutionOptions, OutputPolicyOptions
from consist.request.build import build_request
from consist.tracker._base import TrackerBase

if TYPE_CHECKING:
    from consist.tracker.tracker import Tracker

logger = logging.getLogger("consist")

# begin_run keywords that are run fields rather than free-form metadata.
_BEGIN_RUN_FIELDS = (
    "year", "iteration", "stage", "phase", "parent_run_id", "depends_on", "identity_inputs",
    "outputs", "output_paths", "name",
)  # fmt: skip


class RunMethods(TrackerBase):
    def run(
        self,
        fn: Callable[..., Any] | None = None,
        name: str | None = None,
        *,
        run_id: str | None = None,
        model: str | None = None,
        description: str | None = None,
        config: Any = None,
        inputs: Any = None,
        depends_on: Any = None,
        tags: list[str] | None = None,
        identity_inputs: Any = None,
        year: int | None = None,
        iteration: int | None = None,
        phase: str | None = None,
        stage: str | None = None,
        parent_run_id: str | None = None,
        outputs: list[str] | None = None,
        output_paths: Mapping[str, Any] | None = None,
        cache_options: CacheOptions | None = None,
        output_policy: OutputPolicyOptions | None = None,
        execution_options: ExecutionOptions | None = None,
        runtime_kwargs: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Execute ``fn`` as a run, or reuse an identical completed run.

        The identity is a hash of the code, ``config``, ``inputs`` (+ ``depends_on``,
        ``identity_inputs``), ``model``, ``year``, ``iteration`` and the cache version/epoch.
        On a cache hit ``fn`` is not called and the earlier outputs are returned.

        Returns
        -------
        RunResult
            ``.run``, ``.outputs`` (key -> Artifact) and ``.cache_hit``.

        Examples
        --------
        >>> result = tracker.run(fn=clean, inputs={"raw": "raw.csv"}, outputs=["cleaned"])  # doctest: +SKIP
        """
        self._require_no_active("tracker.run")
        if fn is None:
            raise ConfigError(
                "tracker.run needs fn=... (the function to run).",
                fix="Pass fn=your_function, or use tracker.trace(...) for inline code.",
                parameter="fn",
            )
        if cache_options is not None and not isinstance(cache_options, CacheOptions):
            raise ConfigError(
                f"cache_options must be a CacheOptions, got {type(cache_options).__name__}.",
                fix="Pass cache_options=CacheOptions(cache_mode='reuse', ...).",
                parameter="cache_options",
            )
        request = build_request(
            fn=fn, name=name, run_id=run_id, model=model, description=description,
            config=config, inputs=inputs, depends_on=depends_on, tags=tags,
            identity_inputs=identity_inputs, year=year, iteration=iteration, phase=phase,
            stage=stage, parent_run_id=parent_run_id, outputs=outputs, output_paths=output_paths,
            cache=cache_options or CacheOptions(), output_policy=output_policy,
            execution=execution_options, runtime_kwargs=runtime_kwargs,
        )  # fmt: skip
        return flow.run_function(self._services, request, self._activated)

    def trace(
        self,
        name: str,
        *,
        run_id: str | None = None,
        model: str | None = None,
        description: str | None = None,
        config: Any = None,
        inputs: Any = None,
        depends_on: Any = None,
        tags: list[str] | None = None,
        identity_inputs: Any = None,
        year: int | None = None,
        iteration: int | None = None,
        phase: str | None = None,
        stage: str | None = None,
        parent_run_id: str | None = None,
        outputs: list[str] | None = None,
        output_paths: Mapping[str, Any] | None = None,
        cache_mode: str = "reuse",
        cache_version: int | None = None,
        cache_epoch: int | None = None,
        code_identity: str | None = None,
        code_identity_extra_deps: list[str] | None = None,
        output_mismatch: str = "warn",
        output_missing: str = "warn",
    ) -> _TraceContext:
        """Context manager for an inline run whose body always executes, even on a cache hit.

        Inside the block ``tracker.is_cached`` tells whether an identical run completed
        before. ``output_paths`` (relative paths resolve against the working directory)
        are logged when the block exits. Without ``fn``, code identity comes from the
        file containing the ``with`` statement.

        Examples
        --------
        >>> with tracker.trace("my_analysis", output_paths={"results": "./results.csv"}):  # doctest: +SKIP
        ...     write_results("./results.csv")
        """
        from consist.tracker.tracker import caller_file

        request = build_request(
            fn=None, name=name, run_id=run_id, model=model, description=description,
            config=config, inputs=inputs, depends_on=depends_on, tags=tags,
            identity_inputs=identity_inputs, year=year, iteration=iteration, phase=phase,
            stage=stage, parent_run_id=parent_run_id, outputs=outputs, output_paths=output_paths,
            cache=CacheOptions(cache_mode, cache_version, cache_epoch, code_identity,
                               code_identity_extra_deps),
            output_policy=OutputPolicyOptions(output_missing, output_mismatch),
            caller_file=caller_file(),
        )  # fmt: skip
        return _TraceContext(self, request)

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
        code_identity: str | None = None,
        code_identity_extra_deps: list[str] | None = None,
        cache_version: int | None = None,
        cache_epoch: int | None = None,
        **kwargs: Any,
    ) -> Run:
        """Start a run imperatively; finish it with :meth:`end_run`.

        ``year``, ``iteration``, ``stage``, ``phase``, ``parent_run_id``, ``depends_on``,
        ``identity_inputs``, ``outputs`` and ``output_paths`` are accepted as keywords;
        any other keyword is stored in ``run.meta``.

        Raises
        ------
        RuntimeError
            If a run is already active on this tracker.
        """
        from consist.tracker.tracker import caller_file

        self._require_no_active("begin_run")
        fields = {k: kwargs.pop(k) for k in _BEGIN_RUN_FIELDS if k in kwargs}
        request = build_request(
            fn=None, name=fields.pop("name", None) or run_id, run_id=run_id, model=model,
            config=config, inputs=inputs, tags=tags, description=description,
            cache=CacheOptions(cache_mode, cache_version, cache_epoch, code_identity,
                               code_identity_extra_deps),
            artifact_dir=artifact_dir, caller_file=caller_file(), meta=dict(kwargs), **fields,
        )  # fmt: skip
        active = flow.begin(self._services, request)
        manager = self._activated(active)
        manager.__enter__()
        self._imperative_exit = manager
        self._ended_imperative = None
        return active.run

    def end_run(self, status: str = "completed", error: BaseException | None = None) -> Run:
        """End the run started with :meth:`begin_run`; persist it and fire hooks.

        Calling it again after the run ended logs a warning and returns the same run.

        Raises
        ------
        RuntimeError
            If no run was begun.
        """
        active = self._active
        if active is None:
            if self._ended_imperative is not None:
                logger.warning("consist: end_run called twice for %s", self._ended_imperative.id)
                return self._ended_imperative
            raise RunStateError("end_run called with no active run.", fix="Call begin_run first.")
        if self._imperative_exit is None:
            raise RunStateError(
                f"Run {active.run.id!r} was started by tracker.run/trace; it ends with them.",
                fix="Call end_run only for runs started with begin_run.",
            )
        final = _parse_status(status)
        if final is RunStatus.COMPLETED and error is None:
            try:
                flow.apply_output_policy(self._services, active)
            except BaseException as exc:
                flow.finish(self._services, active, RunStatus.FAILED, exc)
                self._close_imperative(active)
                raise
        flow.finish(self._services, active, final, error)
        self._close_imperative(active)
        return active.run

    def _close_imperative(self, active: flow.ActiveRun) -> None:
        manager = self._imperative_exit
        self._imperative_exit = None
        if manager is not None:
            manager.__exit__(None, None, None)
        self._ended_imperative = active.run

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
    from consist.errors import invalid_option

    if status in ("completed", "failed"):
        return RunStatus(status)
    raise invalid_option("status", status, ["completed", "failed"])


class _TraceContext:
    """What ``tracker.trace`` returns: enter begins the run, exit finishes it."""

    def __init__(self, tracker: TrackerBase, request: Any) -> None:
        self._tracker = tracker
        self._request = request
        self._manager: Any = None
        self._active: flow.ActiveRun | None = None

    def __enter__(self) -> Tracker:
        tracker = self._tracker
        tracker._require_no_active(f"trace({self._request.name!r})")
        self._active = flow.begin(tracker._services, self._request)
        self._manager = tracker._activated(self._active)
        self._manager.__enter__()
        return cast("Tracker", tracker)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        active = self._active
        assert active is not None
        services = self._tracker._services
        try:
            if exc is None:
                try:
                    flow.apply_output_policy(services, active)
                except BaseException as policy_error:
                    flow.finish(services, active, RunStatus.FAILED, policy_error)
                    raise
                flow.finish(services, active, RunStatus.COMPLETED)
            else:
                flow.finish(services, active, RunStatus.FAILED, exc)
        finally:
            self._manager.__exit__(None, None, None)
