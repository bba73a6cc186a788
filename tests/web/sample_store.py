"""A small store built by real runs, shared by the web app's tests.

A scenario header with three steps (prepare -> demand -> assign), a second demand run
with another growth (a miss naming the config key), a third equal to the first (a
cache hit) and a failed run. Returns the ids the tests look for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import consist
from consist import Tracker


@dataclass(frozen=True)
class SampleStore:
    run_dir: Path
    db_path: Path
    scenario: str
    prepare: str
    demand: str
    demand_changed: str
    demand_hit: str
    assign: str
    failed: str


def _write(key: str, text: str) -> Path:
    out = consist.output_path(key, ext="csv")
    out.write_text(text)
    return out


def build_sample_store(root: Path) -> SampleStore:
    """Record the sample runs under ``root`` (runs/ and provenance.duckdb)."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return _build(root)
    finally:
        os.chdir(cwd)


def _build(root: Path) -> SampleStore:
    tracker = Tracker(root / "runs", root / "provenance.duckdb", code_identity="callable_module")

    def header() -> None:
        pass

    def prepare(n: int) -> Path:
        return _write("zones", "zone\n" + "\n".join(str(i) for i in range(n)))

    def demand(zones: Path, growth: float) -> Path:
        rows = zones.read_text().splitlines()[1:]
        return _write("trips", "zone,trips\n" + "\n".join(f"{z},{growth}" for z in rows))

    def assign(trips: Path) -> Path:
        return _write("skims", "skim\n" + str(len(trips.read_text())))

    def broken() -> None:
        raise RuntimeError("network file is corrupt")

    try:
        scenario = tracker.run(
            fn=header, name="baseline_2030", model="scenario", config={"scenario": "baseline"},
            tags=["baseline"], year=2030,
        )  # fmt: skip
        parent = scenario.run.id
        prep = tracker.run(
            fn=prepare, name="prepare_zones", model="prep", config={"zones": {"n": 3}},
            runtime_kwargs={"n": 3}, outputs=["zones"], parent_run_id=parent, year=2030,
        )  # fmt: skip
        zones = prep.outputs["zones"]

        def run_demand(growth: float, **kwargs: object) -> consist.RunResult:
            return tracker.run(
                fn=demand, name="demand", model="demand", inputs={"zones": zones},
                config={"demand": {"growth": growth, "mode": "car"}, "seed": 7},
                facet={"demand": {"growth": growth, "mode": "car"}, "seed": 7},
                runtime_kwargs={"growth": growth}, outputs=["trips"], year=2030, **kwargs,
            )  # fmt: skip

        first = run_demand(0.02, parent_run_id=parent, tags=["baseline"])
        changed = run_demand(0.05, tags=["high_growth"])
        hit = run_demand(0.02, parent_run_id=parent, tags=["baseline"])
        skims = tracker.run(
            fn=assign, name="assign", model="assign", inputs={"trips": first.outputs["trips"]},
            config={"assign": {"iterations": 5}}, outputs=["skims"], parent_run_id=parent,
            year=2030,
        )  # fmt: skip
        failed_id = ""
        try:
            tracker.run(fn=broken, name="broken_step", model="assign", config={"k": 1})
        except Exception:
            failed = tracker.find_runs(status="failed", limit=1)
            assert isinstance(failed, list)
            failed_id = failed[0].id
        assert hit.cache_hit and not changed.cache_hit
        return SampleStore(
            run_dir=root / "runs",
            db_path=root / "provenance.duckdb",
            scenario=parent,
            prepare=prep.run.id,
            demand=first.run.id,
            demand_changed=changed.run.id,
            demand_hit=hit.run.id,
            assign=skims.run.id,
            failed=failed_id,
        )
    finally:
        tracker.close()
