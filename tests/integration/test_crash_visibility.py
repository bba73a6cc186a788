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
        open(sys.argv[3], "w").write(str(os.getpid()))
        os._exit(3)  # killed mid-step: no failure record, no atexit sync

    tracker.run(fn=long_step, run_id="killed", config={"x": 1})
    """
)


def proc_pid(tmp_path: Path) -> int:
    return int((tmp_path / "pid").read_text())


def test_killed_step_is_visible_and_marked_abandoned(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(SCRIPT)
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    proc = subprocess.run(
        [sys.executable, str(script), str(run_dir), str(db_path), str(tmp_path / "pid")]
    )
    assert proc.returncode == 3

    with Tracker(run_dir=run_dir, db_path=db_path) as tracker:
        # Visible, and not left "running" forever: its owner process is gone.
        (run,) = tracker.find_runs(name="long_step")
        assert run.id == "killed"
        assert run.status == "failed" and run.error.startswith("abandoned: process")
        assert run.meta["abandoned"]["reason"].startswith("process")
        assert run.owner["pid"] == proc_pid(tmp_path)
        assert tracker.get_run("killed").status == "failed"
        assert tracker.find_runs(status="running") == []
        # A running run is never a cache hit for the next attempt.
        assert tracker.find_matching_run(run.config_hash, run.input_hash, run.git_hash) is None
