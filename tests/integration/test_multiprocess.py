"""Many writers: several processes sweep configs on one run_dir and one DuckDB file.

DuckDB lets one process hold the file at a time, so these tests check the design's
answer (file-backed cache index + pending markers + short retried sync sessions):
no process fails with a lock error, no record is lost, and a later process reuses
the runs of an earlier one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from consist import Tracker
from consist.settings import TrackerConfig

N_WORKERS = 4
RUNS_PER_WORKER = 50
# Each worker runs SHARED_CONFIGS configs that every other worker also runs (cache hits
# and simultaneous syncs of the same signature) and the rest unique to itself.
SHARED_CONFIGS = 10

WORKER_SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import consist
    from consist import Tracker
    from consist.settings import TrackerConfig


    def step(config):
        out = consist.output_path("result", ext="json")
        out.write_text(json.dumps(config, sort_keys=True))
        return out


    def main():
        run_dir, db_path, worker, n_runs, n_shared, report = sys.argv[1:7]
        worker, n_runs, n_shared = int(worker), int(n_runs), int(n_shared)
        tracker = Tracker(
            config=TrackerConfig(
                run_dir=run_dir,
                db_path=db_path,
                code_identity="callable_module",
                sync_every_runs=5,
                sync_every_seconds=0.05,
            )
        )
        results = []
        for i in range(n_runs):
            if i < n_shared:
                # Workers walk the shared configs in different orders.
                config = {"shared": (i + worker * 3) % n_shared}
            else:
                config = {"worker": worker, "i": i}
            result = tracker.run(fn=step, name="sweep", config=config, outputs=["result"])
            results.append(
                {
                    "run_id": result.run.id,
                    "config": config,
                    "cache_hit": result.cache_hit,
                    "reused_run_id": result.run.reused_run_id,
                    "status": result.run.status,
                }
            )
        tracker.close()
        with open(report, "w") as handle:
            json.dump(results, handle)


    if __name__ == "__main__":
        main()
    """
)


def _write_script(tmp_path: Path) -> Path:
    script = tmp_path / "sweep_worker.py"
    script.write_text(WORKER_SCRIPT)
    return script


def _start_worker(
    script: Path,
    run_dir: Path,
    db_path: Path,
    worker: int,
    n_runs: int,
    n_shared: int,
    report: Path,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(run_dir),
            str(db_path),
            str(worker),
            str(n_runs),
            str(n_shared),
            str(report),
        ],
        cwd=script.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"worker did not finish in {timeout} s; stderr:\n{stderr}")
    return proc.returncode, stdout, stderr


def _tracker(run_dir: Path, db_path: Path) -> Tracker:
    return Tracker(
        config=TrackerConfig(
            run_dir=run_dir,
            db_path=db_path,
            code_identity="callable_module",
            sync_every_runs=5,
            sync_every_seconds=0.05,
        )
    )


@pytest.fixture
def sweep(tmp_path: Path):
    """Run N_WORKERS concurrent worker processes; return (run_dir, db_path, reports)."""
    script = _write_script(tmp_path)
    run_dir = tmp_path / "runs"
    db_path = tmp_path / "provenance.duckdb"
    reports = [tmp_path / f"report-{w}.json" for w in range(N_WORKERS)]
    procs = [
        _start_worker(script, run_dir, db_path, w, RUNS_PER_WORKER, SHARED_CONFIGS, reports[w])
        for w in range(N_WORKERS)
    ]
    outcomes = [_finish(proc) for proc in procs]
    for worker, (code, _stdout, stderr) in enumerate(outcomes):
        assert code == 0, f"worker {worker} exited {code}:\n{stderr}"
        assert "Traceback" not in stderr, f"worker {worker}:\n{stderr}"
        assert "lock" not in stderr.lower(), f"worker {worker}:\n{stderr}"
        # sync_at_exit logs this when it could not bring the store up to date.
        assert "left pending" not in stderr, f"worker {worker}:\n{stderr}"
    results = [json.loads(report.read_text()) for report in reports]
    return run_dir, db_path, results


