"""Config slices reach global_tables (DuckDB store): queryable, once per configuration."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from consist import Tracker
from consist.integrations.activitysim import ActivitySimConfigAdapter

DATA = Path(__file__).resolve().parents[1] / "data"


def _query(tracker: Tracker, sql: str) -> list[tuple]:
    tracker.close()  # release the store so a plain DuckDB reader can open it
    conn = duckdb.connect(str(tracker.db_path), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def asim(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "activitysim", tmp_path / "asim")
    return tmp_path / "asim"


def test_slices_are_ingested_once_per_configuration(
    tmp_path: Path, asim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracker = Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb",
                      code_identity="callable_module")  # fmt: skip
    adapter = ActivitySimConfigAdapter(root_dirs=[asim / "overlay", asim / "base"])
    first = tracker.run(fn=lambda: None, name="asim", adapter=adapter)
    tracker.run(fn=lambda: None, name="asim", adapter=adapter)  # a hit: nothing new
    tracker.run(fn=lambda: None, name="asim_other_step", adapter=adapter)  # same config
    coefficients = asim / "overlay" / "trip_mode_choice_coefficients.csv"
    coefficients.write_text(coefficients.read_text().replace("-0.0250", "-0.0300"))
    changed = tracker.run(fn=lambda: None, name="asim", adapter=adapter)
    rows = _query(
        tracker,
        "SELECT consist_run_id, value FROM global_tables.activitysim_coefficients "
        "WHERE coefficient_name = 'coef_ivt' AND file = 'trip_mode_choice_coefficients.csv' "
        "ORDER BY value",
    )
    assert rows == [(changed.run.id, -0.03), (first.run.id, -0.025)]
    settings = _query(
        tracker,
        "SELECT value FROM global_tables.activitysim_settings "
        "WHERE file = 'settings.yaml' AND key = 'households_sample_size'",
    )
    assert settings == [("500",), ("500",)]  # one row per configuration


def test_a_json_only_tracker_keeps_slices_as_artifacts(json_tracker: Tracker, asim: Path) -> None:
    adapter = ActivitySimConfigAdapter(root_dirs=[asim / "base"])
    result = json_tracker.run(fn=lambda: None, name="asim", adapter=adapter)
    inputs = json_tracker.get_run_inputs(result.run.id)
    assert inputs["activitysim:table:activitysim_coefficients"].path.is_file()
