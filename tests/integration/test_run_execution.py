"""End-to-end tests of Tracker.run execution options: runtime_kwargs, input binding, snapshot shape."""

import json
from pathlib import Path

import pandas as pd
import pytest
from run_helpers import synced_snapshot_path, write_out

from consist import (
    ConfigError,
    ExecutionOptions,
    Tracker,
)

# --- execution options ----------------------------------------------------------------


def test_runtime_kwargs_reach_the_function(tracker: Tracker) -> None:
    seen = []

    def step(alpha, beta=0, gamma=0) -> None:
        seen.append((alpha, beta, gamma))

    tracker.run(
        fn=step,
        execution_options=ExecutionOptions(runtime_kwargs={"alpha": 1, "beta": 2}),
        runtime_kwargs={"gamma": 3},
    )

    assert seen == [(1, 2, 3)]


def test_unknown_runtime_kwarg_is_a_config_error(tracker: Tracker) -> None:
    def step(alpha=0) -> None:
        return None

    with pytest.raises(ConfigError, match="nope"):
        tracker.run(fn=step, runtime_kwargs={"nope": 1})


def test_spec_clean_data_example_with_default_binding(tracker: Tracker, tmp_path: Path) -> None:
    pd.DataFrame({"value": [0.1, 0.7, 0.9, 0.3]}).to_csv(tmp_path / "raw.csv", index=False)

    def clean_data(raw: pd.DataFrame) -> pd.DataFrame:
        return raw[raw["value"] > 0.5]

    result = tracker.run(fn=clean_data, inputs={"raw": Path("raw.csv")}, outputs=["cleaned"])

    cleaned = pd.read_parquet(result.outputs["cleaned"].path)
    assert cleaned["value"].tolist() == [0.7, 0.9]
    assert set(tracker.get_run_record(result.run.id).inputs_by_key()) == {"raw"}

    with_config = tracker.run(
        fn=clean_data,
        inputs={"raw": Path("raw.csv")},
        config={"threshold": 0.5},
        outputs=["cleaned"],
    )
    assert not with_config.cache_hit
    assert with_config.run.config_hash != result.run.config_hash


@pytest.mark.parametrize(
    ("binding", "expected"),
    [("paths", Path), ("loaded", pd.DataFrame), ("none", type(None))],
)
def test_input_binding_modes(
    tracker: Tracker, tmp_path: Path, binding: str, expected: type
) -> None:
    (tmp_path / "raw.csv").write_text("value\n1\n2\n")
    seen = []

    def step(raw=None) -> None:
        seen.append(raw)

    tracker.run(
        fn=step,
        inputs={"raw": Path("raw.csv")},
        execution_options=ExecutionOptions(input_binding=binding),
    )

    assert len(seen) == 1
    assert isinstance(seen[0], expected)
    if binding == "paths":
        assert seen[0] == tmp_path / "raw.csv"
    if binding == "loaded":
        assert seen[0]["value"].tolist() == [1, 2]


def test_config_parameter_receives_the_config(tracker: Tracker) -> None:
    seen = []

    def step(config) -> None:
        seen.append(config)

    tracker.run(fn=step, config={"threshold": 0.5})

    assert seen == [{"threshold": 0.5}]


def test_snapshot_json_contains_run_and_identity(tracker: Tracker) -> None:
    def step() -> Path:
        return write_out("o")

    result = tracker.run(fn=step, config={"a": 1}, outputs=["o"])

    payload = json.loads(synced_snapshot_path(tracker, result.run.id).read_text())
    assert payload["run"]["id"] == result.run.id
    assert payload["run"]["status"] == "completed"
    assert payload["config"] == {"a": 1}
    assert payload["identity"]["signature"] == result.run.signature
    assert [o["key"] for o in payload["outputs"]] == ["o"]
