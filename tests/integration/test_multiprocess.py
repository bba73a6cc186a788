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


    LOG_META = "--log-meta" in sys.argv


    def step(config):
        out = consist.output_path("result", ext="json")
        out.write_text(json.dumps(config, sort_keys=True))
        if LOG_META:
            # log_* calls upsert the running record into the store at once (blocking).
            consist.log_meta(note=json.dumps(config, sort_keys=True))
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
    *extra: str,
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
            *extra,
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


@pytest.fixture(params=["fresh-store", "existing-store"])
def sweep(request, tmp_path: Path):
    """Run N_WORKERS concurrent worker processes; return (run_dir, db_path, reports).

    "fresh-store": the workers race to create the DuckDB file; "existing-store": it exists.
    """
    script = _write_script(tmp_path)
    run_dir = tmp_path / "runs"
    db_path = tmp_path / "provenance.duckdb"
    reports = [tmp_path / f"report-{w}.json" for w in range(N_WORKERS)]
    if request.param == "existing-store":
        with _tracker(run_dir, db_path) as creator:
            creator.sync_store()
        assert db_path.is_file()
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
    # The workers' own syncs (opportunistic, then blocking at close) already brought
    # every run into the store: no marker is left for the parent.
    assert db_path.is_file()
    assert os.listdir(run_dir / ".consist" / "pending") == []

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
        assert set(by_id) - set(stored) == set(), "runs missing from the store"
        for item in by_id.values():
            run = stored[item["run_id"]]
            assert run.cache_hit == item["cache_hit"]
            assert run.reused_run_id == item["reused_run_id"]
    finally:
        tracker.close()


def test_concurrent_log_meta_writes_reach_the_store(tmp_path: Path) -> None:
    """log_meta writes the running record to DuckDB at once: a blocking, contended write."""
    script = _write_script(tmp_path)
    run_dir, db_path = tmp_path / "runs", tmp_path / "provenance.duckdb"
    n_runs = 15
    with _tracker(run_dir, db_path) as creator:
        creator.sync_store()
    reports = [tmp_path / f"report-{w}.json" for w in range(N_WORKERS)]
    procs = [
        _start_worker(script, run_dir, db_path, w, n_runs, 5, reports[w], "--log-meta")
        for w in range(N_WORKERS)
    ]
    for worker, proc in enumerate(procs):
        code, _, stderr = _finish(proc)
        assert code == 0, f"worker {worker} exited {code}:\n{stderr}"
        assert "Traceback" not in stderr and "left pending" not in stderr, stderr
    results = [item for report in reports for item in json.loads(report.read_text())]
    tracker = _tracker(run_dir, db_path)
    try:
        runs = tracker.find_runs(limit=100_000)
        assert isinstance(runs, list)
        assert {run.id for run in runs} == {item["run_id"] for item in results}
        for item in results:
            if item["cache_hit"]:
                continue  # the function did not run, so it logged nothing
            note = json.dumps(item["config"], sort_keys=True)
            matches = tracker.find_runs(metadata={"note": note}, limit=100)
            assert item["run_id"] in {run.id for run in matches}
            assert {run.status for run in matches} == {"completed"}
        assert os.listdir(run_dir / ".consist" / "pending") == []
    finally:
        tracker.close()


def test_fresh_process_reuses_runs_of_an_earlier_process(tmp_path: Path) -> None:
    script = _write_script(tmp_path)
    run_dir = tmp_path / "runs"
    db_path = tmp_path / "provenance.duckdb"
    n_runs = 8
    first_report, second_report = tmp_path / "first.json", tmp_path / "second.json"

    code, _, stderr = _finish(_start_worker(script, run_dir, db_path, 0, n_runs, 0, first_report))
    assert code == 0, stderr
    code, _, stderr = _finish(_start_worker(script, run_dir, db_path, 0, n_runs, 0, second_report))
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


def test_opportunistic_sync_tolerates_a_db_file_being_created(tmp_path: Path) -> None:
    """While another process creates the DuckDB file it exists with 0 bytes: that is busy."""
    import duckdb

    run_dir, db_path = tmp_path / "runs", tmp_path / "provenance.duckdb"
    db_path.touch()  # what another process's duckdb.connect leaves visible for an instant
    tracker = Tracker(
        config=TrackerConfig(
            run_dir=run_dir,
            db_path=db_path,
            code_identity="callable_module",
            sync_every_runs=1,
        )
    )
    try:
        (tmp_path / "in.txt").write_text("x")
        result = tracker.run(fn=_copy_input, inputs={"src": tmp_path / "in.txt"}, outputs=["out"])
        assert result.run.status == "completed"
        # The other process finishes creating the database (atomically, for this test).
        ready = tmp_path / "ready.duckdb"
        duckdb.connect(str(ready)).close()
        os.replace(ready, db_path)
        runs = tracker.find_runs(limit=100)
        assert [run.id for run in runs] == [result.run.id]
    finally:
        tracker.close()


def _copy_input(src: Path) -> Path:
    out = src.with_name("out.txt")
    out.write_text(src.read_text())
    return out


NOT_A_DATABASE_SCRIPT = textwrap.dedent(
    """
    import sys

    from consist import StoreError, Tracker

    tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2], code_identity="callable_module")
    try:
        tracker.find_runs()
    except StoreError as exc:
        print(exc)
    else:
        print("no error")
    """
)


