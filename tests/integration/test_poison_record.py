"""One bad record never blocks the store (issue 11).

Real bad data, no monkeypatching: a config string holding a lone surrogate (Python
accepts it, the snapshot keeps it as a JSON escape, DuckDB refuses its UTF-8), a
journal line whose timestamp DuckDB's TIMESTAMP column refuses, and a journal line
that is not JSON at all. Each time: the other runs (of this and other processes)
reach the store, queries work, the bad record is listed with its reason, its snapshot
is intact, and a second sync does not warn again.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from consist import Tracker
from consist.persist.rejected import RejectedRecord


def step(config):
    return None


def _tracker(tmp_path: Path, **kwargs) -> Tracker:
    return Tracker(
        run_dir=tmp_path / "runs",
        db_path=tmp_path / "db.duckdb",
        code_identity="callable_module",
        **kwargs,
    )


def _set_aside_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "consist" and r.levelno == logging.WARNING and "set aside" in r.getMessage()
    ]


LATER_PROCESS = textwrap.dedent(
    """
    import sys
    from consist import Tracker

    def step(config):
        return None

    tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2], code_identity="callable_module")
    print(tracker.run(fn=step, name="later", config={"n": 3}).run.id)
    tracker.close()
    """
)


def test_a_value_duckdb_refuses_is_set_aside_and_every_other_run_is_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="consist")
    tracker = _tracker(tmp_path)
    before = tracker.run(fn=step, name="before", config={"n": 1}).run.id
    bad = tracker.run(fn=step, name="bad", config={"text": "broken \ud800 surrogate"}).run.id
    after = tracker.run(fn=step, name="after", config={"n": 2}).run.id
    tracker.sync_store()

    # A later process sharing run_dir and store still reaches the store.
    script = tmp_path / "later.py"
    script.write_text(LATER_PROCESS)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs"), str(tmp_path / "db.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    later = proc.stdout.strip()

    runs = tracker.find_runs(limit=None)
    assert {run.id for run in runs} == {before, after, later}
    assert tracker.find_run(name="after").id == after

    [rejected] = tracker.rejected_records()
    assert isinstance(rejected, RejectedRecord)
    assert rejected.run_id == bad
    assert "UTF-8" in rejected.reason
    assert ".ndjson" not in rejected.reason  # the scratch file is no part of the reason
    kept = Path(rejected.kept_at)
    assert json.loads(kept.read_bytes())["run"]["id"] == bad
    assert rejected.origin.endswith(".log")
    assert rejected.rejected_at.endswith("+00:00")

    # The snapshot is intact, the value included.
    record = tracker.get_run_record(bad)
    assert record is not None and record.config == {"text": "broken \ud800 surrogate"}

    # Warned once: not again on later syncs, nor by a fresh tracker that rebuilds.
    assert len(_set_aside_warnings(caplog)) == 1
    assert bad in _set_aside_warnings(caplog)[0]
    tracker.run(fn=step, name="more", config={"n": 4})
    tracker.sync_store()
    (tmp_path / "db.duckdb").unlink()  # a rebuild meets the bad snapshot again
    fresh = _tracker(tmp_path)
    assert len(fresh.find_runs(limit=None)) == 4
    assert len(_set_aside_warnings(caplog)) == 1
    assert len(fresh.rejected_records()) == 1
    fresh.close()
    tracker.close()


def _plant_journal(tmp_path: Path, lines: list[bytes]) -> Path:
    pending = tmp_path / "runs" / ".consist" / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    path = pending / "planted-1-0000.log"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def test_planted_journal_lines_the_store_refuses_never_block_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="consist")
    tracker = _tracker(tmp_path)
    good = tracker.run(fn=step, name="good", config={"n": 1}).run.id
    tracker.sync_store()
    template = json.loads(Path(tracker.run_dir / "consist_runs" / f"{good}.json").read_bytes())
    wrong_time = json.loads(json.dumps(template))
    wrong_time["run"]["id"] = "planted-timestamp"
    wrong_time["run"]["created_at"] = "yesterday"  # TIMESTAMP refuses it
    planted_ok = json.loads(json.dumps(template))
    planted_ok["run"]["id"] = "planted-fine"
    _plant_journal(
        tmp_path,
        [
            json.dumps(wrong_time).encode(),
            b"{this is not json",
            json.dumps(planted_ok).encode(),
        ],
    )

    runs = tracker.find_runs(limit=None)  # a query syncs first, and must not fail
    assert {run.id for run in runs} == {good, "planted-fine"}
    reasons = {item.run_id: item.reason for item in tracker.rejected_records()}
    assert set(reasons) == {"planted-timestamp", None}
    assert "timestamp" in reasons["planted-timestamp"]
    assert "unreadable journal line" in reasons[None]
    kept = {Path(item.kept_at).read_bytes() for item in tracker.rejected_records()}
    assert b"{this is not json" in kept
    assert len(_set_aside_warnings(caplog)) == 2

    # The offsets moved past the bad lines: nothing is pending, nothing warns again.
    assert tracker.sync_store() == 0
    assert len(tracker.find_runs(limit=None)) == 2
    assert len(_set_aside_warnings(caplog)) == 2
    tracker.close()


def test_a_reader_lists_rejected_records_and_writes_nothing(tmp_path: Path) -> None:
    writer = _tracker(tmp_path)
    bad = writer.run(fn=step, name="bad", config={"text": "\udfff"}).run.id
    writer.run(fn=step, name="good", config={"n": 1})
    writer.close()
    reader = _tracker(tmp_path, access_mode="read")
    assert [item.run_id for item in reader.rejected_records()] == [bad]
    assert [run.name for run in reader.find_runs()] == ["good"]
    reader.close()


def test_no_rejected_records_on_a_healthy_store(tracker: Tracker) -> None:
    tracker.run(fn=step, name="good", config={"n": 1})
    tracker.sync_store()
    assert tracker.rejected_records() == []
    assert not (tracker.run_dir / ".consist" / "rejected").exists()
