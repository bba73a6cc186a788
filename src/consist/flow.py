"""THE SPINE. Every execution style goes through these few functions.

    begin:   request -> identity (code, config, inputs) -> cache lookup -> Run (+ start snapshot)
    execute: call the function on a miss (run); the body always runs (trace, begin_run)
    finish:  outputs -> output policy -> final snapshot -> indexes -> pending store sync -> hooks

``run``, ``trace``, ``begin_run``/``end_run`` and ``start_run`` differ only in who
executes the code between ``begin`` and ``finish``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from consist._libs.pandas import is_pandas_object, write_table
from consist.cache.lookup import lookup_cache
from consist.errors import OutputValidationError
from consist.execute import python
from consist.execute.artifacts import input_artifact, output_artifact, utc_now
from consist.identity.canonical import compute_config_digest
from consist.identity.code import CodeIdentity, compute_code_identity
from consist.identity.inputs import (
    ProducedFile,
    ResolvedInput,
    compute_input_digest,
    iter_named_refs,
    resolve_input,
)
from consist.identity.signature import RunIdentity, compute_signature
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run, RunResult, RunStatus
from consist.options import CacheMode, CodeIdentityMode, OutputAction
from consist.persist.snapshot import encode_record, write_snapshot
from consist.request.spec import RunRequest
from consist.services import Services


class ActiveRun:
    """State of one run between begin and finish."""

    __slots__ = (
        "request", "run", "identity", "config", "resolved", "inputs", "outputs",
        "planned", "reused", "persist", "artifact_dir", "t0", "ended",
    )  # fmt: skip

    def __init__(self, request: RunRequest, run: Run, identity: RunIdentity, config: Any,
                 resolved: list[ResolvedInput], artifact_dir: str, persist: bool) -> None:  # fmt: skip
        self.request = request
        self.run = run
        self.identity = identity
        self.config = config
        self.resolved = resolved
        self.inputs: dict[str, Artifact] = {}
        self.outputs: dict[str, Artifact] = {}
        self.planned: dict[str, str] = {}  # key -> path handed out by output_path()
        self.reused: ConsistRecord | None = None
        self.persist = persist
        self.artifact_dir = artifact_dir
        self.t0 = time.perf_counter()
        self.ended = False

    @property
    def cache_hit(self) -> bool:
        return self.reused is not None

    def record(self) -> ConsistRecord:
        return ConsistRecord(
            run=self.run,
            config=self.config,
            inputs=list(self.inputs.values()),
            outputs=list(self.outputs.values()),
            identity=self.identity.to_dict(),
        )


def compute_identity(
    services: Services, request: RunRequest
) -> tuple[Any, list[ResolvedInput], CodeIdentity, RunIdentity]:
    """Identity of a request: canonical config, resolved inputs, code and signature."""
    digester = services.digester
    config, config_digest = compute_config_digest(request.config)
    resolved = [
        resolve_input(role, name, ref, digester=digester,
                      lookup_producer=services.produced.lookup, parameter=parameter)
        for role, parameter, refs in (
            ("input", "inputs", request.inputs),
            ("depends_on", "depends_on", request.depends_on),
            ("identity", "identity_inputs", request.identity_inputs),
        )
        for name, ref in iter_named_refs(refs, parameter)
    ]  # fmt: skip
    cache = request.cache
    mode = cache.code_identity or services.settings.code_identity
    assert isinstance(mode, CodeIdentityMode)
    code = compute_code_identity(mode, request.fn, digester=digester,
                                 caller_file=request.caller_file,
                                 extra_deps=cache.code_identity_extra_deps or ())  # fmt: skip
    parts: dict[str, Any] = dict(
        code_digest=code.digest, config_digest=config_digest,
        input_digest=compute_input_digest(resolved), model=request.model, year=request.year,
        iteration=request.iteration, cache_version=cache.cache_version,
        cache_epoch=cache.cache_epoch,
    )  # fmt: skip
    return (
        config,
        resolved,
        code,
        RunIdentity(compute_signature(**parts), code_mode=code.mode, **parts),
    )


def begin(services: Services, request: RunRequest) -> ActiveRun:
    """Compute the identity, look up the cache and start recording the run."""
    layout = services.layout
    config, resolved, code, identity = compute_identity(services, request)
    now = utc_now()
    meta = dict(request.meta)
    for label in ("stage", "phase"):  # mirrored for queries written against run.meta
        if getattr(request, label) is not None:
            meta[label] = getattr(request, label)
    if code.git_commit:
        meta.update(git_commit=code.git_commit, git_dirty=code.git_dirty)
    artifact_dir = _artifact_dir(services, request)
    run = Run(
        id=request.run_id, name=request.name, model_name=request.model,
        description=request.description, parent_run_id=request.parent_run_id,
        year=request.year, iteration=request.iteration, stage=request.stage, phase=request.phase,
        tags=list(request.tags), signature=identity.signature, config_hash=identity.config_digest,
        input_hash=identity.input_digest, git_hash=code.digest, code_identity_mode=code.mode,
        artifact_dir=layout.to_uri(artifact_dir), created_at=now, started_at=now, meta=meta,
    )  # fmt: skip
    cache_mode = request.cache.cache_mode
    assert isinstance(cache_mode, CacheMode)
    active = ActiveRun(request, run, identity, config, resolved, artifact_dir,
                       persist=cache_mode is not CacheMode.READONLY)  # fmt: skip
    for item in resolved:
        if item.role != "identity":
            # List inputs are named by file name; two "data.csv" must both be recorded.
            key, n = item.name, 1
            while key in active.inputs:
                n += 1
                key = f"{item.name}#{n}"
            artifact = input_artifact(item, layout, run.id)
            artifact.key = key
            active.inputs[key] = artifact
    decision = lookup_cache(services.completed, identity.signature, cache_mode)
    if decision.hit is not None:
        active.reused = decision.hit
        run.cache_hit = True
        run.reused_run_id = decision.hit.run.id
        active.outputs = {a.key: a for a in decision.hit.outputs}
    else:
        run.meta["cache_miss_reason"] = decision.reason
        if active.persist:
            record = active.record()
            data = encode_record(record)
            write_snapshot(layout, record, update_latest=False, data=data)
            services.sync.note_started(record, data)
    services.hooks.emit(services.hooks.on_start, run)
    return active


def _artifact_dir(services: Services, request: RunRequest) -> str:
    if request.artifact_dir is None:
        return services.layout.artifact_dir(request.model, request.run_id)
    return os.path.join(services.layout.run_dir, request.artifact_dir)


def run_function(
    services: Services,
    request: RunRequest,
    activate: Callable[[ActiveRun], AbstractContextManager[Any]],
) -> RunResult:
    """``Tracker.run``: begin, call ``fn`` unless the cache hits, finish."""
    if request.fn is not None:
        python.check_runtime_kwargs(request.fn, request.execution.runtime_kwargs)
    active = begin(services, request)
    with activate(active):
        if active.cache_hit:
            finish(services, active, RunStatus.COMPLETED)
            return RunResult(active.run, dict(active.outputs), True)
        assert request.fn is not None  # the facade refuses fn=None
        try:
            kwargs = python.bind_arguments(
                request.fn, named_inputs=[r for r in active.resolved if r.role == "input"],
                binding=request.execution.input_binding,  # type: ignore[arg-type]
                config=request.config, runtime_kwargs=request.execution.runtime_kwargs,
            )  # fmt: skip
            value = request.fn(**kwargs)
            _log_returns(services, active, value)
            apply_output_policy(services, active)
        except BaseException as exc:
            finish(services, active, RunStatus.FAILED, exc)
            raise
        finish(services, active, RunStatus.COMPLETED)
        return RunResult(active.run, dict(active.outputs), False, value)


def _log_returns(services: Services, active: ActiveRun, value: Any) -> None:
    items, mismatch = python.split_returns(value, active.request.outputs)
    if mismatch:
        _policy(active.request.output_policy.output_mismatch, active.run,
                f"returned {type(value).__name__} does not match outputs="
                f"{list(active.request.outputs or ())}")  # fmt: skip
    for key, item in items.items():
        if is_pandas_object(item):
            os.makedirs(active.artifact_dir, exist_ok=True)
            item = write_table(item, os.path.join(active.artifact_dir, key))
        if isinstance(item, Artifact):
            item = item.path
        if os.path.exists(item):
            log_output(services, active, item, key)


def apply_output_policy(services: Services, active: ActiveRun) -> None:
    """Log output_paths and output_path() files; apply output_missing to declared keys."""
    for key, path in (active.request.output_paths or {}).items():
        target = path.path if isinstance(path, Artifact) else path
        if key not in active.outputs and os.path.exists(target):
            log_output(services, active, target, key)
    logged_paths = {artifact.abs_path for artifact in active.outputs.values()}
    for key, path in active.planned.items():
        # A planned file already returned under another key is not logged twice.
        if key not in active.outputs and path not in logged_paths and os.path.exists(path):
            log_output(services, active, path, key)
    expected = set(active.request.outputs or ()) | set(active.request.output_paths or ())
    missing = sorted(expected - set(active.outputs))
    if missing:
        _policy(active.request.output_policy.output_missing, active.run,
                f"declared outputs {missing} were not produced")  # fmt: skip


def _policy(action: Any, run: Run, message: str) -> None:
    text = f"Run {run.id!r}: {message}."
    if action is OutputAction.ERROR:
        raise OutputValidationError(
            text, fix="Produce the declared outputs, or set output_policy to 'warn'/'ignore'.",
            run_id=run.id,
        )  # fmt: skip
    if action is OutputAction.WARN:
        warnings.warn(text, UserWarning, stacklevel=4)


def output_path(active: ActiveRun, key: str, ext: str | None) -> Path:
    """Path in the run's artifact directory for output ``key`` (logged at finish if written)."""
    os.makedirs(active.artifact_dir, exist_ok=True)
    suffix = "" if not ext else "." + ext.lstrip(".")
    path = os.path.join(active.artifact_dir, key + suffix)
    active.planned[key] = path
    return Path(path)


