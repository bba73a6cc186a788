"""THE SPINE. Every execution style goes through these few functions.

    begin:   request -> identity (code, config, inputs) -> cache lookup -> ActiveRun (+ start record)
    execute: on a miss ``run_function`` hands the request to an Executor; the body of a
             ``trace`` block or of ``begin_run``...``end_run`` always executes
    end:     outputs -> output policy -> final snapshot -> indexes -> store sync -> hooks

``run``, ``trace``, ``begin_run``/``end_run`` and ``start_run`` differ only in who executes
the code between ``begin`` and ``end``; :func:`end` is the one way every run ends. An
ActiveRun moves through the phases of :class:`RunPhase`; a second ``end`` warns and returns
the record of the first.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from consist.cache.explain import explain_lookup
from consist.cache.locks import SignatureLock
from consist.cache.lookup import MISS, CacheLookup, lookup_cache
from consist.errors import RunStateError
from consist.execute.artifacts import input_artifacts, logged_input_artifact
from consist.execute.capture import OutputCapture
from consist.execute.executor import Executor
from consist.identity.compose import compute_run_identity
from consist.identity.inputs import (
    ResolvedInput,
)
from consist.identity.signature import RunIdentity
from consist.model.artifact import Artifact
from consist.model.clock import utc_now
from consist.model.decision import CacheOutcome
from consist.model.run import ConsistRecord, Run, RunPhase, RunResult, RunStatus
from consist.options import CacheMode, CodeIdentityMode, Hydration
from consist.request.spec import ExecutionStyle, RunRequest
from consist.services import Services

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from consist.model.facet import ConfigFacet
    from consist.request.cache_scope import ActiveRunCacheOptions

logger = logging.getLogger("consist")


@dataclass(slots=True, eq=False)
class ActiveRun:
    """One run between begin and end: its request, identity, record and phase."""

    request: RunRequest
    run: Run
    identity: RunIdentity
    config: Any
    resolved: list[ResolvedInput]
    capture: OutputCapture
    inputs: dict[str, Artifact] = field(default_factory=dict)
    reused: ConsistRecord | None = None  # the completed run a cache hit reuses
    t0: float = field(default_factory=time.perf_counter)
    phase: RunPhase = RunPhase.BEGUN
    final: ConsistRecord | None = None  # the record written by end()
    context_token: object = None  # set by the facade that activates the run
    held_lock: SignatureLock | None = None  # held from lookup to cache entry (a miss)
    artifact_facets: dict[str, ConfigFacet] = field(default_factory=dict)  # by artifact id
    cache_options: ActiveRunCacheOptions | None = None  # set by suspend/restore_cache_options
    reusable: bool = True  # False: never a cache entry (a scenario header)
    identity_dict: dict[str, object] | None = None  # identity.to_dict(), built once

    @property
    def persist(self) -> bool:
        return self.request.cache.mode is not CacheMode.READONLY

    @property
    def cache_hit(self) -> bool:
        return self.reused is not None

    @property
    def outputs(self) -> dict[str, Artifact]:
        return self.capture.outputs

    @property
    def ended(self) -> bool:
        return self.phase in (RunPhase.COMPLETED, RunPhase.FAILED)

    @property
    def cache_scope(self) -> ActiveRunCacheOptions:
        """Cache options in force for code running inside this run (request/cache_scope.py)."""
        if self.cache_options is None:
            from consist.request.cache_scope import ActiveRunCacheOptions

            self.cache_options = ActiveRunCacheOptions.of(self.request.cache)
        return self.cache_options

    def release_lock(self) -> None:
        if self.held_lock is not None:
            self.held_lock.release(self.identity.signature)
            self.held_lock = None

    def advance(self, phase: RunPhase) -> None:
        """Move to ``phase``; a transition the lifecycle does not allow is a RunStateError."""
        if not self.phase.can_become(phase):
            raise RunStateError(
                f"Run {self.run.id!r} cannot go from {self.phase.value} to {phase.value}.",
                fix="End a run once; suspend and resume only while it executes.",
                run_id=self.run.id,
            )
        self.phase = phase

    def record(self) -> ConsistRecord:
        if self.identity_dict is None:  # the identity is fixed at begin: one dict per run
            self.identity_dict = self.identity.to_dict()
        return ConsistRecord(
            run=self.run,
            config=self.config,
            inputs=list(self.inputs.values()),
            outputs=list(self.outputs.values()),
            identity=self.identity_dict,
            facet=self.request.facet,
            artifact_facets=self.artifact_facets,
        )


def begin(services: Services, request: RunRequest) -> ActiveRun:
    """Compute the identity, look up the cache and start recording the run."""
    layout = services.layout
    artifact_dir = (
        layout.artifact_dir(request.model, request.run_id)
        if request.artifact_dir is None
        else layout.requested_artifact_dir(
            request.artifact_dir, allow_external=request.allow_external_paths
        )
    )
    config, resolved, code, identity = compute_run_identity(
        request,
        digester=services.digester,
        lookup_producer=services.produced.lookup,
        default_code_mode=cast(CodeIdentityMode, services.settings.code_identity),
    )
    now = utc_now()
    meta = dict(request.meta)
    for label in ("stage", "phase"):  # mirrored for queries written against run.meta
        if getattr(request, label) is not None:
            meta[label] = getattr(request, label)
    if code.git_commit:
        meta.update(git_commit=code.git_commit, git_dirty=code.git_dirty)
    run = Run(
        id=request.run_id,
        model_name=request.model,
        tags=list(request.tags),
        name=request.name,
        description=request.description,
        parent_run_id=request.parent_run_id,
        year=request.year,
        iteration=request.iteration,
        stage=request.stage,
        phase=request.phase,
        signature=identity.signature,
        config_hash=identity.config_digest,
        input_hash=identity.input_digest,
        git_hash=code.digest,
        code_identity_mode=code.mode,
        artifact_dir=layout.to_uri(artifact_dir),
        created_at=now,
        started_at=now,
        meta=meta,
        owner=services.liveness.owner(),
    )
    if request.artifact_dir is None and layout.subdir_fn is not None:
        artifact_dir = layout.run_artifact_dir(run)  # set_run_subdir_fn: it sees the run
        run.artifact_dir = layout.to_uri(artifact_dir)
    capture = OutputCapture(
        run_id=run.id,
        signature=run.signature,
        artifact_dir=artifact_dir,
        layout=layout,
        digester=services.digester,
    )
    active = ActiveRun(request, run, identity, config, resolved, capture)
    active.inputs.update(input_artifacts(resolved, layout, run.id))
    if request.config_plan is not None and active.persist:  # run(adapter=...): files as inputs
        from consist.adapters.apply import apply_plan  # loaded only when adapters are used

        apply_plan(
            request.config_plan,
            run_dir=layout.run_dir,
            ingest=request.config_plan_ingest,
            profile_schema=request.config_plan_profile_schema,
            log_input=lambda path, key, meta: log_input(services, active, path, key, meta=meta),
        )
    signature, mode = identity.signature, request.cache.mode
    locks = services.locks
    if mode is not CacheMode.REUSE or request.style is not ExecutionStyle.FUNCTION:
        locks = None
    # With a local lock, only the memo is read before it: the index file once, under it.
    if locks is not None and locks.local and not services.completed.remembers(signature):
        found = MISS  # not in this process's memo: nothing to validate, go to the lock
    else:
        found = _lookup(services, request, signature, memo_only=locks is not None and locks.local)
    if found.hit is None and locks is not None:
        # A miss holds the signature's lock until its result is in the cache index, so an
        # identical step of another process waits here, then hits (cache/locks.py).
        if locks.acquire(signature):
            active.held_lock = locks
        found = _lookup(services, request, signature)  # locked or not: the whole index
    try:
        if found.outcome is CacheOutcome.DEMOTED:
            services.completed.forget(signature)  # its outputs are gone
        # A miss's record is built once: compared with the step's last run, then journaled
        # (it shares the Run object, so the decision set below is in the journaled line).
        started = active.record() if found.hit is None else None
        decision = explain_lookup(
            found, lambda: started or active.record(), services.completed.steps
        )
        run.cache_decision = decision.to_dict()
        if request.cache.hydration is Hydration.INPUTS_MISSING and (
            found.hit is None or request.style is not ExecutionStyle.FUNCTION
        ):
            from consist.cache.hydrate import backfill_inputs

            backfill_inputs(resolved, services.copies)  # code will execute; nothing recorded yet
        if request.output.capture_dir is not None and (
            found.hit is None or request.style is not ExecutionStyle.FUNCTION
        ):
            capture.watch(request.output.capture_dir, request.output.capture_pattern)
        if found.hit is not None:
            active.release_lock()
            active.reused = found.hit
            run.cache_hit = True
            run.reused_run_id = found.hit.run.id
            capture.outputs.update((a.key, a) for a in found.hit.outputs)
            if request.cache.hydration is not None:
                _hydrate(services, active, artifact_dir)
        elif started is not None and active.persist:
            services.recorder.record_started(started)
    except BaseException:
        active.release_lock()
        raise
    services.hooks.emit(services.hooks.on_start, run)
    return active


def _lookup(
    services: Services, request: RunRequest, signature: str, memo_only: bool = False
) -> CacheLookup:
    """The cache lookup, validating a hit's outputs as the request asks (recovering a
    missing one from a recorded copy)."""
    return lookup_cache(
        services.completed,
        signature,
        request.cache.mode,
        request.cache.validate,
        digester=services.digester,
        recover=services.copies.restore,
        memo_only=memo_only,
    )


def _hydrate(services: Services, active: ActiveRun, artifact_dir: str) -> None:
    hydration = active.request.cache.hydration
    if hydration is None or hydration is Hydration.INPUTS_MISSING:
        return
    from consist.cache.hydrate import hydrate_outputs  # loaded only when hydration is asked

    copied = hydrate_outputs(
        hydration,
        active.outputs,
        output_paths=active.request.output.paths,
        artifact_dir=artifact_dir,
        layout=services.layout,
        copies=services.copies,
        digester=services.digester,
    )
    if copied:
        active.run.meta["hydrated_outputs"] = copied


def run_function(
    services: Services,
    request: RunRequest,
    activate: Callable[[ActiveRun], AbstractContextManager[Any]],
    executor: Executor,
) -> RunResult:
    """``Tracker.run``: begin, let the executor run the code unless the cache hits, end."""
    executor.check(request)
    active = begin(services, request)
    value = None
    try:
        with activate(active):
            if not active.cache_hit:
                active.advance(RunPhase.EXECUTING)
                try:
                    value = executor.execute(request, active.resolved)
                    active.capture.log_returns(value, request.output.keys, request.output.mismatch)
                except BaseException as exc:
                    end(services, active, RunStatus.FAILED, exc)
                    raise
            end(services, active, RunStatus.COMPLETED)
    except BaseException as exc:
        if active.final is None:  # the activation failed: no end ran, the lock is held
            end(services, active, RunStatus.FAILED, exc)
        raise
    return RunResult(active.run, dict(active.outputs), active.cache_hit, value)


def end(
    services: Services,
    active: ActiveRun,
    status: RunStatus = RunStatus.COMPLETED,
    error: BaseException | None = None,
) -> ConsistRecord:
    """End the run, whatever executed it: collect outputs and apply the output policy
    (when code ran), then record. Ending an ended run warns and returns its record."""
    if active.final is not None:
        logger.warning("consist: run %s has already ended; ignoring the second end", active.run.id)
        return active.final
    if status is RunStatus.COMPLETED and error is None and active.phase is not RunPhase.BEGUN:
        output = active.request.output
        try:
            active.capture.collect(
                declared=output.keys, output_paths=output.paths, missing=output.missing
            )
        except BaseException as exc:
            _record_end(services, active, RunStatus.FAILED, exc)
            raise
    return _record_end(services, active, status, error)


def _record_end(
    services: Services, active: ActiveRun, status: RunStatus, error: BaseException | None
) -> ConsistRecord:
    """Final snapshot first, then the cache indexes, the store journal and the hooks."""
    active.advance(RunPhase.FINISHING)
    run = active.run
    run.status = status.value
    run.ended_at = utc_now()
    run.duration_seconds = time.perf_counter() - active.t0
    if error is not None:
        run.error = f"{type(error).__name__}: {error}"
        run.meta["error"] = run.error
    record = active.record()
    try:
        if active.persist:
            services.recorder.record_ended(
                record, reusable=active.reusable and not active.cache_hit
            )
    finally:
        active.release_lock()  # only now is the result in the cache index
    active.final = record
    active.advance(RunPhase.COMPLETED if status is RunStatus.COMPLETED else RunPhase.FAILED)
    hooks = services.hooks
    if status is RunStatus.COMPLETED:
        hooks.emit(hooks.on_complete, run, list(record.outputs))
    else:
        hooks.emit(hooks.on_failed, run, error)
    return record


def log_input(
    services: Services, active: ActiveRun, path: Any, key: str, **options: Any
) -> Artifact:
    """Record an input after begin (it does not change the already computed identity)."""
    artifact = logged_input_artifact(
        path,
        key,
        layout=services.layout,
        run_id=active.run.id,
        digester=services.digester,
        lookup_producer=services.produced.lookup,
        **options,
    )
    active.inputs[key] = artifact
    return artifact


def record_progress(services: Services, active: ActiveRun) -> None:
    """Persist the running record after log_* calls: the JSON snapshot, then the store.

    The reference promises log_artifact / log_artifacts / log_meta reach the database
    at once, so the running record is journaled and synced now (through the journal,
    so it can never be overtaken by an older line of the same run).
    """
    if active.persist and not active.ended:
        services.recorder.record_progress(active.record())


def would_hit(services: Services, request: RunRequest, signature: str | None = None) -> bool:
    """Whether ``request`` is a cache hit right now: identity and lookup only, nothing
    recorded or locked (``tracker.map`` decides which points to ship with it).
    ``signature``: the request's, when the caller computed it (run_signature)."""
    if signature is None:
        signature = run_signature(services, request)
    found = lookup_cache(services.completed, signature, request.cache.mode)
    return found.hit is not None


def run_signature(services: Services, request: RunRequest) -> str:
    """The signature ``request`` would run with (identity only; nothing recorded)."""
    _, _, _, identity = compute_run_identity(
        request,
        digester=services.digester,
        lookup_producer=services.produced.lookup,
        default_code_mode=cast(CodeIdentityMode, services.settings.code_identity),
    )
    return identity.signature
