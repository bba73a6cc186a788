"""Every path stays inside: keys, suffixes, artifact_dir, run ids and planted symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import consist
from consist import Tracker
from consist.errors import ConfigError, PathEscapeError

pd = pytest.importorskip("pandas")


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def run_writing(tracker: Tracker, key: str, ext: str | None = "txt") -> None:
    def step() -> None:
        consist.output_path(key, ext=ext).write_text("x\n")

    tracker.run(fn=step, name="writer")


@pytest.mark.parametrize(
    ("key", "ext", "parameter"),
    [
        ("../escape", "txt", "key"),
        ("../../../../tmp/escape", "txt", "key"),
        ("/tmp/escape", "txt", "key"),
        ("a/../../escape", "txt", "key"),
        ("ok", "/../../escape", "ext"),
        ("ok", "txt/../../x", "ext"),
        ("ok", "..\\x", "ext"),
        ("nul\x00byte", "txt", "key"),
    ],
)
def test_output_path_refuses_keys_and_suffixes_that_leave_the_run(
    tracker: Tracker, tmp_path: Path, key: str, ext: str, parameter: str
) -> None:
    before = files_under(tmp_path)
    with pytest.raises(PathEscapeError) as caught:
        run_writing(tracker, key, ext)
    assert caught.value.context["parameter"] == parameter
    assert isinstance(caught.value, ConfigError)
    assert tracker.current_run is None
    # Nothing was written outside the run directory (the failed run's own record is inside).
    assert {p for p in files_under(tmp_path) - before if "runs" not in p.parts} == set()


@pytest.mark.parametrize("key", [42, None, ""])
def test_output_path_refuses_a_key_that_is_not_a_name(tracker: Tracker, key: object) -> None:
    with pytest.raises(ConfigError) as caught:
        run_writing(tracker, key, "txt")  # type: ignore[arg-type]
    assert caught.value.context["parameter"] == "key"
    assert tracker.current_run is None


def test_nested_keys_inside_the_run_are_fine(tracker: Tracker) -> None:
    def step() -> None:
        consist.output_path("tables/households", ext="csv").write_text("a\n1\n")

    result = tracker.run(fn=step, name="nested")
    artifact = result.outputs["tables/households"]
    assert artifact.uri.endswith("/tables/households.csv")


@pytest.mark.parametrize("key", ["../frame", "/tmp/frame", "a/../../frame"])
def test_dataframe_outputs_under_escaping_keys_are_refused(tracker: Tracker, key: str) -> None:
    def step() -> object:
        return pd.DataFrame({"a": [1]})

    with pytest.raises(PathEscapeError) as caught:
        tracker.run(fn=step, outputs=[key])
    assert caught.value.context["parameter"] == "outputs"
    assert tracker.get_run_record(tracker.last_run.run.id).run.status == "failed"


def test_a_planted_symlink_cannot_redirect_an_output(tracker: Tracker, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    run_dir = tracker.run_dir / "outputs" / "planted" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "out.txt").symlink_to(outside)

    def step() -> None:
        consist.output_path("out", ext="txt").write_text("overwritten\n")

    with pytest.raises(PathEscapeError, match="symlink"):
        tracker.run(fn=step, name="planted", run_id="r1")
    assert outside.read_text() == "precious\n"


@pytest.mark.parametrize("artifact_dir", ["../elsewhere", "a/../../elsewhere"])
def test_relative_artifact_dir_must_stay_in_run_dir(tracker: Tracker, artifact_dir: str) -> None:
    with pytest.raises(PathEscapeError) as caught:
        tracker.begin_run("r", "m", artifact_dir=artifact_dir)
    assert caught.value.context["parameter"] == "artifact_dir"
    assert tracker.current_run is None
    assert not (tracker.run_dir / "consist_runs" / "r.json").exists()


def test_absolute_artifact_dir_outside_needs_allow_external_paths(
    tracker: Tracker, tmp_path: Path
) -> None:
    outside = tmp_path / "scratch"
    with pytest.raises(PathEscapeError, match="allow_external_paths"):
        tracker.begin_run("r", "m", artifact_dir=outside)
    assert tracker.current_run is None
    tracker.begin_run("r", "m", artifact_dir=outside, allow_external_paths=True)
    consist.output_path("out", ext="txt").write_text("x\n")
    tracker.end_run()
    assert (outside / "out.txt").is_file()
    inside = tracker.run_dir / "custom"
    tracker.begin_run("r2", "m", artifact_dir=inside)  # absolute but inside: fine
    tracker.end_run()


@pytest.mark.parametrize("run_id", ["../x", "../../etc/passwd", "a/b", "..", "x\x00y", "a\\b"])
def test_lookups_by_run_id_refuse_paths(tracker: Tracker, run_id: str) -> None:
    for lookup in (
        tracker.get_run,
        tracker.get_run_record,
        tracker.get_run_outputs,
        tracker.get_run_inputs,
    ):
        with pytest.raises(PathEscapeError) as caught:
            lookup(run_id)
        assert caught.value.context["parameter"] == "run_id"


def test_a_snapshot_named_like_a_traversal_is_never_read(tracker: Tracker, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    relative = os.path.relpath(secret.with_suffix(""), tracker.run_dir / "consist_runs")
    with pytest.raises(PathEscapeError):
        tracker.get_run_record(relative)
