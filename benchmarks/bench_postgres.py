"""Benchmark of the shared PostgreSQL store and Dask sweeps (issue 17).

Usage::

    python benchmarks/bench_postgres.py [--calls N] [--points N] [--url URL] [--out FILE]

Without --url a throwaway server is started (tests/pg_server.py: initdb + pg_ctl on
127.0.0.1, the loopback interface). Prints ONE JSON object on stdout.

1. Per-call overhead of ``tracker.run`` for a trivial step, misses then hits, on the
   PostgreSQL store and on the DuckDB store in the same run (median / p90 ms).
   Targets on PostgreSQL: hit <= 2 ms, miss <= 5 ms.
2. A sweep of --points trivial steps on a Dask LocalCluster (2 process workers, one
   thread each): ``client.map`` + ``gather`` alone, then ``tracker.map(client=...)``
   on the PostgreSQL store (every point a miss, recorded by the workers), then the
   same sweep again (every point a hit, decided before submission). Target: the
   recorded sweep within 2x Dask alone. ``--points-per-task K`` (default 1) also
   times the every-miss sweep with ``tracker.map(..., points_per_task=K)`` (on a
   fresh set of configs, so every point is a miss again).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import consist
from consist import Tracker

ROOT = Path(__file__).resolve().parents[1]


def step(config: dict[str, Any]) -> Any:
    """Trivial step: write a tiny file through consist.output_path and return it."""
    out = consist.output_path("out", ext="txt")
    out.write_text(json.dumps(config))
    return out


def sweep_step(config: dict[str, Any]) -> int:
    """Trivial sweep point (no file): the cost measured is Consist's and Dask's."""
    return int(config["x"]) * 2


def bare(x: int) -> int:
    return x * 2


def bare_chunk(xs: list[int]) -> list[int]:
    return [x * 2 for x in xs]


def _workers_materialize(_: int) -> float:
    """On a worker's task thread (its trackers are per thread): turn their journals into
    snapshots now (tracker.sync_store)."""
    from consist.tracker import _map_methods

    began = time.perf_counter()
    for tracker in (getattr(_map_methods._workers, "trackers", None) or {}).values():
        tracker.sync_store()
    return time.perf_counter() - began


def materialize(client: Any) -> float:
    """Seconds the slowest worker took to materialise its snapshots after a sweep (the
    work a sweep defers to the workers' periodic sync; measured apart, and done before
    the next timed sweep so that it never runs inside one)."""
    futures = [
        client.submit(_workers_materialize, n, workers=[address], pure=False)
        for n, address in enumerate(client.scheduler_info()["workers"])
    ]
    return float(max(client.gather(futures)))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 3),
    }


def per_call(db_path: str, run_dir: Path, calls: int) -> dict[str, Any]:
    tracker = Tracker(run_dir=run_dir, db_path=db_path, code_identity="callable_module")
    misses, hits = [], []
    for i in range(calls):
        began = time.perf_counter()
        result = tracker.run(step, name="bench", config={"i": i}, outputs=["out"])
        misses.append(time.perf_counter() - began)
        assert not result.cache_hit
    for i in range(calls):
        began = time.perf_counter()
        result = tracker.run(step, name="bench", config={"i": i}, outputs=["out"])
        hits.append(time.perf_counter() - began)
        assert result.cache_hit
    tracker.close()
    return {"miss": _summary(misses), "hit": _summary(hits)}


def sweep(url: str, work: Path, points: int, per_task: int = 1) -> dict[str, Any]:
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        client.gather(client.map(bare, range(20)))  # warm the workers
        began = time.perf_counter()
        assert client.gather(client.map(bare, range(points), pure=False))[-1] == 2 * (points - 1)
        dask_alone = time.perf_counter() - began

        configs = [{"x": x} for x in range(points)]
        tracker = Tracker(run_dir=work / "sweep", db_path=url, code_identity="callable_module")
        # Open every worker's tracker first (as the 20 warm tasks of Dask alone do):
        # a one-time cost per worker, not a per-point one.
        warm = [{"x": -k} for k in range(1, 9)]
        tracker.map(sweep_step, warm, name="warm", client=client)
        began = time.perf_counter()
        results = tracker.map(sweep_step, configs, name="sweep", client=client)
        recorded = time.perf_counter() - began
        assert all(not r.cache_hit and r.run.status == "completed" for r in results)
        deferred = materialize(client)
        began = time.perf_counter()
        again = tracker.map(sweep_step, configs, name="sweep", client=client)
        cached = time.perf_counter() - began
        assert all(r.cache_hit for r in again)
        chunked = alone_chunked = None
        deferred_chunked = 0.0
        if per_task > 1:
            # Dask alone with the same chunks: how much of the gain is Dask's own.
            chunks = [list(range(i, min(i + per_task, points))) for i in range(0, points, per_task)]
            began = time.perf_counter()
            assert client.gather(client.map(bare_chunk, chunks, pure=False))[-1][-1] == 2 * (
                points - 1
            )
            alone_chunked = time.perf_counter() - began
            fresh = [{"x": x, "chunked": True} for x in range(points)]
            began = time.perf_counter()
            results = tracker.map(
                sweep_step, fresh, name="sweep", client=client, points_per_task=per_task
            )
            chunked = time.perf_counter() - began
            assert all(not r.cache_hit and r.run.status == "completed" for r in results)
            deferred_chunked = materialize(client)
        tracker.close()
    finally:
        client.close()
        cluster.close()
    return {
        "points": points,
        "dask_alone_s": round(dask_alone, 3),
        "consist_misses_s": round(recorded, 3),
        "consist_all_hits_s": round(cached, 3),
        "ratio_misses": round(recorded / dask_alone, 2),
        "materialize_after_s": round(deferred, 3),
        **(
            {
                "points_per_task": per_task,
                "dask_alone_chunked_s": round(alone_chunked or 0.0, 3),
                "consist_misses_chunked_s": round(chunked, 3),
                "ratio_misses_chunked": round(chunked / dask_alone, 2),
                "materialize_after_chunked_s": round(deferred_chunked, 3),
            }
            if chunked is not None
            else {}
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--url", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--sweep-only", action="store_true", help="Skip the per-call part.")
    parser.add_argument("--points-per-task", type=int, default=1)
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from pg_server import PgServer

        server = PgServer()
        server.start()
        url = server.create_database("bench")
    try:
        with tempfile.TemporaryDirectory(prefix="consist-bench-pg-") as tmp:
            work = Path(tmp)
            os.chdir(work)
            report: dict[str, Any] = {"calls": args.calls}
            if not args.sweep_only:
                log("per-call: postgres")
                report["postgres"] = per_call(url, work / "pg", args.calls)
                log("per-call: duckdb")
                report["duckdb"] = per_call(str(work / "db.duckdb"), work / "duck", args.calls)
            log(f"sweep: {args.points} points on Dask")
            report["dask_sweep"] = sweep(url, work, args.points, args.points_per_task)
    finally:
        if server is not None:
            server.stop()
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
