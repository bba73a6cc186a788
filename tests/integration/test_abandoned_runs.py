"""A run left `running` by an owner that is gone is marked failed (abandoned)."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any

import pytest

from consist import Tracker
from consist.persist.liveness import HOST, process_start
from consist.persist.snapshot import encode_record


def plant_running_run(tracker: Tracker, run_id: str, owner: dict[str, Any]) -> None:
    """A running record of another owner, as its own journal would hold it."""
    tracker.begin_run("template", "m")
    record = copy.deepcopy(tracker.get_run_record("template"))
    tracker.end_run()
    record.run.id, record.run.owner = run_id, owner
    pending = tracker.run_dir / ".consist" / "pending"
    with open(pending / f"{owner['host']}-{owner['pid']}-planted.log", "ab") as handle:
        handle.write(encode_record(record) + b"\n")


def heartbeat(tracker: Tracker, name: str, age: float) -> None:
    owners = tracker.run_dir / ".consist" / "owners"
    owners.mkdir(parents=True, exist_ok=True)
    path = owners / name
    path.touch()
    when = time.time() - age
    os.utime(path, (when, when))


def fresh(tmp_path: Path) -> Tracker:
    return Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb")


def test_another_hosts_run_with_a_stale_heartbeat_is_abandoned(tmp_path: Path) -> None:
    writer = fresh(tmp_path)
    owner = {"host": "elsewhere", "pid": 4242, "started": 1, "heartbeat": "elsewhere-a.alive"}
    plant_running_run(writer, "remote", owner)
    heartbeat(writer, "elsewhere-a.alive", age=3600)
    writer.close()
    with fresh(tmp_path) as reader:
        (remote,) = [r for r in reader.find_runs(limit=None) if r.id == "remote"]
        assert remote.status == "failed"
        assert "no heartbeat" in remote.error and remote.error.startswith("abandoned:")
        assert reader.get_run_record("remote").run.status == "failed"  # snapshot too


def test_another_hosts_run_with_a_fresh_heartbeat_keeps_running(tmp_path: Path) -> None:
    writer = fresh(tmp_path)
    owner = {"host": "elsewhere", "pid": 4243, "started": 1, "heartbeat": "elsewhere-b.alive"}
    plant_running_run(writer, "alive-remote", owner)
    heartbeat(writer, "elsewhere-b.alive", age=5)
    writer.close()
    with fresh(tmp_path) as reader:
        assert [r.id for r in reader.find_runs(status="running")] == ["alive-remote"]


def test_a_reused_pid_is_not_mistaken_for_the_owner(tmp_path: Path) -> None:
    if process_start(os.getppid()) is None:
        pytest.skip("needs /proc to read process start times")
    writer = fresh(tmp_path)
    # The parent process is alive, but it started at another time than the owner did.
    owner = {"host": HOST, "pid": os.getppid(), "started": 1, "heartbeat": "x.alive"}
    plant_running_run(writer, "reused", owner)
    writer.close()
    with fresh(tmp_path) as reader:
        assert reader.find_runs(status="running") == []
        assert "pid was reused" in reader.get_run("reused").error


def test_a_live_owner_in_this_process_is_never_abandoned(tmp_path: Path) -> None:
    owner_tracker = fresh(tmp_path)
    owner_tracker.begin_run("mine", "m")
    with fresh(tmp_path) as other:  # another tracker of the same process looks
        assert [r.id for r in other.find_runs(status="running")] == ["mine"]
    owner_tracker.end_run()
    assert owner_tracker.get_run("mine").status == "completed"
    owner_tracker.close()


def test_json_only_mode_abandons_too(tmp_path: Path) -> None:
    writer = Tracker(run_dir=tmp_path / "runs", db_path=None)
    owner = {"host": "elsewhere", "pid": 1, "started": 1, "heartbeat": "gone.alive"}
    writer.begin_run("template", "m")
    record = copy.deepcopy(writer.get_run_record("template"))
    writer.end_run()
    record.run.id, record.run.owner = "json-remote", owner
    (tmp_path / "runs" / "consist_runs" / "json-remote.json").write_bytes(encode_record(record))
    writer.close()
    with Tracker(run_dir=tmp_path / "runs", db_path=None) as reader:
        assert reader.find_runs(status="running") == []
        assert reader.get_run("json-remote").error.startswith("abandoned")
