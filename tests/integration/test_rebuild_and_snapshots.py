"""JSON snapshots are the source of truth; the DuckDB store is a rebuildable index.

Covers: rebuild_store after losing the .duckdb file, idempotent rebuild, runs of a
process that died before syncing, consist.json, get_run_record, and corrupt snapshots.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import consist
from consist import Tracker
from consist.maintenance.rebuild import rebuild_store
from consist.model.run import Run
from consist.settings import TrackerConfig


def _tracker(run_dir: Path, db_path: Path | None, **settings) -> Tracker:
    return Tracker(
        config=TrackerConfig(
            run_dir=run_dir, db_path=db_path, code_identity="callable_module", **settings
        )
    )


def write_value(config):
    out = consist.output_path("value", ext="txt")
    out.write_text(str(config["x"]))
    return out


def failing_step(config):
    raise RuntimeError("boom")


def _record_runs(tracker: Tracker, n: int = 6) -> list[str]:
    ids = []
    for i in range(n):
        result = tracker.run(
            fn=write_value,
            name=f"step_{i % 2}",
            model="demo",
            config={"x": i},
            outputs=["value"],
            year=2020 + i % 3,
            iteration=i,
            stage="s1" if i % 2 else "s2",
            phase="p",
            tags=["sweep", f"t{i % 2}"],
            description=f"run {i}",
        )
        ids.append(result.run.id)
    # A cache hit is a run of its own and must survive a rebuild too.
    hit = tracker.run(
        fn=write_value,
        name="step_0",
        model="demo",
        config={"x": 0},
        outputs=["value"],
        year=2020,
        iteration=0,
        stage="s2",
        phase="p",
        tags=["sweep", "t0"],
        description="run 0",
    )
    assert hit.cache_hit
    ids.append(hit.run.id)
    return ids


def _all_runs(tracker: Tracker) -> dict[str, Run]:
    runs = tracker.find_runs(limit=100_000)
    assert isinstance(runs, list)
    return {run.id: run for run in runs}


def _delete_db(db_path: Path) -> None:
    for path in (db_path, Path(f"{db_path}.wal")):
        if path.exists():
            path.unlink()


@pytest.fixture
def recorded(tmp_path: Path):
    run_dir, db_path = tmp_path / "runs", tmp_path / "store.duckdb"
    tracker = _tracker(run_dir, db_path)
    ids = _record_runs(tracker)
    before = _all_runs(tracker)
    tracker.close()
    assert set(before) == set(ids)
    return run_dir, db_path, ids, before


def test_rebuild_restores_every_run_after_the_db_is_deleted(recorded) -> None:
    run_dir, db_path, ids, before = recorded
    _delete_db(db_path)
    assert not db_path.exists()

    assert rebuild_store(run_dir, db_path) == len(ids)
    assert db_path.is_file()
    tracker = _tracker(run_dir, db_path)
    try:
        after = _all_runs(tracker)
        assert set(after) == set(ids)
        for run_id in ids:
            assert after[run_id] == before[run_id]
        # Filters work on the rebuilt store, too.
        assert len(tracker.find_runs(tags=["t1"], limit=1000)) == 3
        assert {r.id for r in tracker.find_runs(year=2020, limit=1000)} == {
            r.id for r in before.values() if r.year == 2020
        }
        latest = tracker.find_latest_run(model="demo")
        assert latest is not None and latest.iteration == 5
    finally:
        tracker.close()


def test_rebuild_is_idempotent(recorded) -> None:
    run_dir, db_path, ids, before = recorded
    assert rebuild_store(run_dir, db_path) == len(ids)  # over the existing store
    assert rebuild_store(run_dir, db_path) == len(ids)
    _delete_db(db_path)
    assert rebuild_store(run_dir, db_path) == len(ids)
    assert rebuild_store(run_dir, db_path) == len(ids)

    tracker = _tracker(run_dir, db_path)
    try:
        after = _all_runs(tracker)
        assert after == before
        from sqlalchemy import text

        with tracker.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == len(ids)
            links = conn.execute(
                text("SELECT count(*) FROM run_artifacts WHERE direction = 'output'")
            ).scalar_one()
        assert links == len(ids)  # one output per run, hits link the reused artifact
    finally:
        tracker.close()


CRASH_SCRIPT = textwrap.dedent(
    """
    import os
    import sys

    import consist
    from consist import Tracker
    from consist.settings import TrackerConfig


    def crashed_step(config):
        out = consist.output_path("value", ext="txt")
        out.write_text(str(config))
        return out


    run_dir, db_path, sync_every_runs = sys.argv[1:4]
    tracker = Tracker(
        config=TrackerConfig(
            run_dir=run_dir,
            db_path=db_path,
            code_identity="callable_module",
            sync_every_runs=int(sync_every_runs),
            sync_every_seconds=1e9,
        )
    )
    for i in range(3):
        result = tracker.run(fn=crashed_step, config={"i": i}, outputs=["value"])
        print(result.run.id, flush=True)
    # Die without running atexit handlers (or waiting for a background store sync).
    os._exit(0)
    """
)


def _crash_after_three_runs(
    tmp_path: Path, run_dir: Path, db_path: Path, sync_every_runs: int = 1_000_000
) -> list[str]:
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(run_dir), str(db_path), str(sync_every_runs)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    run_ids = proc.stdout.split()
    assert len(run_ids) == 3
    return run_ids


def _stored_ids(db_path: Path) -> set[str]:
    """Run ids in the DuckDB file, read directly (no tracker, so no sync)."""
    import duckdb

    conn = duckdb.connect(str(db_path), read_only=True)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM runs").fetchall()}
    finally:
        conn.close()


@pytest.fixture
def crashed(tmp_path: Path):
    """A closed tracker's run in the store, then a process that died before syncing."""
    run_dir, db_path = tmp_path / "runs", tmp_path / "store.duckdb"
    tracker = _tracker(run_dir, db_path)
    earlier = tracker.run(fn=write_value, config={"x": 1}, outputs=["value"]).run.id
    tracker.close()
    crashed_ids = _crash_after_three_runs(tmp_path, run_dir, db_path)
    pending = run_dir / ".consist" / "pending"
    assert os.listdir(pending), "the crash left nothing pending"
    # The crashed runs' records are journal lines only: no snapshot, no store row yet.
    journaled = b"".join(p.read_bytes() for p in pending.iterdir() if p.is_file())
    for run_id in crashed_ids:
        assert run_id.encode() in journaled
        assert not (run_dir / "consist_runs" / f"{run_id}.json").exists()
    assert _stored_ids(db_path) == {earlier}
    return run_dir, db_path, earlier, crashed_ids


