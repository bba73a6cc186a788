"""prepare_config(facet_spec=...): a run with the plan records the facet the plan asks for.

Over the example config trees (tests/data): ``run(adapter=plan)``, ``trace(adapter=plan)``
and ``apply_config_plan`` record the selected config values as the run's facet,
queryable through get_config_values / get_config_facets / run_config_kv.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from consist import ConfigError, Tracker
from consist.integrations.activitysim import ActivitySimConfigAdapter
from consist.integrations.beam import BeamConfigAdapter

DATA = Path(__file__).resolve().parents[1] / "data"

SPEC = {
    "sample_size": ("settings.yaml", "households_sample_size"),  # the overlay's 500
    "vot": "trip_mode_choice.yaml:CONSTANTS.vot_threshold",
    "coef.ivt": ("trip_mode_choice_coefficients.csv", "coef_ivt"),  # the overlay's value
    "coef.ivt_work": ("tour_mode_choice_coefficients_template.csv", "coef_ivt.work"),
    "models": ("settings.yaml", "models"),
}
EXPECTED = {
    "sample_size": 500,
    "vot": 0.5,
    "coef.ivt": -0.025,
    "coef.ivt_work": "coef_ivt_work",
    "models": [
        "initialize_households",
        "auto_ownership_simulate",
        "tour_mode_choice_simulate",
        "trip_mode_choice",
        "write_tables",
    ],
}


@pytest.fixture
def asim(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "activitysim", tmp_path / "asim")
    return tmp_path / "asim"


@pytest.fixture
def adapter(asim: Path) -> ActivitySimConfigAdapter:
    return ActivitySimConfigAdapter(root_dirs=[asim / "overlay", asim / "base"])


def simulate() -> None:
    return None


def test_run_with_a_plan_records_the_selected_values(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    plan = tracker.prepare_config(
        adapter,
        adapter.root_dirs,
        facet_spec=SPEC,
        facet_schema_name="asim",
        facet_schema_version=2,
    )
    result = tracker.run(fn=simulate, model="asim", adapter=plan)
    run_id = result.run.id
    assert tracker.get_config_values(run_id) == EXPECTED
    [facet] = tracker.get_config_facets(namespace="asim")
    assert facet.schema_name == "asim" and facet.schema_version == 2 and facet.index
    assert facet.payload["coef"] == {"ivt": -0.025, "ivt_work": "coef_ivt_work"}
    rows = tracker.run_query(
        text(
            "SELECT key, value_num FROM global_tables.run_config_kv "
            "WHERE run_id = :run AND value_type IN ('int', 'float') ORDER BY key"
        ).bindparams(run=run_id)
    )
    assert [(row.key, row.value_num) for row in rows] == [
        ("coef.ivt", -0.025),
        ("sample_size", 500.0),
        ("vot", 0.5),
    ]
    # The plan's adapter still drives identity and logging, as with adapter=<adapter>.
    assert result.run.meta["config_identity"] == plan.identity
    assert tracker.get_config_bundle(run_id) is not None
    found = tracker.find_runs_by_facet_kv(namespace="asim", key="sample_size", value_num=500)
    assert [run.id for run in found] == [run_id]


def test_facets_are_not_identity_and_a_hit_records_its_own(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    first = tracker.run(fn=simulate, model="asim", adapter=adapter)
    assert first.run.id and tracker.get_config_values(first.run.id) == {}
    plan = tracker.prepare_config(adapter, adapter.root_dirs, facet_spec={"n": SPEC["sample_size"]})
    hit = tracker.run(fn=simulate, model="asim", adapter=plan)
    assert hit.cache_hit and hit.run.reused_run_id == first.run.id
    assert tracker.get_config_values(hit.run.id) == {"n": 500}


def test_a_config_edited_after_prepare_runs_as_it_is_now(
    tracker: Tracker, adapter: ActivitySimConfigAdapter, asim: Path
) -> None:
    plan = tracker.prepare_config(adapter, adapter.root_dirs, facet_spec={"n": SPEC["sample_size"]})
    overlay = asim / "overlay" / "settings.yaml"
    overlay.write_text(overlay.read_text().replace("500", "800"))
    result = tracker.run(fn=simulate, model="asim", adapter=plan)
    assert tracker.get_config_values(result.run.id) == {"n": 800}
    assert result.run.meta["config_identity"] != plan.identity
    fresh = tracker.prepare_config(adapter, adapter.root_dirs)
    assert result.run.meta["config_identity"] == fresh.identity


def test_the_runs_own_facet_is_merged_and_wins(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    plan = tracker.prepare_config(
        adapter,
        adapter.root_dirs,
        facet_spec={"sample_size": SPEC["sample_size"], "coef.ivt": SPEC["coef.ivt"]},
        facet_index=True,
    )
    result = tracker.run(
        fn=simulate,
        model="asim",
        adapter=plan,
        config={"scenario": "base"},
        facet={"sample_size": 1, "coef": {"walk": -0.04}},
        facet_from=["scenario"],
        facet_schema_version="v9",
    )
    assert tracker.get_config_values(result.run.id) == {
        "sample_size": 1,  # the run's explicit value wins
        "coef.ivt": -0.025,
        "coef.walk": -0.04,
        "scenario": "base",
    }
    record = tracker.get_run_record(result.run.id)
    assert record is not None and record.facet is not None
    assert record.facet.schema_version == "v9" and record.facet.namespace == "asim"


def test_facet_index_false_stores_the_facet_without_rows(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    plan = tracker.prepare_config(
        adapter, adapter.root_dirs, facet_spec={"vot": SPEC["vot"]}, facet_index=False
    )
    result = tracker.run(fn=simulate, model="asim", adapter=plan)
    assert tracker.get_config_values(result.run.id) == {}
    [facet] = tracker.get_config_facets(namespace="asim")
    assert facet.payload == {"vot": 0.5} and facet.index is False


def test_trace_with_a_plan_and_a_json_only_tracker(
    json_tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    plan = json_tracker.prepare_config(adapter, adapter.root_dirs, facet_spec={"vot": SPEC["vot"]})
    with json_tracker.trace("calibrate", model="asim", adapter=plan) as t:
        run = t.current_run
    assert run is not None and json_tracker.get_config_values(run.id) == {"vot": 0.5}


def test_apply_config_plan_records_the_facet_on_the_active_run(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    plan = tracker.prepare_config(
        adapter, adapter.root_dirs, facet_spec={"coef.ivt": SPEC["coef.ivt"]}
    )
    with tracker.trace("calibrate", model="asim", facet={"round": 1}) as t:
        tracker.apply_config_plan(plan)
        run = t.current_run
    assert run is not None and tracker.get_config_values(run.id) == {"coef.ivt": -0.025, "round": 1}
    # A plan without facet_spec leaves the run's facet as it is.
    with tracker.trace("again", model="asim", facet={"round": 2}) as t:
        tracker.apply_config_plan(tracker.prepare_config(adapter, adapter.root_dirs))
        other = t.current_run
    assert other is not None and tracker.get_config_values(other.id) == {"round": 2}
    # A validate-only plan logs nothing and records no facet.
    check = tracker.prepare_config(
        adapter, adapter.root_dirs, validate_only=True, facet_spec={"vot": SPEC["vot"]}
    )
    with tracker.trace("check", model="asim") as t:
        tracker.apply_config_plan(check)
        checked = t.current_run
    assert checked is not None and tracker.get_config_values(checked.id) == {}


def test_beam_keys_are_dotted_paths(tracker: Tracker, tmp_path: Path) -> None:
    shutil.copytree(DATA / "beam", tmp_path / "beam")
    adapter = BeamConfigAdapter(root_dirs=[tmp_path / "beam"], primary_config="beam.conf")
    spec = {
        "sample": ("beam.conf", "beam.agentsim.agentSampleSizeAsFractionOfPopulation"),
        "window": "beam.conf:beam.routing.r5.departureWindow",  # from the include
    }
    plan = tracker.prepare_config(adapter, adapter.root_dirs, facet_spec=spec)
    result = tracker.run(fn=simulate, model="beam", adapter=plan)
    assert tracker.get_config_values(result.run.id) == {"sample": 0.1, "window": 1.0167}


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        ({"facet_spec": {"x": ("nope.yaml", "a")}}, ["'nope.yaml'", "files:"]),
        ({"facet_spec": {"x": ("settings.yaml", "no_such_key")}}, ["'no_such_key'"]),
        ({"facet_spec": {"x": ("trip_mode_choice_coefficients.csv", "coef_nope")}}, ["coef_nope"]),
        ({"facet_spec": {"x": ("trip_mode_choice_coefficients.csv", "coef_ivt.nope")}}, ["nope"]),
        ({"facet_spec": {"x": "settings.yaml"}}, ["(file, key)"]),
        ({"facet_spec": {"x": ("settings.yaml", "")}}, ["both a file and a key"]),
        ({"facet_spec": {"a": SPEC["vot"], "a.b": SPEC["vot"]}}, ["overlaps"]),
        ({"facet_spec": ["settings.yaml"]}, ["facet_spec=", "dict"]),
        ({"facet_spec": {"x": SPEC["vot"]}, "facet_index": "yes"}, ["facet_index"]),
        ({"facet_spec": {"x": SPEC["vot"]}, "facet_schema_version": 1.5}, ["1.5"]),
        ({"facet_spec": {"x": SPEC["vot"]}, "facet_schema_name": 3}, ["facet_schema_name"]),
        ({"facet_schema_name": "asim"}, ["without facet_spec"]),
    ],
)
def test_bad_facet_options_fail_at_prepare(
    tracker: Tracker,
    adapter: ActivitySimConfigAdapter,
    options: dict[str, object],
    fragments: list[str],
) -> None:
    with pytest.raises(ConfigError) as caught:
        tracker.prepare_config(adapter, adapter.root_dirs, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert caught.value.fix


def test_a_validate_only_plan_cannot_run(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    plan = tracker.prepare_config(adapter, adapter.root_dirs, validate_only=True)
    with pytest.raises(ConfigError, match="validate_only"):
        tracker.run(fn=simulate, adapter=plan)
    assert tracker.find_runs() == []
