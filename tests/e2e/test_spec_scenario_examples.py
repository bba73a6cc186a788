"""The reference's scenario examples, written as the reference writes them: the
multi-year ``sc.trace`` loop (Tracker.trace's docstring) and the domain-tracker guide's
context-managed wrapper calling ``consist.scenario``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import consist
from consist import Tracker


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_model(year: int) -> Path:
    path = Path(f"model_{year}.csv")
    path.write_text(f"year,value\n{year},{year % 7}\n")
    return path


def test_multi_year_simulation_loop(workdir: Path) -> None:
    tracker = Tracker(run_dir="./runs", db_path="./provenance.duckdb")
    with tracker.scenario("baseline") as sc:
        for year in [2020, 2030, 2040]:
            with sc.trace(name="simulate", year=year):
                results = run_model(year)
                tracker.log_artifact(results, key="output")
    runs = tracker.find_runs(parent_id="baseline")
    assert len(runs) == 3 and len({run.id for run in runs}) == 3
    assert sorted(run.year for run in runs) == [2020, 2030, 2040]
    header = tracker.get_run("baseline")
    assert header is not None and header.status == "completed"
    assert "scenario_header" in header.tags
    tracker.close()


class SimulationTracker:
    """The guide's optional context-managed wrapper."""

    def __init__(self, *, workspace: Path) -> None:
        self.workspace = workspace
        self._tracker = Tracker(
            run_dir=workspace / "runs",
            db_path=workspace / "provenance.duckdb",
        )
        self._cm: Any = None

    def __enter__(self) -> SimulationTracker:
        self._cm = consist.use_tracker(self._tracker)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def write_summary() -> Path:
    out = consist.output_path("summary", ext="txt")
    out.write_text("summary\n")
    return out


def test_domain_wrapper_uses_consist_scenario(workdir: Path) -> None:
    with SimulationTracker(workspace=workdir) as sim:
        with consist.scenario("calibration") as sc:
            result = sc.run(fn=write_summary, outputs=["summary"])
            assert consist.current_tracker() is sim._tracker
        assert result.run.parent_run_id == "calibration"
        assert sc.coupler.require("summary").path.read_text() == "summary\n"
    sim._tracker.close()
