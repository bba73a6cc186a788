"""Tracker mixin: ``map`` — one run per config, in this process or on a Dask cluster.

Rules (docs/distributed.md):

* One RunResult per config, in the order of ``configs``. Each point is
  ``tracker.run(fn, name=name, config=config, outputs=outputs, **run_kwargs)``; ``fn``
  receives the config through its ``config`` parameter.
* A point that raises does not stop the others: it is recorded as a failed run (with
  its error) and its RunResult carries that run (``run.status == "failed"``,
  ``run.error``), ``value`` None.
* ``client=None`` runs every point here, one after the other.
* With a ``dask.distributed.Client``, hits are decided here before anything is
  submitted (identity + cache lookup; a cached point is never shipped): they are
  recorded here as hits. On a PostgreSQL store every point's signature is looked up
  in one query first, and the hits' records are sent in one message at the end.
  Only misses become tasks, each with its signature (the worker skips the lookup the
  driver just made; the one under the signature's lock still asks). Each task opens
  (once per worker thread) a Tracker with this tracker's settings, so it records through the same
  store: the workers must see the same ``run_dir`` (a shared file system) and
  ``db_path`` (a PostgreSQL URL for workers on other hosts; a DuckDB file works for
  workers on this host). Identical points submitted at once run once (signature locks).
* ``points_per_task=k`` (default 1) ships the misses k to a Dask task, in order: for
  short steps, Dask's own cost per task and (on PostgreSQL) the round trips are paid
  once per chunk (store/postgres/locks.py: two messages per chunk instead of two per
  point). A chunk runs its points one after the other on one worker, so keep 1 for
  steps that take seconds (load balance), and a chunk's records reach the server
  together at its end (docs/distributed.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

from consist import flow
from consist.errors import ConfigError
from consist.model.run import RunResult
from consist.request import build
from consist.settings import TrackerConfig
from consist.tracker._base import TrackerBase


class MapMethods(TrackerBase):
    _settings: TrackerConfig

    def map(
        self,
        fn: Callable[..., Any],
        configs: Iterable[Any],
        *,
        name: str | None = None,
        outputs: list[str] | None = None,
        client: Any = None,
        points_per_task: int = 1,
        **run_kwargs: Any,
    ) -> list[RunResult]:
        """Run ``fn`` once per config (a sweep); cached points are reused, never re-run.

        Parameters
        ----------
        fn:
            The step; it receives each config through its ``config`` parameter.
        configs:
            One config per point.
        name, outputs, **run_kwargs:
            As for :meth:`run` (``tags``, ``model``, ``cache_options``, ...).
        client:
            ``None`` runs every point in this process. A ``dask.distributed.Client``
            runs the misses on its workers (hits are decided and recorded here first).
        points_per_task:
            With a client, how many misses each Dask task runs, one after the other
            (default 1). For steps of milliseconds, 10-50 amortises the per-task cost;
            keep 1 for long steps, so that the workers stay evenly loaded.

        Returns
        -------
        list[RunResult]
            One per config, in order; a failed point's result holds its failed run.

        Examples
        --------
        >>> results = tracker.map(simulate, [{"seed": s} for s in range(100)],
        ...                       name="simulate", client=client)  # doctest: +SKIP
        """
        whole = isinstance(points_per_task, int) and not isinstance(points_per_task, bool)
        if not whole or points_per_task < 1:
            raise ConfigError(
                "points_per_task must be a positive integer.",
                fix="Pass points_per_task=1 (one point per Dask task) or more for short steps.",
                parameter="points_per_task",
                value=repr(points_per_task),
            )
        points = list(configs)
        call = dict(run_kwargs, name=name, outputs=outputs)
        if client is None:
            return [_run_point(self, fn, config, call) for config in points]
        from consist._libs.dask import distributed

        distributed()  # a clear MissingDependencyError before any work
        results: list[RunResult | None] = [None] * len(points)
        misses: list[int] = []
        services = self._services
        requests = [build.request_from_run(dict(call, fn=fn, config=c)) for c in points]
        signatures = [flow.run_signature(services, request) for request in requests]
        store = services.store
        # A shared store answers every point's lookup in one query, and takes the hits'
        # records in one message (store/postgres/store.py).
        prefetched = getattr(store, "prefetched", None)
        batch = getattr(store, "batch", None)
        with (
            prefetched(signatures) if prefetched is not None else nullcontext(),
            batch() if batch is not None else nullcontext(),
        ):
            for index, config in enumerate(points):
                if flow.would_hit(services, requests[index], signatures[index]):
                    results[index] = _run_point(self, fn, config, call)
                else:
                    misses.append(index)
        if misses:
            chunks = [
                misses[i : i + points_per_task] for i in range(0, len(misses), points_per_task)
            ]
            futures = client.map(
                _remote_points,
                [[points[index] for index in chunk] for chunk in chunks],
                [[signatures[index] for index in chunk] for chunk in chunks],
                settings=self._settings,
                tracker_type=type(self),
                fn=fn,
                call=call,
                pure=False,
            )
            for chunk, done in zip(chunks, client.gather(futures), strict=True):
                for index, result in zip(chunk, done, strict=True):
                    results[index] = result
        return [result for result in results if result is not None]


def _run_point(
    tracker: Any, fn: Callable[..., Any], config: Any, call: dict[str, Any]
) -> RunResult:
    before = tracker.last_run
    try:
        result: RunResult = tracker.run(fn, config=config, **call)
        return result
    except Exception:
        last = tracker.last_run
        if last is None or last is before:
            raise  # refused before a run began (a bad keyword): the caller's mistake
        return RunResult(last.run, {}, False, None)


_workers = threading.local()


def _remote_points(
    configs: list[Any],
    signatures: list[str],
    *,
    settings: TrackerConfig,
    tracker_type: Callable[..., Any],
    fn: Callable[..., Any],
    call: dict[str, Any],
) -> list[RunResult]:
    """A Dask task: points run in order, recorded by this worker thread's tracker.
    ``signatures`` are theirs, which the driver just looked up and found missing: a
    shared store skips that lookup (the one under each signature's lock still asks);
    a chunk of several points takes its locks, and sends its records, in one message
    each (PostgresStore.chunk)."""
    trackers: dict[TrackerConfig, Any] = getattr(_workers, "trackers", None) or {}
    _workers.trackers = trackers
    tracker = trackers.get(settings)
    if tracker is None:
        tracker = trackers[settings] = tracker_type(config=settings)
    store = tracker._services.store
    together = getattr(store, "chunk", None) if len(configs) > 1 else None
    if together is None:
        together = getattr(store, "assumed_missing", None)
    with together(signatures) if together is not None else nullcontext():
        return [_run_point(tracker, fn, config, call) for config in configs]
