"""The spec's "Minimal runnable example" and TrackerConfig example, run as written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

MINIMAL_EXAMPLE = textwrap.dedent(
    """
    from pathlib import Path
    import consist
    from consist import Tracker
    tracker = Tracker(run_dir="./runs", db_path="./provenance.duckdb")
    def write_summary() -> Path:
        out = consist.output_path("summary", ext="txt")
        out.write_text("summary\\n")
        return out
    result = tracker.run(fn=write_summary, outputs=["summary"])
    latest = tracker.find_latest_run(model=result.run.model_name)
    print(result.run.id)
    print(latest.id if latest else None)
    """
)


def test_minimal_runnable_example(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(MINIMAL_EXAMPLE)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"},
    )
    run_id, latest_id = proc.stdout.split()
    assert run_id == latest_id
    assert run_id.startswith("write_summary-")
    assert (tmp_path / "runs" / "consist_runs" / f"{run_id}.json").is_file()
    assert (tmp_path / "runs" / "consist.json").is_file()
    assert (tmp_path / "provenance.duckdb").is_file()
    # A second process reuses the first one's run.
    proc2 = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    second_id, latest2 = proc2.stdout.split()
    assert second_id != run_id and latest2 == second_id


def test_tracker_from_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    from consist.core.tracker import Tracker
    from consist.core.tracker_config import TrackerConfig

    config = TrackerConfig(run_dir="./runs", db_path="./provenance.duckdb")
    tracker = Tracker.from_config(config)
    assert tracker.run_dir == tmp_path / "runs"
    assert tracker.db_path == tmp_path / "provenance.duckdb"

    def step() -> Path:
        out = Path("out.txt")
        out.write_text("x")
        return out

    first = tracker.run(fn=step, outputs=["out"])
    second = tracker.run(fn=step, outputs=["out"])
    assert not first.cache_hit and second.cache_hit
    assert second.run.reused_run_id == first.run.id
    assert second.outputs["out"].hash == first.outputs["out"].hash
    tracker.close()
