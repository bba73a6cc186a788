"""Ghost mode (intermediate files deleted, provenance kept; materialize; re-running a chain
re-executes only the step whose output is gone) and directory capture."""

from __future__ import annotations

from pathlib import Path

import pytest

import consist
from consist import CacheOutcome, RunResult, Tracker
from consist.errors import InvalidOptionError, MissingArtifactError, RunStateError


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request: pytest.FixtureRequest) -> Tracker:
    name = "tracker" if request.param == "duckdb" else "json_tracker"
    tracker: Tracker = request.getfixturevalue(name)
    return tracker


EXECUTED: list[str] = []


def extract(raw: Path) -> Path:
    EXECUTED.append("extract")
    out = consist.output_path("clean", ext="csv")
    out.write_text(raw.read_text().upper())
    return out


def transform(clean: Path) -> Path:
    EXECUTED.append("transform")
    out = consist.output_path("features", ext="csv")
    out.write_text(clean.read_text() + "features\n")
    return out


def report(features: Path) -> Path:
    EXECUTED.append("report")
    out = consist.output_path("report", ext="txt")
    out.write_text(f"{len(features.read_text())} bytes\n")
    return out


def chain(tracker: Tracker, raw: Path) -> list[RunResult]:
    a = tracker.run(fn=extract, inputs={"raw": raw}, outputs=["clean"])
    b = tracker.run(fn=transform, inputs={"clean": a.outputs["clean"]}, outputs=["features"])
    c = tracker.run(fn=report, inputs={"features": b.outputs["features"]}, outputs=["report"])
    return [a, b, c]


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    EXECUTED.clear()
    path = tmp_path / "raw.csv"
    path.write_text("x,y\n1,2\n")
    return path


def test_deleting_an_intermediate_reexecutes_only_its_producer(
    any_tracker: Tracker, raw: Path
) -> None:
    first = chain(any_tracker, raw)
    assert EXECUTED == ["extract", "transform", "report"]
    first[1].outputs["features"].path.unlink()  # the middle step's output
    EXECUTED.clear()
    second = chain(any_tracker, raw)
    assert EXECUTED == ["transform"]
    assert [r.cache_hit for r in second] == [True, False, True]
    reason = second[1].cache_reason
    assert reason is not None and reason.outcome is CacheOutcome.DEMOTED
    assert reason.matched_run_id == first[1].run.id
    # Same bytes, same producer signature: the downstream identity did not move.
    assert second[2].run.signature == first[2].run.signature
    assert second[1].outputs["features"].path.exists()


def test_downstream_steps_hit_while_their_inputs_are_ghosts(
    any_tracker: Tracker, raw: Path
) -> None:
    a, b, c = chain(any_tracker, raw)
    a.outputs["clean"].path.unlink()
    b.outputs["features"].path.unlink()
    EXECUTED.clear()
    # Provenance stays: the records of the deleted files still identify them.
    again_c = any_tracker.run(
        fn=report, inputs={"features": b.outputs["features"]}, outputs=["report"]
    )
    assert again_c.cache_hit and EXECUTED == []
    assert again_c.run.signature == c.run.signature


def test_materialize_restores_bytes_or_names_the_regenerating_run(
    any_tracker: Tracker, raw: Path, tmp_path: Path
) -> None:
    a, b, _ = chain(any_tracker, raw)
    features = b.outputs["features"]
    copy = any_tracker.materialize(features, tmp_path / "keep" / "features.csv")
    assert copy == str(tmp_path / "keep" / "features.csv")
    assert Path(copy).read_text() == features.path.read_text()
    features.path.unlink()
    # A copy exists: the ghost's bytes come back from it.
    again = any_tracker.materialize(features, tmp_path / "restored.csv")
    assert again is not None and Path(again).read_text().endswith("features\n")

    clean = a.outputs["clean"]
    clean.path.unlink()  # no copy of this one
    with pytest.warns(UserWarning, match=a.run.id) as caught:
        assert any_tracker.materialize(clean, tmp_path / "clean.csv") is None
    assert "'extract'" in str(caught[0].message)
    with pytest.raises(MissingArtifactError) as error:
        any_tracker.materialize(clean, tmp_path / "clean.csv", on_missing="error")
    assert error.value.context["run_id"] == a.run.id
    assert any_tracker.materialize(clean, tmp_path / "clean.csv", on_missing="ignore") is None
    assert not (tmp_path / "clean.csv").exists()
    with pytest.raises(InvalidOptionError, match="on_missing"):
        any_tracker.materialize(clean, tmp_path / "clean.csv", on_missing="explode")


# --- capture ------------------------------------------------------------------------------


def test_capture_outputs_logs_new_and_modified_files_only(
    any_tracker: Tracker, tmp_path: Path
) -> None:
    out = tmp_path / "legacy"
    (out / "sub").mkdir(parents=True)
    (out / "same.csv").write_text("unchanged")
    (out / "changed.csv").write_text("old")
    with any_tracker.trace("legacy"):
        with any_tracker.capture_outputs(out, pattern="*.csv") as captured:
            (out / "changed.csv").write_text("new bytes")
            (out / "fresh.csv").write_text("fresh")
            (out / "fresh.log").write_text("not matched")
            (out / "sub" / "deep.csv").write_text("not recursive")
    assert sorted(captured.artifacts) == ["changed", "fresh"]
    record = any_tracker.get_run_record(any_tracker.find_runs()[0].id)
    assert record is not None
    assert sorted(a.key for a in record.outputs) == ["changed", "fresh"]


def test_capture_outputs_recursive_and_module_level(any_tracker: Tracker, tmp_path: Path) -> None:
    out = tmp_path / "legacy"
    with any_tracker.trace("legacy"):
        with consist.capture_outputs(out, recursive=True) as captured:
            (out / "zones").mkdir(parents=True)
            (out / "zones" / "taz.csv").write_text("1")
    assert list(captured.artifacts) == ["zones/taz"]


def test_capture_outputs_needs_an_active_run(any_tracker: Tracker, tmp_path: Path) -> None:
    with pytest.raises(RunStateError):
        with any_tracker.capture_outputs(tmp_path):
            pass


def legacy_tool(target: str) -> None:
    EXECUTED.append("legacy")
    Path(target, "a.parquet").write_text("a")
    Path(target, "b.csv").write_text("b")


def test_capture_dir_on_run_logs_matching_files(any_tracker: Tracker, tmp_path: Path) -> None:
    EXECUTED.clear()
    target = tmp_path / "tool_out"
    target.mkdir()
    result = any_tracker.run(
        fn=legacy_tool,
        runtime_kwargs={"target": str(target)},
        capture_dir=target,
        capture_pattern="*.csv",
    )
    assert sorted(result.outputs) == ["b"]
    hit = any_tracker.run(
        fn=legacy_tool,
        runtime_kwargs={"target": str(target)},
        capture_dir=target,
        capture_pattern="*.csv",
    )
    assert hit.cache_hit and sorted(hit.outputs) == ["b"] and EXECUTED == ["legacy"]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [({"capture_pattern": ""}, "capture_pattern"), ({"capture_dir": 5}, "capture_dir")],
)
def test_bad_capture_arguments_are_refused(
    any_tracker: Tracker, kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(consist.ConfigError) as caught:
        any_tracker.trace("t", **kwargs)  # type: ignore[arg-type]
    assert caught.value.context["parameter"] == parameter


def test_capture_dir_that_is_a_file_is_refused(any_tracker: Tracker, tmp_path: Path) -> None:
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    with pytest.raises(consist.ConfigError, match="capture_dir"):
        with any_tracker.trace("t", capture_dir=afile):
            pass
