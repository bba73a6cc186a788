"""Run / Artifact from_dict: records as Consist writes them take the positional path."""

from __future__ import annotations

import json

from consist.model.artifact import Artifact
from consist.model.run import Run


def test_a_full_run_dict_round_trips_and_owns_its_lists() -> None:
    run = Run(id="r1", name="step", model_name="m", tags=["a"], meta={"k": 1.5}, year=2030)
    data = json.loads(json.dumps(run.to_dict()))  # decoded keys, as from a journal line
    back = Run.from_dict(data)
    assert back == run
    back.tags.append("b")
    back.meta["k"] = 2
    assert data["tags"] == ["a"] and data["meta"] == {"k": 1.5}  # copies, not aliases


def test_a_partial_or_extended_run_dict_takes_the_named_path() -> None:
    assert (
        Run.from_dict({"id": "r1", "name": "s", "model_name": "m"}).status
        == Run(id="r1", name="s", model_name="m").status
    )
    data = Run(id="r1", name="s", model_name="m").to_dict() | {"future_field": 1}
    assert Run.from_dict(data) == Run(id="r1", name="s", model_name="m")


def test_a_full_artifact_dict_round_trips_with_its_path() -> None:
    artifact = Artifact(id="a", key="k", uri="./x.csv", hash="h", size=3, meta={"n": 1})
    data = json.loads(json.dumps(artifact.to_dict()))
    back = Artifact.from_dict(data, abs_path="/runs/x.csv")
    assert back == artifact and back.abs_path == "/runs/x.csv"
    back.meta["n"] = 2
    assert data["meta"] == {"n": 1}
