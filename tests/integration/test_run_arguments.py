"""End-to-end tests of Tracker.run arguments: names, labels, config."""

import pydantic
from run_helpers import synced_snapshot_path

from consist import (
    Tracker,
)

# --- run arguments --------------------------------------------------------------------


def test_name_and_model_default_to_function_name(tracker: Tracker) -> None:
    def make_report() -> None:
        return None

    result = tracker.run(fn=make_report)

    assert result.run.name == "make_report"
    assert result.run.model_name == "make_report"
    assert result.run.model == "make_report"
    assert result.run.id.startswith("make_report-")
    assert result.run.status == "completed"


def test_explicit_name_run_id_model_description(tracker: Tracker) -> None:
    def step() -> None:
        return None

    result = tracker.run(
        fn=step, name="nice-name", run_id="r-001", model="modelx", description="what it does"
    )

    assert result.run.id == "r-001"
    assert result.run.name == "nice-name"
    assert result.run.model_name == "modelx"
    assert result.run.description == "what it does"
    assert synced_snapshot_path(tracker, "r-001").is_file()
    stored = tracker.get_run("r-001")
    assert stored is not None
    assert (stored.name, stored.model_name, stored.description) == (
        "nice-name",
        "modelx",
        "what it does",
    )


def test_model_defaults_to_explicit_name(tracker: Tracker) -> None:
    def step() -> None:
        return None

    result = tracker.run(fn=step, name="custom")

    assert result.run.name == "custom"
    assert result.run.model_name == "custom"


def test_labels_are_recorded_and_stage_phase_mirrored_in_meta(tracker: Tracker) -> None:
    def step() -> None:
        return None

    result = tracker.run(
        fn=step,
        run_id="labelled",
        tags=["prod", "baseline"],
        year=2030,
        iteration=3,
        stage="calibration",
        phase="warmup",
        parent_run_id="scenario-1",
    )

    for run in (result.run, tracker.get_run_record("labelled").run):
        assert run.tags == ["prod", "baseline"]
        assert run.year == 2030
        assert run.iteration == 3
        assert run.stage == "calibration"
        assert run.phase == "warmup"
        assert run.parent_run_id == "scenario-1"
        assert run.meta["stage"] == "calibration"
        assert run.meta["phase"] == "warmup"


class Inner(pydantic.BaseModel):
    k: int = 3


class StepConfig(pydantic.BaseModel):
    alpha: float = 0.5
    label: str = "x"
    inner: Inner = Inner()


def test_pydantic_config_has_same_digest_as_equivalent_dict(tracker: Tracker) -> None:
    received = []

    def step(config) -> None:
        received.append(config)

    first = tracker.run(fn=step, config=StepConfig())
    second = tracker.run(fn=step, config={"label": "x", "inner": {"k": 3}, "alpha": 0.5})

    assert not first.cache_hit
    assert second.cache_hit
    assert second.run.reused_run_id == first.run.id
    assert first.run.config_hash == second.run.config_hash
    assert len(received) == 1 and isinstance(received[0], StepConfig)
    assert tracker.get_run_record(first.run.id).config == {
        "alpha": 0.5,
        "inner": {"k": 3},
        "label": "x",
    }


def test_dict_config_is_recorded(tracker: Tracker) -> None:
    def step() -> None:
        return None

    result = tracker.run(fn=step, config={"b": [1, 2], "a": "x"})

    assert tracker.get_run_record(result.run.id).config == {"a": "x", "b": [1, 2]}
