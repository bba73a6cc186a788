"""Ingestion and hybrid views over real parquet files and a real DuckDB store."""

from __future__ import annotations

import os
import warnings

import duckdb
import pandas as pd
import pytest

import consist
from consist import Tracker
from consist.errors import ConfigError, InvalidOptionError
from consist.views.hybrid import MissingFileWarning, MissingViewFileError

pytest.importorskip("dlt")


def _write_runs(tracker: Tracker, n: int, rows: int = 50) -> list[tuple[str, pd.DataFrame]]:
    """n runs, each writing and logging a profiled trips parquet; (run_id, frame) per run."""
    made = []
    for i in range(n):
        frame = pd.DataFrame(
            {
                "zone": [z % 7 for z in range(rows)],
                "trips": [float(i * 100 + z) for z in range(rows)],
            }
        )
        path = tracker.run_dir / "data" / f"trips_{i}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
        with tracker.trace("demand", year=2020 + i, config={"i": i}):
            art = tracker.log_artifact(path, "trips", profile_file_schema=True)
        made.append((art.run_id, frame))
    return made


def _schema_id(tracker: Tracker, made) -> str:
    return tracker.get_run_outputs(made[0][0])["trips"].meta["schema_id"]


def _query(tracker: Tracker, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(tracker.db_path), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def tracker(tmp_path):
    t = Tracker(
        run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb", code_identity="callable_module"
    )
    yield t
    t.close()


def test_hot_and_cold_totals_match_a_direct_computation(tracker: Tracker) -> None:
    made = _write_runs(tracker, 3)
    first = tracker.get_run_outputs(made[0][0])["trips"]
    tracker.ingest(first)  # run 0 hot (its file stays on disk), runs 1-2 cold
    tracker.create_view("trips_all", "trips")
    tracker.close()

    expected = {run_id: frame["trips"].sum() for run_id, frame in made}
    rows = _query(tracker, "SELECT consist_run_id, sum(trips), count(*) FROM trips_all GROUP BY 1")
    assert {r[0]: r[1] for r in rows} == pytest.approx(expected)
    assert all(r[2] == 50 for r in rows)  # the ingested run is not counted twice
    years = _query(tracker, "SELECT DISTINCT consist_year FROM trips_all ORDER BY 1")
    assert [y[0] for y in years] == [2020, 2021, 2022]
    hot = _query(tracker, "SELECT DISTINCT consist_run_id FROM global_tables.trips")
    assert hot == [(made[0][0],)]


@pytest.mark.parametrize(
    ("mode", "runs"), [("hot_only", {0}), ("cold_only", {0, 1}), ("hybrid", {0, 1})]
)
def test_modes_choose_the_tiers(tracker: Tracker, mode: str, runs: set[int]) -> None:
    made = _write_runs(tracker, 2)
    tracker.ingest(tracker.get_run_outputs(made[0][0])["trips"], schema=None)
    sql = tracker.create_grouped_view("g", schema_id=_schema_id(tracker, made), mode=mode)
    assert "CREATE OR REPLACE VIEW" in sql
    tracker.close()
    total = _query(tracker, "SELECT sum(trips), count(*) FROM g")[0]
    assert total[0] == pytest.approx(sum(made[i][1]["trips"].sum() for i in runs))
    assert total[1] == 50 * len(runs)


def test_schema_evolution_adds_a_column(tracker: Tracker) -> None:
    with tracker.trace("a", year=2020, config={"a": 1}):
        art_a = tracker.log_artifact(_csv(tracker, "a.csv", "zone,trips\n1,2.0\n"), "legs")
        tracker.ingest(art_a, data=[{"zone": 1, "trips": 2.0}, {"zone": 2, "trips": 3.0}])
    with tracker.trace("b", year=2021, config={"b": 1}):
        art_b = tracker.log_artifact(_csv(tracker, "b.csv", "zone,trips\n1,2.0\n"), "legs")
        rows = [{"zone": 3, "trips": 4.0, "occupancy": 1.5}]
        tracker.ingest(art_b, data=rows)
    tracker.close()
    got = _query(
        tracker, "SELECT zone, trips, occupancy, consist_year FROM global_tables.legs ORDER BY zone"
    )
    assert got == [(1, 2.0, None, 2020), (2, 3.0, None, 2020), (3, 4.0, 1.5, 2021)]


def _csv(tracker: Tracker, name: str, text: str) -> str:
    path = tracker.run_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_missing_cold_file_under_each_policy(tracker: Tracker) -> None:
    made = _write_runs(tracker, 3)
    gone = tracker.get_run_outputs(made[1][0])["trips"]
    os.remove(gone.path)
    sid = _schema_id(tracker, made)

    with pytest.warns(MissingFileWarning, match="missing"):
        tracker.create_grouped_view("w", schema_id=sid, missing_files="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.create_grouped_view("s", schema_id=sid, missing_files="skip_silent")
    with pytest.raises(MissingViewFileError, match="missing") as caught:
        tracker.create_grouped_view("e", schema_id=sid, missing_files="error")
    assert isinstance(caught.value, FileNotFoundError)
    tracker.close()
    expected = made[0][1]["trips"].sum() + made[2][1]["trips"].sum()
    for view in ("w", "s"):
        assert _query(tracker, f"SELECT sum(trips) FROM {view}")[0][0] == pytest.approx(expected)
    assert _query(
        tracker, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'e'"
    ) == [(0,)]


@pytest.mark.parametrize(
    "name", ["x; DROP TABLE runs", 'v" AS SELECT 1; --', "select", "", "a" * 64, "1abc", None]
)
def test_hostile_view_names_are_refused(tracker: Tracker, name) -> None:
    _write_runs(tracker, 1)
    with pytest.raises(ConfigError, match="view_name"):
        tracker.create_view(name, "trips")
    tracker.close()
    assert _query(tracker, "SELECT count(*) FROM runs")[0][0] == 1


@pytest.mark.parametrize(
    "predicate", ["a' OR '1'='1", "x=1) OR (1=1", "no operator", "=5", "k=", "ns.k;drop=1"]
)
def test_hostile_predicates_are_refused(tracker: Tracker, predicate: str) -> None:
    with pytest.raises(ConfigError, match="params"):
        tracker.create_grouped_view("v", schema_id="abc", params=[predicate])


@pytest.mark.parametrize(
    ("option", "value"), [("mode", "warm"), ("missing_files", "ignore"), ("if_exists", "append")]
)
def test_unknown_policies_are_refused(tracker: Tracker, option: str, value: str) -> None:
    _write_runs(tracker, 1)
    with pytest.raises(InvalidOptionError, match=option):
        tracker.create_grouped_view("v", schema_id="abc", **{option: value})


def test_if_exists_error_keeps_the_existing_view(tracker: Tracker) -> None:
    _write_runs(tracker, 1)
    tracker.create_view("t1", "trips")
    with pytest.raises(consist.ViewError, match="already exists"):
        tracker.create_grouped_view("t1", schema_id="abc", if_exists="error")
