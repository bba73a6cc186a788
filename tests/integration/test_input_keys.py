"""The deprecated ``input_keys`` / ``optional_input_keys`` aliases (request/input_keys.py):
coupler keys taken as inputs inside a scenario step, refused outside one."""

from __future__ import annotations

from pathlib import Path

import pytest

import consist
from consist import ConfigError, MissingInputError, Tracker
from consist.request.input_keys import parse_keys

CALLS: list[str] = []


def make_population() -> Path:
    CALLS.append("population")
    out = consist.output_path("population", ext="txt")
    out.write_text("person\nperson\n")
    return out


def make_zones() -> Path:
    CALLS.append("zones")
    out = consist.output_path("zones", ext="txt")
    out.write_text("zone\n")
    return out


def simulate(population: Path, zones: Path | None = None) -> Path:
    CALLS.append(f"simulate:{'zones' if zones is not None else 'no-zones'}")
    out = consist.output_path("trips", ext="txt")
    out.write_text(population.read_text().upper())
    return out


@consist.define_step(outputs=["trips"], input_keys="population")
def simulate_step(population: Path) -> Path:
    return simulate(population)


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def test_input_keys_take_the_coupler_artifacts_and_warn(tracker: Tracker) -> None:
    with tracker.scenario("baseline") as sc:
        sc.run(fn=make_population, outputs=["population"])
        with pytest.warns(DeprecationWarning, match=r"input_keys.*inputs=\{key: sc\.coupler"):
            step = sc.run(fn=simulate, input_keys="population", outputs=["trips"])
    assert CALLS == ["population", "simulate:no-zones"]
    inputs = tracker.get_run_inputs(step.run.id)
    assert set(inputs) == {"population"}
    assert inputs["population"].hash == sc.coupler.require("population").hash
    assert Path(step.outputs["trips"].path).read_text() == "PERSON\nPERSON\n"


def test_the_identity_is_that_of_the_replacement_call(tracker: Tracker) -> None:
    with tracker.scenario("old_style") as sc:
        sc.run(fn=make_population, outputs=["population"])
        with pytest.warns(DeprecationWarning):
            old = sc.run(fn=simulate, input_keys=["population"], outputs=["trips"])
    CALLS.clear()
    with tracker.scenario("new_style") as sc:
        sc.run(fn=make_population, outputs=["population"])
        new = sc.run(
            fn=simulate, inputs={"population": sc.coupler.require("population")}, outputs=["trips"]
        )
    assert CALLS == [] and new.cache_hit
    assert new.run.signature == old.run.signature


def test_a_missing_required_key_is_named(tracker: Tracker) -> None:
    with pytest.raises(MissingInputError, match="'population'") as caught:
        with tracker.scenario("baseline") as sc:
            sc.run(fn=make_zones, outputs=["zones"])
            with pytest.warns(DeprecationWarning):
                sc.run(fn=simulate, input_keys=("zones", "population"), outputs=["trips"])
    assert caught.value.context["parameter"] == "input_keys"
    assert "zones" in str(caught.value)  # what the coupler does hold
    assert CALLS == ["zones"]
    header = tracker.get_run("baseline")
    assert header is not None and header.status == "failed"


def test_optional_keys_are_skipped_when_absent(tracker: Tracker) -> None:
    with tracker.scenario("baseline") as sc:
        sc.run(fn=make_population, outputs=["population"])
        with pytest.warns(DeprecationWarning, match="optional_input_keys"):
            without = sc.run(
                fn=simulate,
                name="without",
                input_keys="population",
                optional_input_keys=(k for k in ["zones"]),  # any iterable of str
                outputs=["trips"],
            )
        sc.run(fn=make_zones, outputs=["zones"])
        with pytest.warns(DeprecationWarning):
            with_zones = sc.run(
                fn=simulate,
                name="with",
                optional_input_keys=["population", "zones"],
                outputs=["trips"],
            )
    assert CALLS == ["population", "simulate:no-zones", "zones", "simulate:zones"]
    assert set(tracker.get_run_inputs(without.run.id)) == {"population"}
    assert set(tracker.get_run_inputs(with_zones.run.id)) == {"population", "zones"}


def test_define_step_input_keys_in_and_outside_a_scenario(tracker: Tracker) -> None:
    with tracker.scenario("baseline") as sc:
        sc.run(fn=make_population, outputs=["population"])
        with pytest.warns(DeprecationWarning):
            step = sc.run(fn=simulate_step)
    assert set(tracker.get_run_inputs(step.run.id)) == {"population"}
    assert list(step.outputs) == ["trips"]
    with pytest.raises(ConfigError, match=r"input_keys=\['population'\].*not a scenario step"):
        tracker.run(fn=simulate_step)
    with pytest.raises(ConfigError, match="input_keys"):
        consist.define_step(input_keys=["ok", ""])


def test_trace_steps_take_input_keys(tracker: Tracker) -> None:
    with tracker.scenario("baseline") as sc:
        sc.run(fn=make_population, outputs=["population"])
        with pytest.warns(DeprecationWarning):
            with sc.trace("report", optional_input_keys=["population", "zones"]):
                run = tracker.current_run
    assert run is not None
    assert set(tracker.get_run_inputs(run.id)) == {"population"}


def test_input_keys_join_explicit_inputs(tracker: Tracker) -> None:
    Path("raw.txt").write_text("raw")
    with tracker.scenario("baseline") as sc:
        sc.run(fn=make_population, outputs=["population"])
        population = sc.coupler.require("population")
        with pytest.warns(DeprecationWarning):
            listed = sc.trace("listed", inputs=["raw.txt"], input_keys="population")
        with listed:
            listed_run = tracker.current_run
        with pytest.warns(DeprecationWarning):  # the same artifact named twice is fine
            with sc.trace("same", inputs={"population": population}, input_keys="population"):
                pass
        with pytest.raises(ConfigError, match=r"inputs\['population'\]"):
            with pytest.warns(DeprecationWarning):
                sc.trace("clash", inputs={"population": "raw.txt"}, input_keys="population")
    assert listed_run is not None
    assert set(tracker.get_run_inputs(listed_run.id)) == {"raw.txt", "population"}


def test_outside_a_scenario_input_keys_are_refused(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="tracker.run.*input_keys") as caught:
        tracker.run(fn=make_population, input_keys="population")
    assert caught.value.context["parameter"] == "input_keys"
    with pytest.raises(ConfigError, match="tracker.trace.*optional_input_keys"):
        tracker.trace("inline", optional_input_keys=["zones"])
    with pytest.raises(ConfigError, match="input_keys"):
        tracker.run(fn=make_population, input_keys=[3])  # type: ignore[list-item]
    assert CALLS == []
    # Nothing requested is nothing to read.
    assert not tracker.run(fn=make_population, input_keys=[]).cache_hit


def test_parse_keys() -> None:
    assert parse_keys(None, "input_keys") == ()
    assert parse_keys("a", "input_keys") == ("a",)
    assert parse_keys(iter(["a", "b", "a"]), "input_keys") == ("a", "b")
    for bad in (3, [""], ["a", None]):
        with pytest.raises(ConfigError, match="optional_input_keys"):
            parse_keys(bad, "optional_input_keys")