def test_runs_of_a_crashed_process_are_synced_by_the_next_tracker(crashed) -> None:
    run_dir, db_path, earlier, crashed_ids = crashed
    tracker = _tracker(run_dir, db_path)
    try:
        runs = _all_runs(tracker)
        assert set(runs) == {earlier, *crashed_ids}
        assert {runs[i].status for i in crashed_ids} == {"completed"}
        assert os.listdir(run_dir / ".consist" / "pending") == []
        for run_id in crashed_ids:  # materialised before the journal was deleted
            assert (run_dir / "consist_runs" / f"{run_id}.json").is_file()
    finally:
        tracker.close()
    assert _stored_ids(db_path) == {earlier, *crashed_ids}


def test_a_crash_during_background_syncs_loses_no_run(tmp_path: Path) -> None:
    """Opportunistic syncs after every run, then os._exit at an arbitrary point of them."""
    run_dir, db_path = tmp_path / "runs", tmp_path / "store.duckdb"
    crashed_ids = _crash_after_three_runs(tmp_path, run_dir, db_path, sync_every_runs=1)
    tracker = _tracker(run_dir, db_path)
    try:
        runs = _all_runs(tracker)
        assert set(runs) == set(crashed_ids)
        assert {run.status for run in runs.values()} == {"completed"}
        assert os.listdir(run_dir / ".consist" / "pending") == []
    finally:
        tracker.close()


def test_crashed_runs_are_cache_hits_for_the_next_process(crashed, tmp_path: Path) -> None:
    run_dir, db_path, _, crashed_ids = crashed
    # The same script again: the completed-identity index does not need the store.
    again = _crash_after_three_runs(tmp_path, run_dir, db_path)
    tracker = _tracker(run_dir, db_path)
    try:
        runs = _all_runs(tracker)
        for old, new in zip(crashed_ids, again, strict=True):
            assert runs[new].cache_hit
            assert runs[new].reused_run_id == old
    finally:
        tracker.close()


def test_corrupt_snapshot_of_a_pending_run_does_not_break_find_runs(crashed) -> None:
    run_dir, db_path, earlier, crashed_ids = crashed
    damaged = crashed_ids[0]
    (run_dir / "consist_runs" / f"{damaged}.json").write_text('{"run": {"id": "trunc')
    tracker = _tracker(run_dir, db_path)
    try:
        runs = _all_runs(tracker)
        # The others are all there. (The damaged run may be too: the pending journal
        # carries its own copy of each record.)
        assert set(runs) >= {earlier, *crashed_ids[1:]}
        assert set(runs) <= {earlier, *crashed_ids}
        assert os.listdir(run_dir / ".consist" / "pending") == []
    finally:
        tracker.close()


def test_corrupt_snapshot_json_only_mode(tmp_path: Path, caplog) -> None:
    run_dir = tmp_path / "runs"
    tracker = _tracker(run_dir, None)
    try:
        good = [
            tracker.run(fn=write_value, config={"x": i}, outputs=["value"]).run.id for i in range(3)
        ]
        (run_dir / "consist_runs" / "corrupt-run.json").write_text("{not json")
        with caplog.at_level(logging.WARNING, logger="consist"):
            runs = _all_runs(tracker)
        assert set(runs) == set(good)
        assert any("corrupt-run" in message for message in caplog.messages), caplog.messages
    finally:
        tracker.close()


