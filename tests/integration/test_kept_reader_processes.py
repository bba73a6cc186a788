"""A reader process that keeps its DuckDB connection between queries never starves or
fails the writers of a sweep (docs/concurrency.md, "Readers keep their connection").

The reader queries in a tight loop, so its connection is never idle: only the
turnstile check can let writers in. The writers record runs with the default
journal and sync every few runs WITHOUT blocking (the opportunistic background
sync), which is the sync a kept reader could most easily keep out.
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

WRITER = textwrap.dedent(
    """
    import json
    import sys
    import time

    import consist
    from consist import Tracker
    from consist.settings import TrackerConfig


    def step(config):
        # A step takes a moment, as a model does: the sweep then lasts long enough
        # (~1 s) for the reader to see the store grow in steps. Bare steps finish the
        # whole sweep in a few syncs' time.
        time.sleep(0.01)
        out = consist.output_path("result", ext="json")
        out.write_text(json.dumps(config))
        return out


    run_dir, db_path, worker, n_runs, report = sys.argv[1:6]
    tracker = Tracker(config=TrackerConfig(
        run_dir=run_dir, db_path=db_path, code_identity="callable_module",
        sync_every_runs=5, sync_every_seconds=0.05,
    ))
    ids = []
    for i in range(int(n_runs)):
        result = tracker.run(fn=step, name="sweep", config={"w": int(worker), "i": i},
                             outputs=["result"])
        ids.append(result.run.id)
    tracker.close()
    with open(report, "w") as handle:
        json.dump(ids, handle)
    """
)

READER = textwrap.dedent(
    """
    import json
    import os
    import sys

    from consist import Tracker

    run_dir, db_path, start_file, stop_file, report = sys.argv[1:6]
    reader = Tracker(run_dir=run_dir, db_path=db_path, access_mode="read")
    open(start_file, "w").close()
    counts = []
    while not os.path.exists(stop_file):
        counts.append(len(reader.find_runs(limit=100_000)))
    connector = reader._services.store._connector
    opens = next(connector._epochs) - 1  # read-only connections opened so far
    reader.close()
    with open(report, "w") as handle:
        json.dump({"counts": counts, "opens": opens}, handle)
    """
)


def _run(script: Path, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        cwd=script.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CONSIST_STORE_LOCK_TIMEOUT": "60"},
    )


def _finish(proc: subprocess.Popen[str], what: str) -> str:
    try:
        _, stderr = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        pytest.fail(f"{what} did not finish; stderr:\n{stderr}")
    assert proc.returncode == 0, f"{what} exited {proc.returncode}:\n{stderr}"
    assert "Traceback" not in stderr and "left pending" not in stderr, f"{what}:\n{stderr}"
    assert "background store sync failed" not in stderr, f"{what}:\n{stderr}"
    return stderr


def test_a_kept_reader_in_a_tight_loop_lets_a_sweep_sync(tmp_path: Path) -> None:
    run_dir, db_path = tmp_path / "runs", tmp_path / "provenance.duckdb"
    with Tracker(run_dir=run_dir, db_path=db_path) as creator:
        creator.sync_store()  # the store and its gate exist before the reader starts
    writer_script, reader_script = tmp_path / "writer.py", tmp_path / "reader.py"
    writer_script.write_text(WRITER)
    reader_script.write_text(READER)
    start, stop, reader_report = tmp_path / "started", tmp_path / "stop", tmp_path / "r.json"
    reader = _run(reader_script, run_dir, db_path, start, stop, reader_report)
    while not start.exists() and reader.poll() is None:
        pass
    n_writers, n_runs = 3, 100
    reports = [tmp_path / f"w{w}.json" for w in range(n_writers)]
    writers = [
        _run(writer_script, run_dir, db_path, w, n_runs, reports[w]) for w in range(n_writers)
    ]
    for w, proc in enumerate(writers):
        _finish(proc, f"writer {w}")
    stop.touch()
    _finish(reader, "reader")

    seen = json.loads(reader_report.read_text())
    counts, opens = seen["counts"], seen["opens"]
    # The reader kept its connection between queries (fewer opens than queries) ...
    assert 1 <= opens < len(counts)
    # ... and still let the writers in while it polled: the store grew under it, in
    # several steps, and never lost a run.
    assert counts == sorted(counts)
    assert len(set(counts)) >= 3, counts
    ids = {run_id for report in reports for run_id in json.loads(report.read_text())}
    assert len(ids) == n_writers * n_runs
    with Tracker(run_dir=run_dir, db_path=db_path, access_mode="read") as check:
        runs = check.find_runs(limit=100_000)
        assert isinstance(runs, list)
        assert {run.id for run in runs} == ids
