"""A process killed in the middle of a step still leaves the run queryable as "running"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from consist import Tracker

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from consist import Tracker

    tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2], code_identity="callable_module")

    def long_step(config):
        os._exit(3)  # killed mid-step: no failure record, no atexit sync

    tracker.run(fn=long_step, run_id="killed", config={"x": 1})
    """
)


def test_killed_step_is_visible_as_running(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(SCRIPT)
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    proc = subprocess.run([sys.executable, str(script), str(run_dir), str(db_path)])
    assert proc.returncode == 3

    with Tracker(run_dir=run_dir, db_path=db_path) as tracker:
        (run,) = tracker.find_runs(status="running")
        assert run.id == "killed"
        assert tracker.get_run("killed").status == "running"
        # A running run is never a cache hit for the next attempt.
        assert tracker.find_matching_run(run.config_hash, run.input_hash, run.git_hash) is None
