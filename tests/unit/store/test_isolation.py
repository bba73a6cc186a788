"""Bad records in a DuckDB batch: isolated exactly, the rest stored, offsets committed;
errors that say nothing about a record (I/O) propagate; a corrupt file of Consist's is
moved aside by a write session, another file is left alone."""

from __future__ import annotations

import copy
from pathlib import Path

import duckdb
import pytest

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord, Run
from consist.store.base import RunQuery, StoreCorrupt
from consist.store.duckdb import migrate, write
from consist.store.duckdb.store import DuckDBStore


class RecordingSink:
    def __init__(self) -> None:
        self.items: list[tuple[str | None, str, str, bytes | None]] = []

    def set_aside(self, run_id, reason, origin, line) -> None:
        self.items.append((run_id, reason, origin, line))


def make_records(n: int = 8) -> list[ConsistRecord]:
    return [
        ConsistRecord(
            run=Run(
                id=f"r{i}",
                name="step",
                model_name="m",
                status="completed",
                year=2020 + i,
                created_at=f"2024-03-01T12:00:{i:02d}+00:00",
            ),
            config={"i": i},
        )
        for i in range(1, n + 1)
    ]


def _connection(tmp_path: Path):
    path = str(tmp_path / "raw.duckdb")
    conn = duckdb.connect(path)
    migrate.ensure_schema(conn, path)
    return conn


def _store(tmp_path: Path) -> DuckDBStore:
    layout = RunLayout(tmp_path / "runs")
    layout.ensure()
    return DuckDBStore(str(tmp_path / "store.duckdb"), layout=layout, lock_timeout=10)


def _poisoned(record, how: str):
    bad = copy.deepcopy(record)
    bad.run.id = f"bad-{how}-{record.run.id}"
    if how == "year":
        bad.run.year = 2**40  # INTEGER column
    else:
        bad.config = {"text": "\ud800"}  # invalid UTF-8 for DuckDB
    return bad


def test_only_the_bad_records_are_set_aside_and_in_order(tmp_path: Path) -> None:
    store = _store(tmp_path)
    good = make_records()
    batch = [*good[:3], _poisoned(good[0], "year"), *good[3:6], _poisoned(good[1], "text")]
    updated = copy.deepcopy(good[0])
    updated.run.description = "the last record of a run wins"
    batch += [*good[6:], updated]
    sink = RecordingSink()
    store.record_runs(batch, rejected=sink)
    assert sorted(item[0] for item in sink.items) == ["bad-text-r2", "bad-year-r1"]
    assert all("Invalid" in item[1] for item in sink.items)
    assert all(item[2] == "snapshot" and item[3] is None for item in sink.items)
    assert {run.id for run in store.query_runs(RunQuery(limit=None))} == {r.run.id for r in good}
    assert store.get_run("r1").description == "the last record of a run wins"


def test_offsets_commit_past_the_bad_records(tmp_path: Path) -> None:
    records = [make_records()[0], _poisoned(make_records()[1], "year")]
    rejected: list[str] = []
    conn = _connection(tmp_path)
    stored = write.upsert_isolating(
        conn,
        records,
        str(tmp_path),
        lambda record, reason: rejected.append(f"{record.run.id}: {reason}"),
        {"some.log": 123},
    )
    assert stored == 1
    [reason] = rejected
    assert reason.startswith("bad-year-r2: InvalidInputException")
    assert write.read_journal_offsets(conn) == {"some.log": 123}
    assert conn.execute("SELECT id FROM runs").fetchall() == [("r1",)]
    conn.close()


def test_an_error_that_is_not_about_the_data_propagates(tmp_path: Path) -> None:
    conn = _connection(tmp_path)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    rejected: list[object] = []
    with pytest.raises(OSError):
        write.upsert_isolating(
            conn, make_records()[:2], str(not_a_dir), lambda *args: rejected.append(args)
        )
    assert rejected == []
    conn.close()


def test_a_corrupt_file_of_consists_is_moved_aside_and_another_left_alone(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.record_runs(make_records()[:1])  # a write session: creates the gate sidecar
    path = tmp_path / "store.duckdb"
    path.write_bytes(b"garbage" * 1000)
    with store.session():
        created = store.lineage().created
    assert created is not None and "corrupt" in created
    [aside] = tmp_path.glob("store.duckdb.corrupt-*")
    assert aside.read_bytes() == b"garbage" * 1000
    assert store.count_runs() == 0  # a new, empty database (the caller rebuilds it)

    other = tmp_path / "notes.duckdb"
    other.write_text("my notes")
    foreign = DuckDBStore(str(other), layout=RunLayout(tmp_path / "runs"), lock_timeout=2)
    with pytest.raises(StoreCorrupt, match="not a readable DuckDB database"):
        foreign.record_runs([])
    assert other.read_text() == "my notes"
    reader = DuckDBStore(
        str(path), layout=RunLayout(tmp_path / "runs"), lock_timeout=2, read_only=True
    )
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(StoreError):
        reader.count_runs()
    assert path.read_bytes() == b"\x00" * 10  # a reader never moves anything


def test_data_errors_are_duckdb_refusals_not_io_errors() -> None:
    assert issubclass(duckdb.InvalidInputException, write.DATA_ERRORS)
    assert not issubclass(duckdb.IOException, write.DATA_ERRORS)
