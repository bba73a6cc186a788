"""access_mode="read": a tracker for the CLI, a web app or a notebook never writes.

It creates no directory, registers no exit hook, opens the store read-only, refuses
every recording call before anything is written, and still shows runs a writer has
ended but not yet copied into the store (read from the journal, in memory).
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

import pytest

import consist
from consist import Tracker
from consist.errors import ConsistError, InvalidOptionError, RunStateError
from consist.options import AccessMode
from consist.settings import TrackerConfig


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content (directories included as b"")."""
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), root)] = b""
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = handle.read()
    return found


def _step() -> Path:
    out = consist.output_path("result", ext="txt")
    out.write_text("result")
    return out


def _writer(tmp_path: Path, **fields: object) -> Tracker:
    config = TrackerConfig(
        run_dir=tmp_path / "runs",
        db_path=tmp_path / "db.duckdb",
        code_identity="callable_module",
        sync_every_runs=10_000,  # keep runs pending unless a test syncs
        sync_every_seconds=10_000,
        **fields,  # type: ignore[arg-type]
    )
    return Tracker(config=config)


def _reader(tmp_path: Path, db: bool = True) -> Tracker:
    return Tracker(
        run_dir=tmp_path / "runs",
        db_path=tmp_path / "db.duckdb" if db else None,
        access_mode="read",
    )


def test_access_mode_is_parsed_strictly(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match="access_mode='readonly'") as info:
        Tracker(run_dir=tmp_path / "runs", access_mode="readonly")
    assert "'read'" in str(info.value) and "'write'" in str(info.value)
    with pytest.raises(InvalidOptionError, match="access_mode"):
        TrackerConfig(run_dir=tmp_path / "runs", access_mode="w")
    assert TrackerConfig().access_mode is AccessMode.WRITE
    assert TrackerConfig(access_mode="read").access_mode is AccessMode.READ
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("db", [True, False], ids=["duckdb", "json-only"])
def test_a_reader_creates_nothing_and_finds_nothing(tmp_path: Path, db: bool) -> None:
    before = atexit._ncallbacks()
    reader = _reader(tmp_path, db)
    assert atexit._ncallbacks() == before  # no exit hook
    assert reader.access_mode is AccessMode.READ
    assert reader.find_runs() == []
    assert reader.find_latest_run() is None
    assert reader.get_run("nope") is None
    assert reader.engine is None
    reader.close()
    assert list(tmp_path.iterdir()) == []


def test_every_recording_call_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("x")
    reader = _reader(tmp_path)
    calls = [
        ("tracker.run", lambda: reader.run(fn=_step, config={"n": 1})),
        ("trace('inline')", lambda: reader.trace("inline").__enter__()),
        ("begin_run", lambda: reader.begin_run("r1", "model")),
        ("begin_run", lambda: reader.start_run("r1", "model").__enter__()),
        ("log_meta", lambda: reader.log_meta(a=1)),
        ("log_artifact", lambda: reader.log_artifact(tmp_path / "in.txt", key="k")),
        ("log_artifacts", lambda: reader.log_artifacts({"k": tmp_path / "in.txt"})),
        ("consist.output_path", lambda: consist.output_path("x")),
        ("Syncing the store", reader.sync_store),
    ]
    with consist.use_tracker(reader):
        for what, call in calls:
            with pytest.raises(RunStateError, match="access_mode='read'") as info:
                call()
            assert what in str(info.value)
            assert isinstance(info.value, ConsistError)
            assert info.value.context["parameter"] == "access_mode"
    reader.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_a_reader_sees_runs_a_writer_has_not_synced_yet(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    try:
        first = writer.run(fn=_step, config={"n": 1}, name="step")
        writer.sync_store()
        second = writer.run(fn=_step, config={"n": 2}, name="step")
        failed_with = RuntimeError("boom")

        def fails() -> None:
            raise failed_with

        with pytest.raises(RuntimeError):
            writer.run(fn=fails, name="bad")
        state = _tree(tmp_path)

        reader = _reader(tmp_path)
        runs = reader.find_runs()
        assert {run.id for run in runs} >= {first.run.id, second.run.id}
        assert len(runs) == 3
        assert {run.status for run in reader.find_runs(name="bad")} == {"failed"}
        assert [run.id for run in reader.find_runs(name="step", limit=1)] == [second.run.id]
        latest = reader.find_latest_run(status="completed")
        assert latest is not None and latest.id == second.run.id
        # Only the first run is in the database itself (read-only engine).
        from sqlalchemy import text

        with reader.engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM runs")).scalars().all() == [first.run.id]
        reader.close()
        assert _tree(tmp_path) == state  # not a byte written by the reader
    finally:
        writer.close()
    reader = _reader(tmp_path)
    assert len(reader.find_runs()) == 3
    reader.close()


def test_a_json_only_reader_sees_the_snapshots(tmp_path: Path) -> None:
    writer = Tracker(run_dir=tmp_path / "runs", db_path=None, code_identity="callable_module")
    result = writer.run(fn=_step, config={"n": 1})
    writer.close()
    state = _tree(tmp_path)
    reader = _reader(tmp_path, db=False)
    assert [run.id for run in reader.find_runs()] == [result.run.id]
    reader.close()
    assert _tree(tmp_path) == state


def test_a_writer_read_with_nothing_pending_writes_nothing(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    try:
        # No journal and no database: the query neither syncs nor creates the file.
        assert writer.find_runs() == []
        assert not (tmp_path / "db.duckdb").exists()
        result = writer.run(fn=_step, config={"n": 1})
        assert [run.id for run in writer.find_runs()] == [result.run.id]  # synced first
        assert (tmp_path / "db.duckdb").exists()
        assert os.listdir(tmp_path / "runs" / ".consist" / "pending") == []
        # A reader holding the file read-only does not stop a writer's read either.
        reader = _reader(tmp_path)
        assert [run.id for run in reader.find_runs()] == [result.run.id]
        assert [run.id for run in writer.find_runs(limit=1)] == [result.run.id]
        reader.close()
    finally:
        writer.close()


def test_the_reader_engine_is_read_only(tmp_path: Path) -> None:
    from sqlalchemy import text

    writer = _writer(tmp_path)
    writer.run(fn=_step, config={"n": 1})
    writer.close()
    reader = _reader(tmp_path)
    with reader.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
        with pytest.raises(Exception, match="read-only"):
            conn.execute(text("DELETE FROM runs"))
    reader.close()
