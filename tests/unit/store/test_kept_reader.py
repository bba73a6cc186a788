"""A read-only DuckDB connection kept between queries (store/duckdb/connect.py).

It is kept only with the shared gate, and let go when a writer waits at the
turnstile, when it has been idle for ``keep_open`` seconds, before this process
writes, when the store closes, and when the file is no longer the one opened. flock
locks belong to open file descriptions, so two stores in one process exclude each
other exactly as two processes do: these tests use that to play the other process.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord, Run
from consist.store.base import RunQuery, StoreBusy
from consist.store.duckdb.gate import acquire_gate, gate_path
from consist.store.duckdb.store import DuckDBStore


def _record(i: int) -> ConsistRecord:
    run = Run(
        id=f"r{i}",
        name="step",
        model_name="m",
        status="completed",
        created_at=f"2024-03-01T12:00:{i:02d}+00:00",
    )
    return ConsistRecord(run=run, config={"i": i})


def _store(tmp_path: Path, *, keep_open: float = 30.0, read_only: bool = False) -> DuckDBStore:
    store = DuckDBStore(
        str(tmp_path / "store.duckdb"),
        layout=RunLayout(tmp_path / "runs"),
        lock_timeout=10,
        read_only=read_only,
    )
    store._connector._keep_open = keep_open
    return store


def _gate_is_free(db_path: str) -> bool:
    """Whether a writer could take the gate right now (probed on a new descriptor)."""
    fd = os.open(gate_path(db_path), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also drops the probe's lock
    return True


def _eventually(condition: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_a_read_keeps_its_connection_and_the_shared_gate(tmp_path: Path) -> None:
    writer = _store(tmp_path)
    writer.record_runs([_record(1)])
    reader = _store(tmp_path, read_only=True)
    try:
        assert reader.count_runs() == 1
        kept = reader._connector._kept
        assert kept is not None
        assert not _gate_is_free(reader.db_path)  # no writer can change the file under it
        assert reader.count_runs() == 1
        assert reader._connector._kept is kept  # the next query reused it
    finally:
        reader.close()
    assert reader._connector._kept is None and _gate_is_free(reader.db_path)


def test_a_waiting_writer_makes_a_kept_reader_let_go(tmp_path: Path) -> None:
    first = _store(tmp_path)
    first.record_runs([_record(1)])
    reader = _store(tmp_path, read_only=True)
    try:
        assert reader.count_runs() == 1
        assert reader._connector._kept is not None
        # Another writer (blocking, like the sync before a query) gets in, and its
        # rows are what the reader sees next: it reopened the file.
        writer = _store(tmp_path)
        writer.record_runs([_record(2)])
        assert reader._connector._kept is None
        assert reader.count_runs() == 2
    finally:
        reader.close()


def test_a_non_blocking_writer_is_let_in_by_an_idle_reader(tmp_path: Path) -> None:
    """The opportunistic background sync does not block; a kept reader must not make
    it give up."""
    _store(tmp_path).record_runs([_record(1)])
    reader = _store(tmp_path, read_only=True)
    writer = _store(tmp_path)
    try:
        for i in range(2, 6):
            assert reader.count_runs() == i - 1
            assert reader._connector._kept is not None
            # It waits a moment for the reader to notice; on a loaded machine the
            # reader's watcher may miss that moment now and then, never every time
            # (without the wait, it would be refused until the reader sat idle for 30 s).
            for _attempt in range(20):
                try:
                    with writer.session(blocking=False):
                        writer.record_runs([_record(i)])
                    break
                except StoreBusy:
                    continue
            else:
                pytest.fail("the non-blocking writer was refused 20 times in a row")
        assert reader.count_runs() == 5
    finally:
        reader.close()


def test_a_reader_querying_in_a_loop_does_not_keep_a_writer_out(tmp_path: Path) -> None:
    """Every query checks the turnstile before reusing the connection: a writer that
    holds it gets the gate however often the reader asks."""
    _store(tmp_path).record_runs([_record(1)])
    reader = _store(tmp_path, read_only=True)
    try:
        assert reader.count_runs() == 1
        hold = acquire_gate(reader.db_path, exclusive=True, blocking=True, timeout=10)
        assert hold is not None  # the watcher let go while the writer waited
        try:
            assert reader._connector._kept is None
        finally:
            hold.release()
        assert reader.count_runs() == 1
    finally:
        reader.close()


def test_an_idle_connection_is_closed(tmp_path: Path) -> None:
    _store(tmp_path).record_runs([_record(1)])
    reader = _store(tmp_path, keep_open=0.05, read_only=True)
    assert reader.count_runs() == 1
    assert _eventually(lambda: reader._connector._kept is None)
    assert _gate_is_free(reader.db_path)


def test_keep_open_zero_keeps_nothing(tmp_path: Path) -> None:
    _store(tmp_path).record_runs([_record(1)])
    reader = _store(tmp_path, keep_open=0, read_only=True)
    assert reader.count_runs() == 1
    assert reader._connector._kept is None and _gate_is_free(reader.db_path)


def test_this_processs_write_session_closes_its_kept_reader_first(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.record_runs([_record(1)])
    assert store.count_runs() == 1
    assert store._connector._kept is not None
    store.record_runs([_record(2)])  # would wait for its own shared gate otherwise
    assert store.count_runs() == 2
    store.close()


def test_a_replaced_file_is_reopened(tmp_path: Path) -> None:
    """A file swapped by hand (a restored backup) is not answered from the old one."""
    _store(tmp_path).record_runs([_record(1)])
    path = tmp_path / "store.duckdb"
    backup = tmp_path / "backup.duckdb"
    shutil.copy(path, backup)
    _store(tmp_path).record_runs([_record(2)])
    reader = _store(tmp_path, read_only=True)
    try:
        assert reader.count_runs() == 2
        os.replace(backup, path)
        assert reader.count_runs() == 1
    finally:
        reader.close()


def test_remembered_answers_last_only_as_long_as_the_connection(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.record_runs([_record(1)])
    store.add_generation("g1")
    with store.read_session():
        assert store.lineage().generations == frozenset({"g1"})
    store.add_generation("g2")  # a write session: the kept connection was closed first
    with store.read_session():
        assert store.lineage().generations == frozenset({"g1", "g2"})
        assert [run.id for run in store.query_runs(RunQuery(limit=None))] == ["r1"]
    store.close()


def test_an_engine_connection_closes_the_kept_reader_first(tmp_path: Path) -> None:
    pytest.importorskip("duckdb_engine")
    from sqlalchemy import text

    store = _store(tmp_path)
    store.record_runs([_record(1)])
    assert store.count_runs() == 1
    assert store._connector._kept is not None
    engine = store.sql_engine()
    assert engine is not None
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
    assert store._connector._kept is None
    store.close()
