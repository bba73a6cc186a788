"""Ingesting an artifact's own file (data=None): DuckDB appends, dlt shapes the table."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from consist import Tracker, ViewError

pytest.importorskip("dlt")


@pytest.fixture
def tracker(tmp_path):
    t = Tracker(
        run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb", code_identity="callable_module"
    )
    yield t
    t.close()


def _query(tracker: Tracker, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(tracker.db_path), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _log(tracker: Tracker, name: str, frame: pd.DataFrame, year: int):
    path = tracker.run_dir / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    with tracker.trace(f"r{year}", year=year, config={"y": year}):
        return tracker.log_artifact(path, "legs")


def test_files_append_and_a_new_column_evolves_the_table(tracker: Tracker) -> None:
    when = pd.Timestamp("2030-01-01 08:00")
    first = _log(tracker, "a.parquet", pd.DataFrame({"zone": [1, 2], "at": [when, when]}), 2030)
    second = _log(
        tracker,
        "b.parquet",
        pd.DataFrame({"zone": [3], "at": [when], "occupancy": [1.5]}),
        2031,
    )
    got = [tracker.ingest(first), tracker.ingest(second), tracker.ingest(first)]
    assert [(r.table, r.rows) for r in got] == [("legs", 2), ("legs", 1), ("legs", 2)]
    assert got[0].load_info is not None  # dlt created the table
    assert got[1].load_info is not None  # dlt added occupancy
    assert got[2].load_info is None  # same shape: DuckDB alone
    tracker.close()
    rows = _query(
        tracker,
        "SELECT consist_year, zone, occupancy FROM global_tables.legs ORDER BY consist_year, zone",
    )
    assert rows == [
        (2030, 1, None), (2030, 1, None), (2030, 2, None), (2030, 2, None), (2031, 3, 1.5),
    ]  # fmt: skip


def test_a_column_changing_kind_is_refused_and_nothing_is_written(tracker: Tracker) -> None:
    first = _log(tracker, "a.csv", pd.DataFrame({"zone": [1], "mode": ["car"]}), 2030)
    second = _log(tracker, "b.csv", pd.DataFrame({"zone": [2], "mode": [7]}), 2031)
    tracker.ingest(first)
    with pytest.raises(ViewError, match="mode"):
        tracker.ingest(second)
    tracker.close()
    assert _query(tracker, "SELECT count(*) FROM global_tables.legs") == [(1,)]


def test_a_file_appends_to_a_table_first_filled_from_dict_rows(tracker: Tracker) -> None:
    art = _log(tracker, "a.parquet", pd.DataFrame({"zone": [5, 6]}), 2030)
    tracker.ingest(art, data=[{"zone": 1}])
    result = tracker.ingest(art)
    assert result.rows == 2
    tracker.close()
    assert _query(tracker, "SELECT sum(zone), count(DISTINCT _dlt_id) FROM global_tables.legs") == [
        (12, 3)
    ]
