"""Liveness.owner: one owner record per process, kept while its heartbeat beats."""

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from consist.fs.layout import RunLayout
from consist.persist import liveness
from consist.persist.liveness import Liveness


def _liveness(tmp_path: Path) -> Liveness:
    return Liveness(RunLayout(str(tmp_path / "runs")))


def _heartbeat_file(live: Liveness, owner: dict[str, object]) -> str:
    return os.path.join(live._dir, str(owner["heartbeat"]))


def _wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_owner_is_built_once_and_its_heartbeat_file_exists(tmp_path: Path) -> None:
    live = _liveness(tmp_path)
    first = live.owner()

    assert live.owner() is first
    assert first["pid"] == os.getpid()
    assert os.path.exists(_heartbeat_file(live, first))
    live.stop()


def test_a_dead_heartbeat_is_started_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "HEARTBEAT_SECONDS", 0.01)
    live = _liveness(tmp_path)
    owner = live.owner()
    beating = live._beating
    assert beating is not None

    os.unlink(_heartbeat_file(live, owner))
    os.rmdir(live._dir)  # the next touch fails: the heartbeat thread ends
    _wait_until(lambda: not beating.is_alive())
    again = live.owner()

    assert again is owner
    assert live._beating is not beating and live._beating is not None
    assert live._beating.is_alive()
    assert os.path.exists(_heartbeat_file(live, owner))
    live.stop()


def test_a_stopped_owner_is_built_anew(tmp_path: Path) -> None:
    live = _liveness(tmp_path)
    first = live.owner()
    live.stop()

    second = live.owner()

    assert second is not first
    assert second["heartbeat"] != first["heartbeat"]
    assert os.path.exists(_heartbeat_file(live, second))
    live.stop()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_is_its_own_owner(tmp_path: Path) -> None:
    live = _liveness(tmp_path)
    parent = live.owner()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its owner's pid and whether a heartbeat runs
        try:
            child = live.owner()
            alive = live._beating is not None and live._beating.is_alive()
            fresh = child["heartbeat"] != parent["heartbeat"]
            os.write(write, f"{child['pid']} {fresh} {alive}".encode())
        finally:
            os._exit(0)
    os.close(write)
    reported = os.read(read, 200).decode().split()
    os.close(read)
    os.waitpid(pid, 0)

    assert reported == [str(pid), "True", "True"]
    assert live.owner() is parent
    live.stop()
