"""Records as orjson writes them (model/codec.py), end to end through journal and store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import consist
from consist import Tracker
from consist.persist import sync as sync_module


def step(config: dict[str, int]) -> Path:
    out = consist.output_path("out", ext="json")
    out.write_text(json.dumps(config))
    return out


def fresh(tmp_path: Path) -> Tracker:
    return Tracker(
        run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb", code_identity="callable_module"
    )


def test_nan_and_infinity_in_meta_survive_journal_snapshot_and_store(tmp_path: Path) -> None:
    tracker = fresh(tmp_path)
    with tracker.trace("calibrate", config={"k": 1}):
        tracker.log_meta(rmse=math.nan, bound=math.inf, note="zürich")
    run_id = tracker.last_run.run.id  # type: ignore[union-attr]
    journaled = tracker.get_run_record(run_id)  # from the journal line, before a sync
    assert math.isnan(journaled.run.meta["rmse"]) and journaled.run.meta["bound"] == math.inf
    tracker.sync_store()
    snapshot = tracker.get_run_record(run_id)
    assert math.isnan(snapshot.run.meta["rmse"]) and snapshot.run.meta["note"] == "zürich"
    stored = tracker.find_runs(model="calibrate")[0]
    assert math.isnan(stored.meta["rmse"]) and stored.meta["bound"] == math.inf
    tracker.close()


def test_a_non_ascii_run_id_is_found_in_the_journal_before_a_sync(tmp_path: Path) -> None:
    tracker = fresh(tmp_path)
    result = tracker.run(fn=step, config={"v": 1}, run_id="zürich-1")
    assert result.run.id == "zürich-1"
    assert tracker.get_run_record("zürich-1").run.status == "completed"
    tracker.sync_store()
    assert [run.id for run in tracker.find_runs(model="step")] == ["zürich-1"]
    tracker.close()


def test_a_sync_decodes_each_run_once_however_many_lines_it_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = fresh(tmp_path)
    tracker.sync_store()
    for v in range(5):  # each miss journals a running line and a final line
        tracker.run(fn=step, config={"v": v})
    decoded: list[str] = []
    real = sync_module.decode_record

    def counting(line: bytes, layout: object) -> object:
        record = real(line, layout)  # type: ignore[arg-type]
        decoded.append(record.run.id)
        return record

    monkeypatch.setattr(sync_module, "decode_record", counting)
    tracker.sync_store()
    assert len(decoded) == 5 and len(set(decoded)) == 5
    runs = tracker.find_runs(model="step")
    assert len(runs) == 5 and {run.status for run in runs} == {"completed"}
    for run in runs:  # the materialised snapshot is the final record
        assert tracker.get_run_record(run.id).run.status == "completed"
    tracker.close()
