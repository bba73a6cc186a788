"""The DuckDB gate puts writers first, but a reader is never starved by writers that
follow one another back to back (store/duckdb/gate.py)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from consist.store.base import StoreBusy
from consist.store.duckdb import gate
from consist.store.duckdb.gate import acquire_gate


def _writers_back_to_back(db: str, stop: threading.Event, count: int) -> list[threading.Thread]:
    def write() -> None:
        while not stop.is_set():
            hold = acquire_gate(db, exclusive=True, blocking=True, timeout=30)
            assert hold is not None
            time.sleep(0.01)  # a session
            hold.release()  # and at once the next one

    threads = [threading.Thread(target=write, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def _reader_gets_in_while_writers_go_on(db: str, timeout: float) -> bool:
    stop = threading.Event()
    threads = _writers_back_to_back(db, stop, count=2)
    try:
        time.sleep(0.05)  # the writers are going
        hold = acquire_gate(db, exclusive=False, blocking=True, timeout=timeout)
        writers_still_going = all(thread.is_alive() for thread in threads)
        assert hold is not None
        hold.release()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    return writers_still_going


def _used_by_a_writer(tmp_path: Path) -> str:
    db = str(tmp_path / "db.duckdb")
    hold = acquire_gate(db, exclusive=True, blocking=True, timeout=5)
    assert hold is not None
    hold.release()
    return db


def test_a_reader_gets_in_while_writers_keep_coming(tmp_path: Path) -> None:
    db = _used_by_a_writer(tmp_path)
    assert _reader_gets_in_while_writers_go_on(db, timeout=30)


def test_a_reader_kept_out_past_its_patience_stops_new_writers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gate, "READER_PATIENCE_SECONDS", 0.05)
    db = _used_by_a_writer(tmp_path)
    first = gate.gate_path(db) + ".first"
    turn = os.open(gate.gate_path(db) + ".turn", os.O_RDONLY)
    fcntl.flock(turn, fcntl.LOCK_EX)  # writers in line, for as long as the test says
    got: list[object] = []
    reader = threading.Thread(
        target=lambda: got.append(acquire_gate(db, exclusive=False, blocking=True, timeout=30))
    )
    reader.start()
    try:
        probe = os.open(first, os.O_RDONLY)
        try:
            for _ in range(2000):  # until the reader's patience is over
                try:
                    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    fcntl.flock(probe, fcntl.LOCK_UN)
                except BlockingIOError:
                    break  # the reader holds it: a new writer would wait here
                time.sleep(0.005)
            else:
                pytest.fail("the waiting reader never took .gate.first")
            assert not got  # still behind the writers in line
        finally:
            os.close(probe)
    finally:
        os.close(turn)  # the writers in line are done
        reader.join(timeout=30)
    hold = got[0]
    assert isinstance(hold, gate.GateHold) and not hold.exclusive
    hold.release()
    after = acquire_gate(db, exclusive=True, blocking=False, timeout=5)  # .first is free
    assert after is not None
    after.release()


def test_a_writer_that_must_not_block_gives_way_to_a_starved_reader(tmp_path: Path) -> None:
    db = _used_by_a_writer(tmp_path)
    first = gate.gate_path(db) + ".first"
    fd = os.open(first, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a starved reader holds it
        with pytest.raises(StoreBusy):
            acquire_gate(db, exclusive=True, blocking=False, timeout=5)
    finally:
        os.close(fd)
    hold = acquire_gate(db, exclusive=True, blocking=False, timeout=5)
    assert hold is not None
    hold.release()
