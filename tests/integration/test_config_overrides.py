"""run_with_config_overrides on the ActivitySim and BEAM example trees.

Overrides go into a copy of the base configuration, are part of the identity (a miss names
the file and key), and the new run's lineage names its base run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from consist import ConfigError, Tracker
from consist.integrations.activitysim import ActivitySimConfigAdapter, ConfigOverrides
from consist.integrations.activitysim.parse import read_csv, read_yaml
from consist.integrations.beam import BeamConfigAdapter

DATA = Path(__file__).resolve().parents[1] / "data"
COST = ("trip_mode_choice.yaml", "CONSTANTS.cost_per_mile")
IVT = ("trip_mode_choice_coefficients.csv", "coef_ivt", None)


@pytest.fixture
def asim(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "activitysim", tmp_path / "asim")
    return tmp_path / "asim"


@pytest.fixture
def adapter(asim: Path) -> ActivitySimConfigAdapter:
    return ActivitySimConfigAdapter(root_dirs=[asim / "overlay", asim / "base"])


def simulate(resolved_config_dir: Path) -> None:
    assert (resolved_config_dir / "settings.yaml").is_file()


def _override(tracker: Tracker, adapter, tmp_path: Path, label: str, **kwargs):
    kwargs.setdefault("overrides", ConfigOverrides(constants={COST: 20.0}))
    return tracker.run_with_config_overrides(
        adapter=adapter, output_dir=tmp_path / label, fn=simulate, name="asim_override", **kwargs
    )


def test_exactly_one_base_selector(tracker: Tracker, adapter, asim: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one base selector.*neither"):
        _override(tracker, adapter, tmp_path, "a")
    with pytest.raises(ValueError, match="both"):
        _override(tracker, adapter, tmp_path, "a", base_run_id="x", base_config_dirs=[asim])
    with pytest.raises(ValueError, match="base_primary_config"):
        _override(tracker, adapter, tmp_path, "a", base_run_id="x", base_primary_config="s.yaml")


def test_override_run_from_a_base_run_names_its_base(
    tracker: Tracker, adapter, asim: Path, tmp_path: Path
) -> None:
    base = tracker.run(fn=lambda: None, name="asim_base", adapter=adapter)
    overrides = ConfigOverrides(constants={COST: 20.0}, coefficients={IVT: -0.03})
    result = _override(tracker, adapter, tmp_path, "o1", base_run_id=base.run.id,
                       overrides=overrides)  # fmt: skip
    assert not result.cache_hit
    meta = result.run.meta
    assert meta["config_override"]["base_run_id"] == base.run.id
    bundle_input = tracker.get_run_inputs(result.run.id)["base_config_bundle"]
    assert bundle_input.run_id == base.run.id  # lineage: the base run's bundle
    resolved = Path(meta["resolved_config_identity"]["path"])
    assert read_yaml(str(resolved / COST[0]))["CONSTANTS"]["cost_per_mile"] == 20.0
    coefficients = read_csv(str(resolved / IVT[0]))
    assert ["coef_ivt", -0.03, "F"] in coefficients["rows"]
    # The base configuration is untouched.
    assert read_yaml(str(asim / "base" / COST[0]))["CONSTANTS"]["cost_per_mile"] == 18.29
    assert meta["resolved_config_identity"] == {
        "mode": "auto", "adapter": "activitysim", "label": "activitysim_config",
        "path": str(resolved), "digest": meta["config_identity"],
    }  # fmt: skip
    # The override run recorded its own bundle: it can be the base of the next one.
    assert tracker.get_config_bundle(result.run.id) is not None


def test_same_overrides_hit_and_a_changed_value_names_file_and_key(
    tracker: Tracker, adapter, asim: Path, tmp_path: Path
) -> None:
    dirs = [asim / "overlay", asim / "base"]
    first = _override(tracker, adapter, tmp_path, "o1", base_config_dirs=dirs)
    again = _override(tracker, adapter, tmp_path, "o2", base_config_dirs=dirs)
    assert again.cache_hit and again.run.reused_run_id == first.run.id
    changed = _override(tracker, adapter, tmp_path, "o3", base_config_dirs=dirs,
                        overrides=ConfigOverrides(constants={COST: 25.0}))  # fmt: skip
    assert not changed.cache_hit
    summary = tracker.explain(changed.run.id).summary
    assert "trip_mode_choice.yaml::CONSTANTS.cost_per_mile" in summary


def test_identity_inputs_are_additive_and_off_drops_the_resolved_root(
    tracker: Tracker, adapter, asim: Path, tmp_path: Path
) -> None:
    dirs = [asim / "overlay", asim / "base"]
    extra = tmp_path / "extra.txt"
    extra.write_text("x")
    auto = _override(tracker, adapter, tmp_path, "a", base_config_dirs=dirs,
                     identity_inputs=[("extra", extra)])  # fmt: skip
    parts = tracker.get_run_record(auto.run.id).identity["input_parts"]
    assert {"identity:extra", "identity:activitysim_config"} <= set(parts)
    off = _override(tracker, adapter, tmp_path, "b", base_config_dirs=dirs,
                    identity_inputs=[("extra", extra)], resolved_config_identity="off")  # fmt: skip
    parts = tracker.get_run_record(off.run.id).identity["input_parts"]
    assert "identity:extra" in parts and "identity:activitysim_config" not in parts
    assert off.run.meta["resolved_config_identity"]["mode"] == "off"
    with pytest.raises(ValueError, match="resolved_config_identity"):
        _override(tracker, adapter, tmp_path, "c", base_config_dirs=dirs,
                  resolved_config_identity="sometimes")  # fmt: skip


def test_strict_refuses_unknown_keys_and_lenient_adds_them(
    tracker: Tracker, adapter, asim: Path, tmp_path: Path
) -> None:
    dirs = [asim / "overlay", asim / "base"]
    new_key = ConfigOverrides(constants={("settings.yaml", "sharrow"): True})
    with pytest.raises(ConfigError, match="'sharrow' is not in 'settings.yaml'"):
        _override(tracker, adapter, tmp_path, "s", base_config_dirs=dirs, overrides=new_key)
    lenient = _override(tracker, adapter, tmp_path, "l", base_config_dirs=dirs,
                        overrides=new_key, strict=False)  # fmt: skip
    resolved = Path(lenient.run.meta["resolved_config_identity"]["path"])
    assert read_yaml(str(resolved / "settings.yaml"))["sharrow"] is True
    bad = ConfigOverrides(coefficients={("trip_mode_choice_coefficients.csv", "coef_x", None): 1})
    with pytest.raises(ConfigError, match="no coefficient 'coef_x'"):
        _override(tracker, adapter, tmp_path, "x", base_config_dirs=dirs, overrides=bad)


def test_segment_overrides_set_a_template_column(
    tracker: Tracker, adapter, asim: Path, tmp_path: Path
) -> None:
    key = ("tour_mode_choice_coefficients_template.csv", "coef_ivt", "work")
    result = _override(tracker, adapter, tmp_path, "t", base_config_dirs=[asim / "base"],
                       overrides=ConfigOverrides(coefficients={key: "coef_ivt_school"}))  # fmt: skip
    resolved = Path(result.run.meta["resolved_config_identity"]["path"])
    rows = read_csv(str(resolved / key[0]))["rows"]
    assert ["coef_ivt", "coef_ivt_school", "coef_ivt_school"] in rows


def test_bad_override_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="constants"):
        ConfigOverrides(constants={"settings.yaml": 1})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="coefficients"):
        ConfigOverrides(coefficients={("f.csv", "c"): 1})  # type: ignore[dict-item]


def test_beam_overrides_append_assignments(tracker: Tracker, tmp_path: Path) -> None:
    shutil.copytree(DATA / "beam", tmp_path / "beam")
    adapter = BeamConfigAdapter(root_dirs=[tmp_path / "beam"], primary_config="beam.conf")
    key = ("beam.conf", "beam.agentsim.lastIteration")
    result = tracker.run_with_config_overrides(
        adapter=adapter, base_config_dirs=[tmp_path / "beam"], overrides={key: 3},
        output_dir=tmp_path / "out", fn=lambda: None, name="beam_run", identity_label="beam_config",
    )  # fmt: skip
    resolved = Path(result.run.meta["resolved_config_identity"]["path"])
    plan = tracker.prepare_config(adapter, [resolved])
    document = plan.documents["beam.conf"]
    assert document["beam"]["agentsim"]["lastIteration"] == 3  # type: ignore[index]
    assert (resolved / "common.conf").is_file()