def test_a_file_that_is_not_a_database_is_reported_as_such(tmp_path: Path) -> None:
    db_path = tmp_path / "notes.duckdb"
    db_path.write_text("these are my notes, not a database\n")
    script = tmp_path / "not_a_db.py"
    script.write_text(NOT_A_DATABASE_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs"), str(db_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        # Keep the (buggy) wait short; the assertion is about the message only.
        env={
            **os.environ,
            "CONSIST_STORE_LOCK_TIMEOUT": "1",
            "CONSIST_EXIT_SYNC_TIMEOUT": "1",
        },
    )
    assert proc.returncode == 0, proc.stderr
    message = proc.stdout
    assert "not a valid DuckDB database" in message
    assert "locked by another process" not in message
    assert db_path.read_text() == "these are my notes, not a database\n"


HOLDER_SCRIPT = textwrap.dedent(
    """
    import sys

    import duckdb

    conn = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    sys.stdin.readline()
    conn.close()
    """
)


def test_engine_waits_for_another_process_holding_the_store(tmp_path: Path) -> None:
    import threading

    from sqlalchemy import text

    run_dir, db_path = tmp_path / "runs", tmp_path / "provenance.duckdb"
    tracker = _tracker(run_dir, db_path)
    holder = None
    try:
        tracker.run(fn=_copy_input, inputs={"src": _touch(tmp_path / "in.txt")})
        engine = tracker.engine  # synced; the engine itself holds nothing open
        script = tmp_path / "holder.py"
        script.write_text(HOLDER_SCRIPT)
        holder = subprocess.Popen(
            [sys.executable, str(script), str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"

        def release() -> None:
            assert holder is not None and holder.stdin is not None
            holder.stdin.write("done\n")
            holder.stdin.flush()

        # Another process (here: a plain DuckDB connection) holds the file for a moment.
        timer = threading.Timer(1.0, release)
        timer.start()
        try:
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
        finally:
            timer.join()
        assert count == 1
    finally:
        if holder is not None:
            holder.wait(timeout=30)
        tracker.close()


def _touch(path: Path) -> Path:
    path.write_text("x")
    return path


READER_SCRIPT = textwrap.dedent(
    """
    import json
    import os
    import sys

    from consist import Tracker

    run_dir, db_path, stop_file, report = sys.argv[1:5]
    reader = Tracker(run_dir=run_dir, db_path=db_path, access_mode="read")
    counts = []
    while not os.path.exists(stop_file):
        counts.append(len(reader.find_runs(limit=100_000)))
    counts.append(len(reader.find_runs(limit=100_000)))  # after every writer ended
    completed = len(reader.find_runs(status="completed", limit=100_000))
    odd = [(r.id, r.status) for r in reader.find_runs(limit=100_000) if r.status != "completed"]
    reader.close()
    with open(report, "w") as handle:
        json.dump({"counts": counts, "completed": completed, "odd": odd}, handle)
    """
)


def test_a_polling_reader_never_blocks_the_writers(tmp_path: Path) -> None:
    """A read-only process queries in a loop while two writers record runs with
    log_meta (each a blocking write session). Every writer's runs land without a lock
    error, the reader never fails, and it sees every run, growing monotonically."""
    script = _write_script(tmp_path)
    run_dir, db_path = tmp_path / "runs", tmp_path / "provenance.duckdb"
    n_writers, n_runs = 2, 30
    reader_script = tmp_path / "reader.py"
    reader_script.write_text(READER_SCRIPT)
    stop_file, reader_report = tmp_path / "stop", tmp_path / "reader.json"
    env = {**os.environ, "CONSIST_STORE_LOCK_TIMEOUT": "60"}
    reader = subprocess.Popen(
        [sys.executable, str(reader_script), str(run_dir), str(db_path), str(stop_file),
         str(reader_report)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    reports = [tmp_path / f"report-{w}.json" for w in range(n_writers)]
    writers = [
        _start_worker(script, run_dir, db_path, w, n_runs, 0, reports[w], "--log-meta")
        for w in range(n_writers)
    ]
    for worker, proc in enumerate(writers):
        code, _, stderr = _finish(proc)
        assert code == 0, f"writer {worker} exited {code}:\n{stderr}"
        assert "Traceback" not in stderr and "left pending" not in stderr, stderr
    stop_file.touch()
    code, _, stderr = _finish(reader)
    assert code == 0, f"reader exited {code}:\n{stderr}"
    assert "Traceback" not in stderr, stderr

    total = n_writers * n_runs
    seen = json.loads(reader_report.read_text())
    assert len(seen["counts"]) >= 2
    assert seen["counts"] == sorted(seen["counts"]), "a run disappeared from a read"
    assert seen["counts"][-1] == total and seen["completed"] == total, seen["odd"]
    results = [item for report in reports for item in json.loads(report.read_text())]
    tracker = _tracker(run_dir, db_path)
    try:
        runs = tracker.find_runs(limit=100_000)
        assert isinstance(runs, list)
        assert {run.id for run in runs} == {item["run_id"] for item in results}
        assert {run.status for run in runs} == {"completed"}
        assert os.listdir(run_dir / ".consist" / "pending") == []
    finally:
        tracker.close()