def log_output(
    services: Services, active: ActiveRun, path: Any, key: str, **options: Any
) -> Artifact:
    artifact = output_artifact(path, key, run_id=active.run.id, signature=active.run.signature,
                               layout=services.layout, digester=services.digester, **options)  # fmt: skip
    active.outputs[key] = artifact
    return artifact


def log_input(services: Services, active: ActiveRun, path: Any, key: str,
              content_hash: str | None = None, meta: dict[str, Any] | None = None) -> Artifact:  # fmt: skip
    """Record an input after begin (it does not change the already computed identity)."""
    ref = path
    if content_hash is not None and not isinstance(path, Artifact):
        ref = Artifact(id="", key=key, uri=os.fspath(path), hash=content_hash,
                       abs_path=os.path.abspath(os.fspath(path)))  # fmt: skip
    resolved = resolve_input("input", key, ref, digester=services.digester,
                             lookup_producer=services.produced.lookup, parameter="path")  # fmt: skip
    artifact = input_artifact(resolved, services.layout, active.run.id)
    artifact.meta.update(meta or {})
    active.inputs[key] = artifact
    return artifact


def flush(services: Services, active: ActiveRun) -> None:
    """Persist the running record after log_* calls: the JSON snapshot, then the store.

    The reference promises log_artifact / log_artifacts / log_meta reach the database
    at once, so the running record is journaled and synced now (through the journal,
    so it can never be overtaken by an older line of the same run).
    """
    if active.persist and not active.ended:
        record = active.record()
        data = encode_record(record)
        write_snapshot(services.layout, record, update_latest=False, data=data)
        services.sync.note_flushed(record, data)


def finish(services: Services, active: ActiveRun, status: RunStatus,
           error: BaseException | None = None) -> ConsistRecord:  # fmt: skip
    """End the run: final snapshot first, then indexes, pending store sync and hooks."""
    run = active.run
    run.status = status.value
    run.ended_at = utc_now()
    run.duration_seconds = time.perf_counter() - active.t0
    if error is not None:
        run.error = f"{type(error).__name__}: {error}"
        run.meta["error"] = run.error
    active.ended = True
    record = active.record()
    if active.persist:
        data = encode_record(record)
        path = write_snapshot(services.layout, record, update_latest=True, data=data)
        if status is RunStatus.COMPLETED and not active.cache_hit:
            services.completed.record(record, path)
            for artifact in record.outputs:
                if artifact.hash and artifact.abs_path and artifact.run_id == run.id:
                    services.produced.record(artifact.abs_path, ProducedFile(
                        run.signature or "", artifact.hash, run.id, artifact.id))  # fmt: skip
        services.sync.note_recorded(record, data)
    hooks = services.hooks
    if status is RunStatus.COMPLETED:
        hooks.emit(hooks.on_complete, run, list(record.outputs))
    else:
        hooks.emit(hooks.on_failed, run, error)
    return record
