"""End-to-end tests of Tracker.run outputs: returned paths, dicts, tuples, DataFrames, output_paths."""

from pathlib import Path

import pandas as pd
from run_helpers import write_out

import consist
from consist import (
    Artifact,
    RunResult,
    Tracker,
)

# --- outputs --------------------------------------------------------------------------


def test_output_returned_as_path(tracker: Tracker) -> None:
    def step() -> Path:
        return write_out("summary", "hello")

    result = tracker.run(fn=step, outputs=["summary"])

    art = result.outputs["summary"]
    assert isinstance(art, Artifact)
    assert art.path.is_file() and art.path.read_text() == "hello"
    assert art.run_id == result.run.id
    assert tracker.get_run_record(result.run.id).outputs_by_key()["summary"].hash == art.hash


def test_output_returned_as_str(tracker: Tracker, tmp_path: Path) -> None:
    def step() -> str:
        Path("out.txt").write_text("s")
        return "out.txt"

    result = tracker.run(fn=step, outputs=["report"])

    assert result.outputs["report"].path == tmp_path / "out.txt"


def test_output_returned_as_dict_of_paths(tracker: Tracker) -> None:
    def step() -> dict:
        return {"a": write_out("a", "1"), "b": str(write_out("b", "2"))}

    result = tracker.run(fn=step, outputs=["a", "b"])

    assert set(result.outputs) == {"a", "b"}
    assert result.outputs["b"].path.read_text() == "2"


def test_undeclared_dict_and_path_returns_are_auto_logged(tracker: Tracker) -> None:
    def as_dict() -> dict:
        return {"x": write_out("x"), "y": write_out("y")}

    def as_path() -> Path:
        return write_out("single")

    assert set(tracker.run(fn=as_dict).outputs) == {"x", "y"}
    assert set(tracker.run(fn=as_path).outputs) == {"single"}


def test_tuple_return_for_several_declared_outputs(tracker: Tracker) -> None:
    def step() -> tuple:
        return write_out("left", "1"), write_out("right", "2")

    result = tracker.run(fn=step, outputs=["left", "right"])

    assert set(result.outputs) == {"left", "right"}

    assert result.outputs["left"].path.read_text() == "1"
    assert result.outputs["right"].path.read_text() == "2"


def test_dataframe_and_series_returns_are_written_and_rereadable(tracker: Tracker) -> None:
    def frame() -> pd.DataFrame:
        return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})

    def series() -> pd.Series:
        return pd.Series([1.5, 2.5], name="s")

    df_result = tracker.run(fn=frame, outputs=["table"])
    s_result = tracker.run(fn=series, outputs=["column"])

    df_art = df_result.outputs["table"]
    assert df_art.path.is_file()
    assert df_art.path.parent == tracker.run_dir / "outputs" / "frame" / df_result.run.id
    reread = pd.read_parquet(df_art.path)
    assert reread["a"].tolist() == [1, 2, 3]
    assert reread["b"].tolist() == ["x", "y", "z"]
    s_art = s_result.outputs["column"]
    assert pd.read_parquet(s_art.path)["s"].tolist() == [1.5, 2.5]
    logged = tracker.get_run_record(df_result.run.id).outputs_by_key()
    assert logged["table"].hash == df_art.hash


def test_output_paths_mapping_logs_files_the_function_writes(
    tracker: Tracker, tmp_path: Path
) -> None:
    def step() -> None:
        (tmp_path / "report.txt").write_text("r")
        Path("rel.txt").write_text("rel")

    result = tracker.run(
        fn=step, output_paths={"report": tmp_path / "report.txt", "relative": "rel.txt"}
    )

    assert result.outputs["report"].path == tmp_path / "report.txt"
    assert result.outputs["relative"].path == tmp_path / "rel.txt"
    assert set(tracker.get_run_record(result.run.id).outputs_by_key()) == {"report", "relative"}


def test_output_path_helper_writes_into_run_artifact_dir(tracker: Tracker) -> None:
    paths = {}

    def step() -> None:
        out = consist.output_path("summary", ext="txt")
        out.write_text("s")
        paths["out"] = out

    result = tracker.run(fn=step)

    out = paths["out"]
    assert out.name == "summary.txt"
    assert out.parent == tracker.run_dir / "outputs" / "step" / result.run.id
    assert result.outputs["summary"].path == out


def test_run_result_shape(tracker: Tracker) -> None:
    def step() -> Path:
        return write_out("o")

    result = tracker.run(fn=step, outputs=["o"])

    assert isinstance(result, RunResult)
    assert result.cache_hit is False
    assert result.run.status == "completed"
    assert all(isinstance(a, Artifact) and a.path.exists() for a in result.outputs.values())
    assert result.output is result.outputs["o"]
