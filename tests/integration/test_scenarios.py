"""Scenarios end to end: the header's lifecycle, steps, the coupler, require_outputs,
cache_epoch, define_step defaults in a scenario, and the values a scenario refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import consist
from consist import (
    ConfigError,
    Coupler,
    MissingInputError,
    OutputValidationError,
    RunStateError,
    ScenarioContext,
    Tracker,
)
from consist.errors import InvalidOptionError, UnknownKeywordError
from consist.model.run import RunPhase

CALLS: list[str] = []


def make_population(size: int = 3) -> Path:
    CALLS.append("population")
    out = consist.output_path("population", ext="txt")
    out.write_text("person\n" * size)
    return out


def simulate(population: Path) -> Path:
    run = consist.current_run()
    assert run is not None
    CALLS.append(f"simulate-{run.year}")
    out = consist.output_path("trips", ext="txt")
    out.write_text(f"{run.year}:{population.read_text().count('person')}")
    return out


def summarise(trips: Path) -> Path:
    CALLS.append("summary")
    out = consist.output_path("summary", ext="txt")
    out.write_text(trips.read_text().upper())
    return out


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def _three_years(tracker: Tracker, size: int = 3, **scenario_kwargs: object) -> ScenarioContext:
    """population -> simulate(year) -> summary, chained through the coupler."""
    with tracker.scenario("baseline", config={"size": size}, **scenario_kwargs) as sc:
        sc.run(fn=make_population, config={"size": size}, outputs=["population"])
        for year in (2020, 2030, 2040):
            sc.run(
                fn=simulate,
                name=f"simulate_{year}",
                year=year,
                inputs={"population": sc.coupler.require("population")},
                outputs=["trips"],
            )
            sc.run(fn=summarise, year=year, inputs={"trips": sc.coupler.require("trips")},
                   outputs=["summary"])  # fmt: skip
    return sc


def test_three_year_scenario_chains_steps_through_the_coupler(tracker: Tracker) -> None:
    sc = _three_years(tracker)

    header = tracker.get_run("baseline")
    assert header is not None and header.status == "completed"
    assert "scenario_header" in header.tags and header.model_name == "scenario"
    steps = tracker.find_runs(parent_id="baseline")
    assert len(steps) == 7 and len({run.id for run in steps}) == 7
    assert [run.id for run in sc.steps] == [run.id for run in reversed(steps)]
    # Each summary read the trips of its own year: the coupler handed the latest output on.
    summaries = tracker.find_runs(parent_id="baseline", model="summarise", index_by="year")
    assert isinstance(summaries, dict)
    for year in (2020, 2030, 2040):
        text = tracker.get_run_outputs(summaries[year].id)["summary"].path.read_text()
        assert text == f"{year}:3"
    assert sc.coupler.require("summary").path.read_text() == "2040:3"
    # Identity chains: a simulate step's input is the population step's artifact.
    trips_run = tracker.find_runs(name="simulate_2030")[0]
    population_run = tracker.find_runs(model="make_population")[0]
    linked = tracker.get_run_inputs(trips_run.id)["population"]
    assert linked.producer_signature == population_run.signature


def test_rerun_hits_every_step_and_an_upstream_change_reruns_downstream(
    tracker: Tracker,
) -> None:
    _three_years(tracker)
    assert len(CALLS) == 7
    CALLS.clear()
    again = _three_years(tracker)
    assert CALLS == []
    assert all(run.cache_hit for run in again.steps)
    # A different population changes the population step and, through the Merkle link,
    # everything downstream of it.
    _three_years(tracker, size=5)
    assert CALLS == ["population", "simulate-2020", "summary", "simulate-2030", "summary",
                     "simulate-2040", "summary"]  # fmt: skip


def test_reference_multi_year_trace_loop_records_three_runs(tracker: Tracker) -> None:
    with tracker.scenario("baseline") as sc:
        for year in [2020, 2030, 2040]:
            with sc.trace(name="simulate", year=year):
                results = Path(f"results_{year}.txt")
                results.write_text(str(year))
                tracker.log_artifact(results, key="output")
    runs = tracker.find_runs(parent_id="baseline", name="simulate")
    assert sorted(run.year for run in runs) == [2020, 2030, 2040]
    assert len({run.id for run in runs}) == 3
    assert sc.coupler.require("output").path.name == "results_2040.txt"


def test_header_is_suspended_while_steps_run(tracker: Tracker) -> None:
    seen = []

    def step() -> None:
        seen.append((consist.current_run().id, consist.current_run().parent_run_id))  # type: ignore[union-attr]

    with tracker.scenario("baseline", tags=["nightly"], region="west") as sc:
        header = sc.header
        assert header.status == "running"
        assert tracker.current_run is None  # the header is off the active slot
        # The start is recorded, so a crash leaves a running header behind.
        assert tracker.get_run("baseline").status == "running"  # type: ignore[union-attr]
        result = sc.run(fn=step)
        assert sc._active is not None and sc._active.phase is RunPhase.SUSPENDED
    assert seen == [(result.run.id, "baseline")]
    final = tracker.get_run("baseline")
    assert final is not None and final.status == "completed"
    assert final.tags == ["nightly", "scenario_header"]
    assert final.meta["region"] == "west"


def test_failing_step_fails_the_header_with_the_error(tracker: Tracker) -> None:
    def broken() -> None:
        raise ValueError("model diverged")

    with pytest.raises(ValueError, match="model diverged"):
        with tracker.scenario("baseline") as sc:
            sc.run(fn=make_population, outputs=["population"])
            sc.run(fn=broken)
    header = tracker.get_run("baseline")
    assert header is not None and header.status == "failed"
    assert "ValueError: model diverged" in (header.error or "")
    statuses = sorted(run.status for run in tracker.find_runs(parent_id="baseline"))
    assert statuses == ["completed", "failed"]
    with pytest.raises(RunStateError, match="open"):
        sc.run(fn=make_population)


def test_require_outputs_names_the_missing_keys(tracker: Tracker) -> None:
    with pytest.raises(OutputValidationError, match=r"\['summary'\]") as info:
        with tracker.scenario("baseline", require_outputs=["population", "summary"]) as sc:
            sc.run(fn=make_population, outputs=["population"])
    assert info.value.context["missing"] == ["summary"]
    header = tracker.get_run("baseline")
    assert header is not None and header.status == "failed"
    assert "summary" in (header.error or "")


def test_require_outputs_met_completes(tracker: Tracker) -> None:
    with tracker.scenario("baseline", require_outputs="population") as sc:
        sc.run(fn=make_population, outputs=["population"])
    assert tracker.get_run("baseline").status == "completed"  # type: ignore[union-attr]


def test_scenario_cache_epoch_invalidates_its_steps(tracker: Tracker) -> None:
    _three_years(tracker, cache_epoch=1)
    CALLS.clear()
    _three_years(tracker, cache_epoch=1)
    assert CALLS == []
    _three_years(tracker, cache_epoch=2)
    assert len(CALLS) == 7
    epochs = {run.cache_decision["outcome"] for run in tracker.find_runs(parent_id="baseline")}
    assert "miss" in epochs
    latest = tracker.find_runs(model="make_population")[0]
    assert tracker.explain(latest.id).summary.count("cache_epoch") >= 1
    # A step's own cache_epoch wins over the scenario's.
    CALLS.clear()
    with tracker.scenario("baseline", cache_epoch=3) as sc:
        sc.run(fn=make_population, config={"size": 3}, outputs=["population"],
               cache_options=consist.CacheOptions(cache_epoch=2))  # fmt: skip
    assert CALLS == [] and sc.steps[0].cache_hit


def test_coupler_passed_in_is_used_and_missing_key_is_named(tracker: Tracker) -> None:
    coupler = Coupler()
    with tracker.scenario("first", coupler=coupler) as sc:
        sc.run(fn=make_population, outputs=["population"])
    assert "population" in coupler
    with tracker.scenario("second", coupler=coupler) as sc2:
        result = sc2.run(fn=simulate, year=2020,
                         inputs={"population": sc2.coupler.require("population")})  # fmt: skip
        with pytest.raises(MissingInputError, match="'households'.*'population'"):
            sc2.coupler.require("households")
    assert result.run.parent_run_id == "second"


def test_define_step_defaults_in_a_scenario_and_explicit_wins(tracker: Tracker) -> None:
    @consist.define_step(outputs=["population"], tags=["synth"], name_template="pop_{year}")
    def population_step() -> Path:
        return make_population()

    with tracker.scenario("baseline", name_template="{scenario}_{fn_name}") as sc:
        by_default = sc.run(fn=population_step, year=2020)
        explicit = sc.run(fn=population_step, name="custom", tags=["mine"], year=2030)
        plain = sc.run(fn=summarise, inputs={"trips": sc.coupler.require("population")})
    assert by_default.run.name == "pop_2020" and by_default.run.tags == ["synth"]
    assert list(by_default.outputs) == ["population"]
    assert explicit.run.name == "custom" and explicit.run.tags == ["mine"]
    assert plain.run.name == "baseline_summarise"  # the scenario's template


def test_step_cache_defaults_reach_trace_steps(tracker: Tracker) -> None:
    with tracker.scenario("baseline", cache_epoch=4) as sc:
        with sc.step("load"):
            pass
        with sc.trace("load", cache_epoch=1):
            pass
    first, second = sc.steps
    records = [tracker.get_run_record(r.id) for r in (first, second)]
    assert [r.identity["cache_epoch"] for r in records] == [4, 1]  # type: ignore[union-attr]
    assert first.parent_run_id == second.parent_run_id == "baseline"


def test_module_level_scenario_and_helpers(tracker: Tracker) -> None:
    assert consist.current_run() is None
    with consist.use_tracker(tracker):
        with consist.scenario("baseline") as sc:
            sc.run(fn=make_population, outputs=["population"])
        with consist.start_run("imperative", "manual") as t:
            assert t is tracker and consist.current_run().id == "imperative"  # type: ignore[union-attr]
    assert tracker.get_run("baseline").status == "completed"  # type: ignore[union-attr]
    assert tracker.get_run("imperative").status == "completed"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "error", "parameter"),
    [
        ({"cache_epoch": "2"}, ConfigError, "cache_epoch"),
        ({"coupler": {"a": 1}}, ConfigError, "coupler"),
        ({"require_outputs": ["ok", ""]}, ConfigError, "require_outputs"),
        ({"require_outputs": 3}, ConfigError, "require_outputs"),
        ({"name_template": "{nope}"}, UnknownKeywordError, "name_template"),
        ({"name_template": "{year"}, ConfigError, "name_template"),
        ({"tags": "one"}, ConfigError, "tags"),
        ({"model": ""}, ConfigError, "model"),
        ({"cache_mode": "sometimes"}, InvalidOptionError, "cache_mode"),
    ],
)
def test_bad_scenario_values_are_refused(
    tracker: Tracker, kwargs: dict[str, object], error: type[Exception], parameter: str
) -> None:
    with pytest.raises(error) as info:
        tracker.scenario("baseline", **kwargs)  # type: ignore[arg-type]
    assert info.value.context["parameter"] == parameter  # type: ignore[attr-defined]
    assert tracker.get_run("baseline") is None


def test_bad_scenario_name_and_step_misuse_are_refused(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="name='a/b'"):
        tracker.scenario("a/b")
    sc = tracker.scenario("baseline")
    with pytest.raises(RunStateError, match="open"):
        sc.run(fn=make_population)
    with sc:
        with pytest.raises(ConfigError, match="parent_run_id"):
            sc.run(fn=make_population, parent_run_id="elsewhere")
        with pytest.raises(UnknownKeywordError, match="cache_mode"):
            sc.run(fn=make_population, cache_mode="overwrite")  # type: ignore[call-arg]
        with pytest.raises(RunStateError, match="already entered"):
            sc.__enter__()
        with tracker.trace("outer"):
            with pytest.raises(RunStateError, match="still active"):
                with tracker.scenario("nested"):
                    pass
    assert tracker.get_run("baseline").status == "completed"  # type: ignore[union-attr]


def test_scenario_in_json_only_mode(json_tracker: Tracker) -> None:
    sc = _three_years(json_tracker)
    assert json_tracker.get_run("baseline").status == "completed"  # type: ignore[union-attr]
    assert {run.parent_run_id for run in sc.steps} == {"baseline"}


def test_scenario_refused_on_a_reader(tracker: Tracker, tmp_path: Path) -> None:
    _three_years(tracker)
    tracker.close()
    reader = Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb",
                     access_mode="read")  # fmt: skip
    with pytest.raises(RunStateError, match="read"):
        with reader.scenario("baseline"):
            pass
    reader.close()


@pytest.mark.parametrize("store", ["duckdb", "json"])
def test_header_record_follows_the_latest_execution(
    store: str, tracker: Tracker, json_tracker: Tracker
) -> None:
    chosen = tracker if store == "duckdb" else json_tracker

    def broken() -> None:
        raise RuntimeError("boom")

    _three_years(chosen)
    with pytest.raises(RuntimeError):
        with chosen.scenario("baseline") as sc:
            sc.run(fn=broken)
    assert chosen.get_run("baseline").status == "failed"  # type: ignore[union-attr]
    _three_years(chosen)
    if store == "duckdb":
        chosen.sync_store()  # consumes the journal: snapshots are materialised
    snapshot = json.loads((chosen.run_dir / "consist_runs" / "baseline.json").read_text())
    assert snapshot["run"]["status"] == "completed"
    assert snapshot["run"]["cache_hit"] is False
    assert chosen.get_run("baseline").status == "completed"  # type: ignore[union-attr]
    # A header never reuses an earlier header: it is no cache entry.
    header = chosen.get_run("baseline")
    assert header is not None and header.reused_run_id is None


def test_step_cache_hydration_is_checked_and_passed_through(tracker: Tracker) -> None:
    with pytest.raises(InvalidOptionError) as info:
        tracker.scenario("baseline", step_cache_hydration="sometimes")
    assert info.value.context["parameter"] == "step_cache_hydration"
    assert "outputs-all" in str(info.value)  # the allowed values are listed
    hits = []
    for _ in range(2):
        with tracker.scenario("baseline", step_cache_hydration="outputs-all") as sc:
            hits.append(sc.run(fn=make_population, outputs=["population"]))
            with sc.trace("inline", output_paths={"note": "note.txt"}):
                Path("note.txt").write_text("n")
    assert tracker.get_run("baseline").status == "completed"  # type: ignore[union-attr]
    # The second scenario's steps are hits, hydrated as the scenario asked (outputs-all:
    # copied into the new run's artifact directory), the run step and the trace step alike.
    run_hit, trace_hit = sc.steps
    assert run_hit.cache_hit and trace_hit.cache_hit
    assert "population" in run_hit.meta["hydrated_outputs"]
    assert "note" in trace_hit.meta["hydrated_outputs"]
    assert hits[1].outputs["population"].path.read_text() == "person\n" * 3
