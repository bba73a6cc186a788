"""ActivitySim config adapter on the example config trees in tests/data/activitysim.

Identity is the canonical content: reformatting YAML/CSV never changes it, a changed value
always does, and a miss names the config file that changed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from consist import ConfigError, Tracker
from consist.errors import QueryError, UnknownKeywordError
from consist.integrations.activitysim import ActivitySimConfigAdapter
from consist.integrations.beam import BeamConfigAdapter

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def asim(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "activitysim", tmp_path / "asim")
    return tmp_path / "asim"


@pytest.fixture
def adapter(asim: Path) -> ActivitySimConfigAdapter:
    return ActivitySimConfigAdapter(root_dirs=[asim / "overlay", asim / "base"])


def simulate() -> None:
    return None


def _identity(tracker: Tracker, adapter: ActivitySimConfigAdapter) -> str:
    plan = tracker.prepare_config(adapter, adapter.root_dirs)
    return tracker.identity_from_config_plan(plan)


def test_reformatting_keeps_the_identity_and_the_cache_hit(
    tracker: Tracker, adapter: ActivitySimConfigAdapter, asim: Path
) -> None:
    first = tracker.run(fn=simulate, adapter=adapter)
    before = _identity(tracker, adapter)
    # YAML: other comments, flow style, key order; CSV: number formatting and spacing.
    (asim / "base" / "trip_mode_choice.yaml").write_text(
        "# reformatted\nCONSTANTS: {vot_threshold: 0.50, cost_per_mile: 18.290}\n"
        "LOGIT_TYPE: 'MNL'\nCOEFFICIENTS: trip_mode_choice_coefficients.csv\n"
        "SPEC:   trip_mode_choice.csv\n"
    )
    (asim / "overlay" / "trip_mode_choice_coefficients.csv").write_text(
        "coefficient_name , value , constrain\r\ncoef_ivt, -0.025 ,F\r\n"
        "coef_walk,-4.0e-2,F\r\ncoef_asc_walk,0.850,F\r\n"
    )
    assert _identity(tracker, adapter) == before
    again = tracker.run(fn=simulate, adapter=adapter)
    assert again.cache_hit and again.run.reused_run_id == first.run.id


def test_a_changed_coefficient_changes_identity_and_the_miss_names_the_file(
    tracker: Tracker, adapter: ActivitySimConfigAdapter, asim: Path
) -> None:
    tracker.run(fn=simulate, adapter=adapter)
    path = asim / "overlay" / "trip_mode_choice_coefficients.csv"
    path.write_text(path.read_text().replace("-0.0250", "-0.0260"))
    changed = tracker.run(fn=simulate, adapter=adapter)
    assert not changed.cache_hit
    summary = tracker.explain(changed.run.id).summary
    assert "activitysim:trip_mode_choice_coefficients.csv" in summary
    assert "settings.yaml" not in summary


def test_the_first_directory_wins(
    tracker: Tracker, adapter: ActivitySimConfigAdapter, asim: Path
) -> None:
    before = _identity(tracker, adapter)
    shadowed = asim / "base" / "trip_mode_choice_coefficients.csv"
    shadowed.write_text(shadowed.read_text().replace("-0.0200", "-0.9"))
    assert _identity(tracker, adapter) == before  # the overlay's copy is the one used
    plan = tracker.prepare_config(adapter, adapter.root_dirs)
    used = plan.file("trip_mode_choice_coefficients.csv")
    assert used is not None and Path(used.paths[0]).parent.name == "overlay"


def test_inherit_settings_deep_merges_settings_yaml(
    tracker: Tracker, adapter: ActivitySimConfigAdapter, asim: Path
) -> None:
    settings = tracker.prepare_config(adapter, adapter.root_dirs).documents["settings.yaml"]
    assert isinstance(settings, dict)
    assert settings["households_sample_size"] == 500  # overlay
    assert settings["chunk_size"] == 0 and "models" in settings  # inherited from base
    (asim / "overlay" / "settings.yaml").write_text("households_sample_size: 500\n")
    alone = tracker.prepare_config(adapter, adapter.root_dirs).documents["settings.yaml"]
    assert alone == {"households_sample_size": 500}
    # A base value counts only while the overlay inherits it.
    base = asim / "base" / "settings.yaml"
    before = _identity(tracker, adapter)
    base.write_text(base.read_text().replace("chunk_size: 0", "chunk_size: 5"))
    assert _identity(tracker, adapter) == before


def test_no_argument_adapter_takes_config_dirs(tracker: Tracker, asim: Path) -> None:
    adapter = ActivitySimConfigAdapter()
    plan = tracker.prepare_config(adapter, [asim / "overlay", asim / "base"])
    assert len(plan.files) == 11
    with pytest.raises(ConfigError, match="root_dirs"):
        tracker.run(fn=simulate, adapter=adapter)


def test_prepare_has_no_side_effects_and_validate_only_applies_nothing(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    plan = tracker.prepare_config(adapter, adapter.root_dirs, validate_only=True)
    assert not (tracker.run_dir / "config_bundles").exists()
    assert {t.name for t in plan.tables} == {"activitysim_coefficients", "activitysim_settings"}
    with tracker.trace("check"):
        contribution = tracker.apply_config_plan(plan)
    assert contribution.artifacts == {} and contribution.bundle_path is None
    assert not (tracker.run_dir / "config_bundles").exists()


def test_run_logs_files_bundle_and_slices(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    result = tracker.run(fn=simulate, adapter=adapter, config_plan_profile_schema=True)
    inputs = tracker.get_run_inputs(result.run.id)
    roles = {key: a.meta.get("config_role") for key, a in inputs.items()}
    assert roles["activitysim:settings.yaml"] == "file"
    assert roles["activitysim:bundle"] == "bundle"
    assert roles["activitysim:table:activitysim_coefficients"] == "table"
    assert result.run.meta["config_adapter"] == "activitysim"
    table = inputs["activitysim:table:activitysim_coefficients"]
    # Values are floats (null for template rows, whose coefficient names are value_ref).
    assert table.meta["schema"]["value"] == ["null", "number"]
    assert table.meta["schema"]["value_ref"] == ["null", "string"]
    rows = json.loads(table.path.read_text())
    ivt = [r for r in rows if r["coefficient_name"] == "coef_ivt" and r["segment"] is None]
    assert ivt == [
        {"file": "trip_mode_choice_coefficients.csv", "coefficient_name": "coef_ivt",
         "segment": None, "value": -0.025, "value_ref": None, "constrain": "F"}
    ]  # fmt: skip
    template = [r for r in rows if r["file"].endswith("_template.csv")]
    assert {r["segment"] for r in template} == {"work", "school"}
    settings = json.loads(inputs["activitysim:table:activitysim_settings"].path.read_text())
    assert {"file": "settings.yaml", "key": "households_sample_size", "value": "500"} in settings
    bundle = tracker.get_config_bundle(result.run.id)
    assert bundle is not None and (bundle / "tour_mode_choice.yaml").is_file()
    merged = json.loads((bundle / "settings.yaml").read_text())  # merged layers as JSON
    assert merged["households_sample_size"] == 500 and merged["chunk_size"] == 0


def test_ingest_off_logs_no_slices(tracker: Tracker, adapter: ActivitySimConfigAdapter) -> None:
    result = tracker.run(fn=simulate, adapter=adapter, config_plan_ingest=False)
    roles = {a.meta.get("config_role") for a in tracker.get_run_inputs(result.run.id).values()}
    assert roles == {"file", "bundle"}


def test_trace_with_adapter_hits_on_the_second_pass(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    seen = []
    for _ in range(2):
        with tracker.trace("simulate_trace", adapter=adapter) as t:
            seen.append(t.is_cached)
    assert seen == [False, True]


def test_canonicalize_config_applies_to_the_active_run(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    with tracker.trace("manual"):
        contribution = tracker.canonicalize_config(adapter, adapter.root_dirs)
    assert contribution.adapter_name == "activitysim"
    assert set(contribution.tables) == {"activitysim_coefficients", "activitysim_settings"}
    assert contribution.bundle_path and Path(contribution.bundle_path).is_dir()


def test_strict_refuses_a_missing_referenced_file(tracker: Tracker, asim: Path) -> None:
    (asim / "base" / "auto_ownership_coefficients.csv").unlink()
    adapter = ActivitySimConfigAdapter(root_dirs=[asim / "base"])
    tracker.prepare_config(adapter, adapter.root_dirs)  # lenient by default
    with pytest.raises(ConfigError, match="auto_ownership.yaml: COEFFICIENTS"):
        tracker.prepare_config(adapter, adapter.root_dirs, strict=True)


@pytest.mark.parametrize("method", ["run", "trace"])
@pytest.mark.parametrize("keyword", ["config_plan", "hash_inputs"])
def test_config_plan_and_hash_inputs_are_refused(
    tracker: Tracker, method: str, keyword: str
) -> None:
    with pytest.raises(UnknownKeywordError, match="Use adapter and identity_inputs"):
        if method == "run":
            tracker.run(fn=simulate, **{keyword: object()})
        else:
            tracker.trace("t", **{keyword: object()})


def test_get_config_bundle_filters_by_adapter_and_role(
    tracker: Tracker, adapter: ActivitySimConfigAdapter
) -> None:
    result = tracker.run(fn=simulate, adapter=adapter)
    assert tracker.get_config_bundle(result.run.id, adapter=adapter) is not None
    beam = BeamConfigAdapter(root_dirs=[DATA / "beam"])
    with pytest.raises(QueryError, match="config_role='bundle'"):
        tracker.get_config_bundle(result.run.id, adapter=beam)
    assert tracker.get_config_bundle(result.run.id, adapter=beam, allow_missing=True) is None
    assert tracker.get_config_bundle(result.run.id, role="nothing", allow_missing=True) is None
    first = tracker.get_config_bundle(result.run.id, role="file")
    assert first is not None and first.name == "auto_ownership.csv"  # sorted by key


def test_begin_run_hash_inputs_are_identity_inputs(tracker: Tracker, tmp_path: Path) -> None:
    config = tmp_path / "model.yaml"
    config.write_text("a: 1\n")
    signatures = []
    for text in ("a: 1\n", "a: 2\n"):
        config.write_text(text)
        run = tracker.begin_run(
            f"legacy-{len(signatures)}", "legacy", hash_inputs=[("cfg", config)]
        )
        tracker.end_run()
        record = tracker.get_run_record(run.id)
        assert "identity:cfg" in record.identity["input_parts"]
        assert "hash_inputs" not in run.meta
        signatures.append(run.signature)
    assert signatures[0] != signatures[1]
