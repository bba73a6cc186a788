"""The reference's and the domain-tracker guide's examples that fall in the run spine.

Written as the documents write them; only file contents the examples assume exist
(raw.csv, a config directory) are created first. Query helpers over
global_tables.run_config_kv (run_query) are exercised in tests/guide/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import consist
from consist import ExecutionOptions, Tracker


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"value": [0.1, 0.6, 0.9, 0.3]}).to_csv("raw.csv", index=False)
    return tmp_path


def clean_data(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[raw["value"] > 0.5]


def test_run_basic_and_config_examples(workdir: Path) -> None:
    tracker = Tracker(run_dir="./runs", db_path="./provenance.duckdb")
    # "Execute a basic data processing step"
    result = tracker.run(
        fn=clean_data,
        inputs={"raw": Path("raw.csv")},
        outputs=["cleaned"],
    )
    cleaned = pd.read_parquet(result.outputs["cleaned"].path)
    assert cleaned["value"].tolist() == [0.6, 0.9]
    # "Configure identity hashing for granular cache control": config changes identity.
    configured = tracker.run(
        fn=clean_data,
        inputs={"raw": Path("raw.csv")},
        config={"threshold": 0.5},
        outputs=["cleaned"],
    )
    assert not configured.cache_hit
    assert configured.run.signature != result.run.signature
    again = tracker.run(
        fn=clean_data, inputs={"raw": Path("raw.csv")}, config={"threshold": 0.5},
        outputs=["cleaned"],
    )  # fmt: skip
    assert again.cache_hit and again.run.reused_run_id == configured.run.id
    tracker.close()


def test_trace_example(workdir: Path) -> None:
    tracker = Tracker(run_dir="./runs", db_path="./provenance.duckdb")
    for expected_hit in (False, True):
        with tracker.trace("my_analysis", output_paths={"results": "./results.csv"}):
            df = pd.read_csv("raw.csv")
            df["value"] = df["value"] * 2
            df.to_csv("./results.csv", index=False)
            assert tracker.is_cached is expected_hit
        record = tracker.last_run
        assert record is not None and record.run.status == "completed"
        assert record.outputs_by_key()["results"].path == workdir / "results.csv"
    tracker.close()


def my_model_fn(config: dict[str, Any], config_dir: Path, output_dir: Path) -> dict[str, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    settings = (config_dir / "settings.yaml").read_text()
    results = output_dir / "results.txt"
    results.write_text(f"{config['sample_rate']}|{settings}")
    return {"results": results}


class SimulationTracker:
    """The guide's context-managed wrapper: a Tracker inside, consist.use_tracker on enter."""

    def __init__(self, *, workspace: Path, config_dir: Path) -> None:
        self.workspace = workspace
        self.config_dir = config_dir
        self._tracker = Tracker(
            run_dir=workspace / "runs",
            db_path=workspace / "provenance.duckdb",
        )
        self._identity_inputs = [("model_config", config_dir)]
        self._cm = None

    def __enter__(self) -> SimulationTracker:
        self._cm = consist.use_tracker(self._tracker)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._cm.__exit__(*exc)

    def run_model(self, *, name: str, config: dict) -> Any:
        return self._tracker.run(
            fn=my_model_fn,
            name=name,
            model="my_model",
            config=config,
            identity_inputs=self._identity_inputs,
            outputs=["results"],
            execution_options=ExecutionOptions(
                runtime_kwargs={
                    "config_dir": self.config_dir,
                    "output_dir": self.workspace / "outputs" / name,
                }
            ),
        )


def test_domain_tracker_guide_wrapper(workdir: Path) -> None:
    config_dir = workdir / "configs" / "my_model"
    config_dir.mkdir(parents=True)
    (config_dir / "settings.yaml").write_text("zones: 10\n")
    with SimulationTracker(workspace=workdir / "work", config_dir=config_dir) as sim:
        assert consist.current_tracker() is sim._tracker
        baseline = sim.run_model(name="baseline", config={"sample_rate": 0.1, "year": 2030})
        assert baseline.outputs["results"].path.read_text() == "0.1|zones: 10\n"
        # Same call: a hit, even though output_dir (a runtime kwarg) is not in the identity.
        assert sim.run_model(name="baseline", config={"sample_rate": 0.1, "year": 2030}).cache_hit
        # Editing a file in the identity_inputs directory invalidates the cache.
        (config_dir / "settings.yaml").write_text("zones: 12\n")
        changed = sim.run_model(name="baseline", config={"sample_rate": 0.1, "year": 2030})
        assert not changed.cache_hit
        assert "model_config" not in changed.outputs  # identity inputs are not recorded
        assert sim._tracker.get_run_inputs(changed.run.id) == {}
    with pytest.raises(RuntimeError):
        consist.current_tracker()
