"""execute/capture.py: which files a run produced, and the output policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.errors import OutputValidationError
from consist.execute.capture import OutputCapture
from consist.fs.layout import RunLayout
from consist.identity.files import FileDigester
from consist.options import OutputAction


@pytest.fixture
def capture(tmp_path: Path) -> OutputCapture:
    layout = RunLayout(tmp_path / "runs")
    return OutputCapture(
        run_id="r1",
        signature="sig",
        artifact_dir=str(tmp_path / "runs" / "outputs" / "m" / "r1"),
        layout=layout,
        digester=FileDigester(str(tmp_path / "memo"), persist_min_bytes=1 << 30),
    )


def test_output_path_is_logged_only_once_written(capture: OutputCapture) -> None:
    written = capture.output_path("a", "csv")
    capture.output_path("b", ".txt")
    written.write_text("x\n")
    capture.collect(declared=None, output_paths=None, missing=OutputAction.ERROR)
    assert list(capture.outputs) == ["a"]
    artifact = capture.outputs["a"]
    assert artifact.uri == "./outputs/m/r1/a.csv"
    assert artifact.run_id == "r1" and artifact.producer_signature == "sig"


def test_returned_paths_come_first_and_are_not_logged_twice(capture: OutputCapture) -> None:
    planned = capture.output_path("planned", "txt")
    planned.write_text("x\n")
    capture.log_returns(planned, ("result",), OutputAction.ERROR)
    capture.collect(declared=("result",), output_paths=None, missing=OutputAction.ERROR)
    assert list(capture.outputs) == ["result"]


def test_output_paths_are_logged_when_they_exist(capture: OutputCapture, tmp_path: Path) -> None:
    present = tmp_path / "present.txt"
    present.write_text("here\n")
    capture.collect(
        declared=None,
        output_paths={"present": present, "absent": tmp_path / "absent.txt"},
        missing=OutputAction.IGNORE,
    )
    assert list(capture.outputs) == ["present"]


def test_missing_declared_output_follows_the_policy(capture: OutputCapture) -> None:
    with pytest.raises(OutputValidationError, match=r"\['gone'\]"):
        capture.collect(declared=("gone",), output_paths=None, missing=OutputAction.ERROR)
    with pytest.warns(UserWarning, match="gone"):
        capture.collect(declared=("gone",), output_paths=None, missing=OutputAction.WARN)
    capture.collect(declared=("gone",), output_paths=None, missing=OutputAction.IGNORE)


def test_mismatched_return_follows_the_policy(capture: OutputCapture, tmp_path: Path) -> None:
    one = tmp_path / "one.txt"
    one.write_text("1\n")
    with pytest.raises(OutputValidationError, match="does not match"):
        capture.log_returns([one], ("a", "b"), OutputAction.ERROR)
    with pytest.warns(UserWarning, match="does not match"):
        capture.log_returns(42, ("a",), OutputAction.WARN)


def test_a_warning_points_at_the_callers_file(capture: OutputCapture) -> None:
    with pytest.warns(UserWarning) as caught:
        capture.collect(declared=("gone",), output_paths=None, missing=OutputAction.WARN)
    assert caught[0].filename == __file__