def test_consist_json_is_the_last_ended_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs"
    tracker = _tracker(run_dir, tmp_path / "store.duckdb")
    latest = run_dir / "consist.json"

    def snapshot_of(run_id: str) -> bytes:
        return (run_dir / "consist_runs" / f"{run_id}.json").read_bytes()

    # With a store, consist.json is brought up to date at each sync (and close, exit).
    try:
        first = tracker.run(fn=write_value, config={"x": 1}, outputs=["value"])
        tracker.sync_store()
        assert latest.read_bytes() == snapshot_of(first.run.id)
        second = tracker.run(fn=write_value, config={"x": 2}, outputs=["value"])
        tracker.sync_store()
        assert latest.read_bytes() == snapshot_of(second.run.id)
        hit = tracker.run(fn=write_value, config={"x": 1}, outputs=["value"])
        assert hit.cache_hit
        tracker.sync_store()
        assert latest.read_bytes() == snapshot_of(hit.run.id)
        with pytest.raises(RuntimeError, match="boom"):
            tracker.run(fn=failing_step, config={"x": 3}, run_id="failing-run")
        tracker.close()
        assert latest.read_bytes() == snapshot_of("failing-run")
        payload = json.loads(latest.read_text())
        assert payload["run"]["id"] == "failing-run"
        assert payload["run"]["status"] == "failed"
        assert "boom" in payload["run"]["error"]
    finally:
        tracker.close()


def test_get_run_record_returns_config_inputs_and_outputs(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs"
    raw = tmp_path / "raw.csv"
    raw.write_text("a,b\n1,2\n")
    tracker = _tracker(run_dir, tmp_path / "store.duckdb")
    config = {"x": 7, "label": "seven", "nested": {"flag": True}}

    def clean(raw, config):
        out = consist.output_path("cleaned", ext="csv")
        out.write_text(raw.read_text() + str(config["x"]))
        return out

    try:
        result = tracker.run(fn=clean, config=config, inputs={"raw": raw}, outputs=["cleaned"])
        record = tracker.get_run_record(result.run.id)
        assert record is not None
        assert record.run == result.run
        assert record.config == config
        assert [a.key for a in record.inputs] == ["raw"]
        assert [a.key for a in record.outputs] == ["cleaned"]
        assert record.inputs[0].path == raw
        assert record.inputs[0].hash
        assert record.outputs[0].path.read_text() == "a,b\n1,2\n7"
        assert record.outputs[0].hash == result.outputs["cleaned"].hash
        assert record.outputs[0].run_id == result.run.id
        assert record.identity["signature"] == result.run.signature
        assert tracker.get_run_inputs(result.run.id)["raw"].hash == record.inputs[0].hash
        assert tracker.get_run_outputs(result.run.id)["cleaned"].id == record.outputs[0].id
        assert tracker.get_run_record("no-such-run", allow_missing=True) is None
        with pytest.raises(consist.QueryError):
            tracker.get_run_record("no-such-run")
    finally:
        tracker.close()


def test_rebuild_skips_a_corrupt_snapshot(recorded, caplog) -> None:
    run_dir, db_path, ids, before = recorded
    (run_dir / "consist_runs" / "corrupt-run.json").write_text("not json at all")
    _delete_db(db_path)
    with caplog.at_level(logging.WARNING, logger="consist"):
        rebuild_store(run_dir, db_path)
    assert any("corrupt-run" in message for message in caplog.messages)
    tracker = _tracker(run_dir, db_path)
    try:
        assert _all_runs(tracker) == before
    finally:
        tracker.close()


def test_rebuild_count_excludes_a_corrupt_snapshot(recorded) -> None:
    run_dir, db_path, ids, _ = recorded
    (run_dir / "consist_runs" / "corrupt-run.json").write_text("not json at all")
    _delete_db(db_path)
    assert rebuild_store(run_dir, db_path) == len(ids)


def test_store_links_match_the_snapshot_after_relogging_an_output(tmp_path: Path) -> None:
    from sqlalchemy import text

    tracker = _tracker(tmp_path / "runs", tmp_path / "store.duckdb")
    target = tmp_path / "a.txt"
    try:
        tracker.begin_run("relog", "demo")
        target.write_text("first")
        tracker.log_output(target, key="a")
        target.write_text("second version")
        tracker.log_output(target, key="a")
        tracker.end_run()
        record = tracker.get_run_record("relog")
        assert record is not None and len(record.outputs) == 1
        with tracker.engine.connect() as conn:
            stored = conn.execute(
                text(
                    "SELECT a.hash FROM run_artifacts l JOIN artifacts a ON a.id = l.artifact_id "
                    "WHERE l.run_id = 'relog' AND l.direction = 'output'"
                )
            ).fetchall()
        assert [row[0] for row in stored] == [record.outputs[0].hash]
    finally:
        tracker.close()
