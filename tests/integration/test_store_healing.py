"""The store heals itself (issue 11): lose, corrupt or swap the DuckDB file, and the next
write Tracker on that run_dir finds every earlier run, says so in one log line, and
never deletes a damaged file. Readers answer from the snapshots and write nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from consist import Tracker


def step(config):
    return None


def _tracker(run_dir: Path, db_path: Path, **kwargs) -> Tracker:
    return Tracker(run_dir=run_dir, db_path=db_path, code_identity="callable_module", **kwargs)


def _record(run_dir: Path, db_path: Path, names: list[str]) -> set[str]:
    tracker = _tracker(run_dir, db_path)
    ids = {tracker.run(fn=step, name=name, config={"name": name}).run.id for name in names}
    tracker.close()  # synced: the journal is consumed and gone
    assert not list((run_dir / ".consist" / "pending").glob("*.log"))
    return ids


def _heal_lines(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "consist" and r.levelno == level and "rebuilt the store" in r.getMessage()
    ]


def _ids(tracker: Tracker) -> set[str]:
    return {run.id for run in tracker.find_runs(limit=None)}


def _damage(db_path: Path, how: str) -> bytes | None:
    if how == "deleted":
        db_path.unlink()
        return None
    if how == "garbage":
        data = os.urandom(64 * 1024)
    elif how == "truncated":
        data = db_path.read_bytes()[:4096]
    else:  # emptied, as a full disk may leave it
        data = b""
    db_path.write_bytes(data)
    return data


@pytest.mark.parametrize("how", ["deleted", "garbage", "truncated", "emptied"])
def test_a_lost_or_corrupt_store_is_rebuilt_by_the_next_tracker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    ids = _record(run_dir, db_path, ["a", "b", "c"])
    damaged = _damage(db_path, how)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="consist")

    tracker = _tracker(run_dir, db_path)
    assert _ids(tracker) == ids
    [line] = _heal_lines(caplog)
    assert "from 3 snapshots" in line
    if how == "deleted":
        assert "missing" in line
    else:
        assert "corrupt" in line and "moved aside" in line
        [aside] = tmp_path.glob("db.duckdb.corrupt-*")
        assert str(aside) in line
        assert aside.read_bytes() == damaged  # never deleted, byte for byte
    # Healed once: the tracker's next queries and a later tracker say nothing more.
    tracker.run(fn=step, name="d", config={"name": "d"})
    assert len(_ids(tracker)) == 4
    tracker.close()
    again = _tracker(run_dir, db_path)
    assert len(_ids(again)) == 4
    again.close()
    assert len(_heal_lines(caplog)) == 1


def test_a_store_deleted_while_a_tracker_runs_is_rebuilt_at_its_next_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    tracker = _tracker(run_dir, db_path)
    first = tracker.run(fn=step, name="a", config={"n": 1}).run.id
    tracker.sync_store()
    db_path.unlink()
    caplog.set_level(logging.INFO, logger="consist")
    second = tracker.run(fn=step, name="b", config={"n": 2}).run.id
    assert _ids(tracker) == {first, second}
    assert len(_heal_lines(caplog)) == 1
    tracker.close()


def test_a_store_of_another_run_dir_is_rebuilt_for_this_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ours = _record(tmp_path / "runs", tmp_path / "db.duckdb", ["a", "b"])
    theirs = _record(tmp_path / "other", tmp_path / "other.duckdb", ["x"])
    shutil.copyfile(tmp_path / "other.duckdb", tmp_path / "db.duckdb")
    caplog.clear()
    caplog.set_level(logging.INFO, logger="consist")

    tracker = _tracker(tmp_path / "runs", tmp_path / "db.duckdb")
    found = _ids(tracker)
    assert ours <= found
    # The other run_dir's rows stay (a store may index several run_dirs).
    assert found == ours | theirs
    [line] = _heal_lines(caplog)
    assert "another snapshot generation" in line
    tracker.close()


def test_an_old_backup_restored_after_a_heal_is_another_generation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    early = _record(run_dir, db_path, ["a", "b"])
    backup = tmp_path / "backup.duckdb"
    shutil.copyfile(db_path, backup)
    db_path.unlink()  # lost: the next tracker heals it (a new generation)
    late = _record(run_dir, db_path, ["c", "d", "e"])
    shutil.copyfile(backup, db_path)  # the backup holds only a and b
    caplog.clear()
    caplog.set_level(logging.INFO, logger="consist")

    tracker = _tracker(run_dir, db_path)
    assert _ids(tracker) == early | late
    [line] = _heal_lines(caplog)
    assert "old backup" in line
    tracker.close()


def test_a_first_store_and_a_healthy_store_log_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="consist")
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    ids = _record(run_dir, db_path, ["a", "b"])
    tracker = _tracker(run_dir, db_path)
    assert _ids(tracker) == ids
    tracker.close()
    assert _heal_lines(caplog) == []


def test_a_store_added_to_a_json_only_run_dir_gets_its_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run_dir = tmp_path / "runs"
    json_only = Tracker(run_dir=run_dir, db_path=None, code_identity="callable_module")
    ids = {json_only.run(fn=step, name=n, config={"n": n}).run.id for n in "ab"}
    json_only.close()
    caplog.set_level(logging.INFO, logger="consist")
    tracker = _tracker(run_dir, tmp_path / "db.duckdb")
    assert _ids(tracker) == ids
    assert _heal_lines(caplog) == []  # not a fault: said at info level
    assert len(_heal_lines(caplog, logging.INFO)) == 1
    tracker.close()


def test_a_write_tracker_without_runs_creates_no_store_to_answer_a_query(tmp_path: Path) -> None:
    tracker = _tracker(tmp_path / "runs", tmp_path / "db.duckdb")
    assert tracker.find_runs() == []
    assert not (tmp_path / "db.duckdb").exists()
    tracker.close()


@pytest.mark.parametrize("how", ["deleted", "garbage"])
def test_a_reader_answers_from_the_snapshots_and_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    ids = _record(run_dir, db_path, ["a", "b", "c"])
    damaged = _damage(db_path, how)
    state = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    caplog.set_level(logging.INFO, logger="consist")

    reader = _tracker(run_dir, db_path, access_mode="read")
    assert _ids(reader) == ids
    assert reader.find_run(name="b").name == "b"
    reader.close()
    warnings = [r for r in caplog.records if "answers from the snapshots" in r.getMessage()]
    assert len(warnings) == 1  # once per tracker, not per query
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == state
    if damaged is not None:
        assert db_path.read_bytes() == damaged


def test_rebuild_store_stays_for_explicit_use(tmp_path: Path) -> None:
    from consist.maintenance.rebuild import rebuild_store

    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    ids = _record(run_dir, db_path, ["a", "b"])
    db_path.unlink()
    assert rebuild_store(run_dir, db_path) == 2
    reader = _tracker(run_dir, db_path, access_mode="read")
    assert _ids(reader) == ids  # the rebuilt store is of this generation: no fallback
    reader.close()


OPENER = textwrap.dedent(
    """
    import logging, sys
    from consist import Tracker

    logging.basicConfig(level=logging.WARNING, format="%(name)s|%(message)s")
    tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2], code_identity="callable_module")
    print(len(tracker.find_runs(limit=None)))
    tracker.close()
    """
)


def test_processes_opening_a_missing_store_at_once_rebuild_it_once(tmp_path: Path) -> None:
    run_dir, db_path = tmp_path / "runs", tmp_path / "db.duckdb"
    ids = _record(run_dir, db_path, [f"s{i}" for i in range(12)])
    db_path.unlink()
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(run_dir), str(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
    assert [int(stdout) for stdout, _ in outputs] == [len(ids)] * 4
    heal_lines = [
        line for _, stderr in outputs for line in stderr.splitlines() if "rebuilt the store" in line
    ]
    assert len(heal_lines) == 1, heal_lines
    assert not [line for _, stderr in outputs for line in stderr.splitlines() if "Error" in line]
    reader = _tracker(run_dir, db_path, access_mode="read")
    runs = reader.find_runs(limit=None)
    assert sorted(run.id for run in runs) == sorted(ids)  # no duplicates, none missing
    reader.close()
