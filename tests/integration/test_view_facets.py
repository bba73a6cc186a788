"""create_grouped_view with facet predicates (params) and attach_facets over real facet rows,
and the cold side's fallbacks (glob characters in a path, a file_index column)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from consist import Tracker
from consist.errors import ConfigError

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


SCENARIOS = [
    # (artifact facet, run facet, trips per row)
    ({"fleet": "electric", "share": 0.4}, {"growth": 1.1}, 1.0),
    ({"fleet": "diesel", "share": 0.1}, {"growth": 1.5}, 10.0),
    ({"fleet": "electric", "share": 0.9}, {"growth": 2.0}, 100.0),
    (None, {"growth": 3.0, "fleet": "electric"}, 1000.0),  # no artifact facet: run's
]


def _log_scenarios(tracker: Tracker, name: str = "trips_{}.parquet") -> list[str]:
    run_ids = []
    for i, (artifact_facet, run_facet, value) in enumerate(SCENARIOS):
        path = tracker.run_dir / "data" / name.format(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"zone": [1, 2], "trips": [value, value]}).to_parquet(path, index=False)
        with tracker.trace("demand", year=2030 + i, config={"i": i}, facet=run_facet):
            kwargs = {"facet": artifact_facet, "facet_index": True} if artifact_facet else {}
            art = tracker.log_artifact(path, "trips", profile_file_schema=True, **kwargs)
        run_ids.append(art.run_id)
    return run_ids


def _schema_id(tracker: Tracker, run_id: str) -> str:
    return tracker.get_run_outputs(run_id)["trips"].meta["schema_id"]


def test_params_filter_on_artifact_facets_then_run_facets(tracker: Tracker) -> None:
    runs = _log_scenarios(tracker)
    sid = _schema_id(tracker, runs[0])
    tracker.create_grouped_view("electric", schema_id=sid, params=["fleet=electric"])
    tracker.create_grouped_view("shares", schema_id=sid, params=["share>=0.4", "share<0.9"])
    tracker.create_grouped_view("growth", schema_id=sid, params=["demand.growth>1.4"])
    tracker.create_grouped_view("ns", schema_id=sid, namespace="other", params=["fleet=electric"])
    tracker.close()
    # artifacts 0 and 2 by their own facet, artifact 3 by its run's facet
    assert _query(tracker, "SELECT sum(trips) FROM electric") == [(2 * 1101.0,)]
    assert _query(tracker, "SELECT DISTINCT consist_run_id FROM shares") == [(runs[0],)]
    got = _query(tracker, "SELECT sum(trips) FROM growth")[0][0]  # namespace = model name
    assert got == pytest.approx(2 * 1110.0)
    assert _query(tracker, "SELECT count(*) FROM ns") == [(0,)]


def test_attach_facets_adds_typed_columns_to_hot_and_cold_rows(tracker: Tracker) -> None:
    runs = _log_scenarios(tracker)
    tracker.ingest(tracker.get_run_outputs(runs[1])["trips"])  # one hot artifact
    tracker.create_grouped_view(
        "attached",
        schema_id=_schema_id(tracker, runs[0]),
        attach_facets=["fleet", "share", "demand.growth"],
    )
    tracker.close()
    rows = _query(
        tracker,
        "SELECT consist_run_id, fleet, share, demand_growth, count(*) FROM attached "
        "GROUP BY ALL ORDER BY demand_growth",
    )
    assert rows == [
        (runs[0], "electric", 0.4, 1.1, 2),
        (runs[1], "diesel", 0.1, 1.5, 2),
        (runs[2], "electric", 0.9, 2.0, 2),
        (runs[3], "electric", None, 3.0, 2),
    ]
    types = dict(_query(tracker, "SELECT column_name, column_type FROM (DESCRIBE attached)"))
    assert (types["fleet"], types["share"], types["demand_growth"]) == (
        "VARCHAR",
        "DOUBLE",
        "DOUBLE",
    )


def test_attach_facets_clashing_with_a_data_column_is_refused(tracker: Tracker) -> None:
    runs = _log_scenarios(tracker)
    with pytest.raises(ConfigError, match="attach_facets"):
        tracker.create_grouped_view(
            "bad", schema_id=_schema_id(tracker, runs[0]), attach_facets=["zone"]
        )
    with pytest.raises(ConfigError, match="attach_facets"):
        tracker.create_grouped_view("bad", schema_id="x", attach_facets=["a;drop"])


def test_paths_with_glob_characters_and_file_index_columns_are_read_alone(tmp_path) -> None:
    tracker = Tracker(tmp_path / "runs", tmp_path / "p.duckdb", code_identity="callable_module")
    frames = {
        "plain.parquet": pd.DataFrame({"v": [1, 2]}),
        "odd[1]*.parquet": pd.DataFrame({"v": [10]}),
        "indexed.parquet": pd.DataFrame({"v": [100], "file_index": [7]}),
    }
    for i, (name, frame) in enumerate(frames.items()):
        path = tmp_path / name
        frame.to_parquet(path, index=False)
        with tracker.trace("s", year=2000 + i, config={"i": i}):
            tracker.log_artifact(path, "vals")
    tracker.create_view("vals_all", "vals")
    tracker.close()
    got = _query(tracker, "SELECT consist_year, sum(v) FROM vals_all GROUP BY 1 ORDER BY 1")
    assert got == [(2000, 3), (2001, 10), (2002, 100)]
    assert _query(tracker, "SELECT file_index FROM vals_all WHERE v = 100") == [(7,)]


@pytest.mark.parametrize("driver", ["csv", "json", "parquet"])
def test_one_scan_matches_columns_by_name_across_files(tmp_path, driver: str) -> None:
    tracker = Tracker(tmp_path / "runs", tmp_path / "p.duckdb", code_identity="callable_module")
    frames = [
        pd.DataFrame({"zone": [1, 2], "trips": [1.0, 2.0]}),
        pd.DataFrame({"trips": [4.0], "zone": [3], "occupancy": [1.5]}),
    ]
    runs = []
    for i, frame in enumerate(frames):
        path = tmp_path / f"legs_{i}.{driver}"
        if driver == "csv":
            frame.to_csv(path, index=False)
        elif driver == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_json(path, orient="records")
        with tracker.trace("s", year=2000 + i, config={"i": i}):
            runs.append(tracker.log_artifact(path, "legs").run_id)
    sql = tracker.create_view("legs_all", "legs")
    assert sql.count("read_") == 1  # one scan for both files
    assert "union_by_name" in sql  # their columns differ
    tracker.close()
    got = _query(
        tracker,
        "SELECT consist_run_id, consist_year, zone, trips, occupancy FROM legs_all ORDER BY zone",
    )
    assert got == [
        (runs[0], 2000, 1, 1.0, None),
        (runs[0], 2000, 2, 2.0, None),
        (runs[1], 2001, 3, 4.0, 1.5),
    ]
