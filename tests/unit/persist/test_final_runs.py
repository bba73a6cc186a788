"""persist/snapshot.final_runs: the runs a lineage walk may take from this run_dir's
snapshots (final records only), leaving every other run to the store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord, Run, RunStatus
from consist.persist.snapshot import final_runs, read_snapshot, write_snapshot


def record(run_id: str, status: str) -> ConsistRecord:
    run = Run(id=run_id, name="step", model_name="m", status=status, tags=["a"],
              created_at="2024-03-01T12:00:01.000100+00:00", meta={"x": [1, 2.5]})  # fmt: skip
    return ConsistRecord(run=run, config={"k": 1})


def test_final_snapshots_are_answered_and_the_rest_left_to_the_store(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs")
    layout.ensure()
    for run_id, status in (("done", "completed"), ("bad", "failed"), ("live", "running"),
                           ("moved", "completed"), ("garbled", "completed")):  # fmt: skip
        write_snapshot(layout, record(run_id, status), update_latest=False)
    # A snapshot under another run's name, and one that is not JSON.
    shutil.copy(layout.snapshot_path("moved"), layout.snapshot_path("renamed"))
    os.remove(layout.snapshot_path("moved"))
    Path(layout.snapshot_path("garbled")).write_text("{not json")
    asked = ["done", "bad", "live", "renamed", "garbled", "absent", "a/b", ".."]
    found = final_runs(layout, asked)
    assert set(found) == {"done", "bad"}
    assert found["done"] == read_snapshot(layout, "done").run == record("done", "completed").run
    assert found["bad"].status == RunStatus.FAILED.value
    assert final_runs(layout, []) == {}