def test_concurrent_sweep_loses_no_run(sweep) -> None:
    run_dir, db_path, results = sweep
    all_ids: set[str] = set()
    for worker_results in results:
        assert len(worker_results) == RUNS_PER_WORKER
        for item in worker_results:
            assert item["status"] == "completed"
            assert (run_dir / "consist_runs" / f"{item['run_id']}.json").is_file()
            all_ids.add(item["run_id"])
    assert len(all_ids) == N_WORKERS * RUNS_PER_WORKER

    tracker = _tracker(run_dir, db_path)
    try:
        runs = tracker.find_runs(limit=100_000)
        assert isinstance(runs, list)
        assert {run.id for run in runs} == all_ids
        assert len(runs) == N_WORKERS * RUNS_PER_WORKER
        assert {run.status for run in runs} == {"completed"}

        from sqlalchemy import text

        with tracker.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
            completed = conn.execute(
                text("SELECT count(*) FROM runs WHERE status = 'completed'")
            ).scalar_one()
        assert count == N_WORKERS * RUNS_PER_WORKER
        assert completed == N_WORKERS * RUNS_PER_WORKER
        assert os.listdir(run_dir / ".consist" / "pending") == []
    finally:
        tracker.close()


def test_concurrent_sweep_cache_hits_are_consistent(sweep) -> None:
    run_dir, db_path, results = sweep
    by_id = {item["run_id"]: item for worker_results in results for item in worker_results}
    hits = [item for item in by_id.values() if item["cache_hit"]]
    # Unique configs were each run once, so they can never hit.
    for item in by_id.values():
        if "worker" in item["config"]:
            assert not item["cache_hit"]
    # Each shared config is executed at least once; later runs of it (up to three per
    # config, in other processes) may hit. At least some must, or nothing was shared.
    assert hits, "no cross-process cache hit in the sweep"
    for item in hits:
        reused = by_id.get(item["reused_run_id"])
        assert reused is not None, f"{item['run_id']} reused an unknown run"
        assert reused["config"] == item["config"]
        assert not reused["cache_hit"]

    tracker = _tracker(run_dir, db_path)
    try:
        runs = tracker.find_runs(limit=100_000)
        assert isinstance(runs, list)
        stored = {run.id: run for run in runs}
        for item in by_id.values():
            run = stored[item["run_id"]]
            assert run.cache_hit == item["cache_hit"]
            assert run.reused_run_id == item["reused_run_id"]
    finally:
        tracker.close()


def test_fresh_process_reuses_runs_of_an_earlier_process(tmp_path: Path) -> None:
    script = _write_script(tmp_path)
    run_dir = tmp_path / "runs"
    db_path = tmp_path / "provenance.duckdb"
    n_runs = 8
    first_report, second_report = tmp_path / "first.json", tmp_path / "second.json"

    code, _, stderr = _finish(
        _start_worker(script, run_dir, db_path, 0, n_runs, 0, first_report)
    )
    assert code == 0, stderr
    code, _, stderr = _finish(
        _start_worker(script, run_dir, db_path, 0, n_runs, 0, second_report)
    )
    assert code == 0, stderr

    first = json.loads(first_report.read_text())
    second = json.loads(second_report.read_text())
    assert [item["config"] for item in first] == [item["config"] for item in second]
    for before, after in zip(first, second, strict=True):
        assert not before["cache_hit"]
        assert after["cache_hit"], f"config {after['config']} was not reused"
        assert after["reused_run_id"] == before["run_id"]
        assert after["run_id"] != before["run_id"]

    tracker = _tracker(run_dir, db_path)
    try:
        runs = tracker.find_runs(limit=100_000)
        assert isinstance(runs, list)
        assert len(runs) == 2 * n_runs
    finally:
        tracker.close()
