"""End-to-end tests of ``Tracker.run``: arguments, outputs, identity, cache modes, policies."""

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pydantic
import pytest

import consist
from consist import (
    Artifact,
    CacheOptions,
    ConfigError,
    ExecutionOptions,
    OutputPolicyOptions,
    OutputValidationError,
    RunResult,
    Tracker,
)


def snapshot_path(tracker: Tracker, run_id: str) -> Path:
    return tracker.run_dir / "consist_runs" / f"{run_id}.json"


def snapshot_ids(tracker: Tracker) -> set[str]:
    return {p.stem for p in (tracker.run_dir / "consist_runs").glob("*.json")}


def write_out(key: str, text: str = "data") -> Path:
    out = consist.output_path(key, ext="txt")
    out.write_text(text)
    return out


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
    assert snapshot_path(tracker, "r-001").is_file()
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


def test_inputs_as_mapping_are_bound_and_recorded(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "households.csv").write_text("id\n1\n")
    seen = {}

    def step(households: Path) -> None:
        seen["households"] = households

    result = tracker.run(fn=step, inputs={"households": Path("households.csv")})

    assert seen["households"] == tmp_path / "households.csv"
    record = tracker.get_run_record(result.run.id)
    inputs = record.inputs_by_key()
    assert set(inputs) == {"households"}
    assert inputs["households"].path == tmp_path / "households.csv"
    assert inputs["households"].hash


def test_inputs_as_list_of_paths(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.txt").write_text("hello")

    def step() -> None:
        return None

    result = tracker.run(fn=step, inputs=[Path("a.csv"), str(tmp_path / "b.txt")])

    record = tracker.get_run_record(result.run.id)
    assert {a.path for a in record.inputs} == {tmp_path / "a.csv", tmp_path / "b.txt"}


def test_inputs_list_with_same_basename_records_both(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "data.csv").write_text("x\n1\n")
    (tmp_path / "b" / "data.csv").write_text("x\n2\n")

    def step() -> None:
        return None

    result = tracker.run(fn=step, inputs=[Path("a/data.csv"), Path("b/data.csv")])

    record = tracker.get_run_record(result.run.id)
    assert {a.path for a in record.inputs} == {
        tmp_path / "a" / "data.csv",
        tmp_path / "b" / "data.csv",
    }


def test_inputs_as_artifact_from_earlier_run(tracker: Tracker) -> None:
    def produce() -> Path:
        return write_out("table", "payload")

    seen = {}

    def consume(table: Path) -> None:
        seen["text"] = table.read_text()

    upstream = tracker.run(fn=produce, outputs=["table"])
    artifact = upstream.outputs["table"]
    downstream = tracker.run(fn=consume, inputs={"table": artifact})
    as_list = tracker.run(fn=consume, name="consume_list", inputs=[artifact])

    assert seen["text"] == "payload"
    recorded = tracker.get_run_record(downstream.run.id).inputs_by_key()["table"]
    assert recorded.run_id == upstream.run.id
    assert recorded.producer_signature == upstream.run.signature
    assert set(tracker.get_run_record(as_list.run.id).inputs_by_key()) == {"table"}


def test_depends_on_is_part_of_identity(tracker: Tracker, tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("a: 1\n")
    calls = []

    def step() -> None:
        calls.append(1)

    first = tracker.run(fn=step, depends_on=[settings])
    same = tracker.run(fn=step, depends_on=[settings])
    settings.write_text("a: 2\n")
    changed = tracker.run(fn=step, depends_on=[settings])

    assert (first.cache_hit, same.cache_hit, changed.cache_hit) == (False, True, False)
    assert len(calls) == 2


def test_identity_inputs_change_signature_but_are_not_inputs(
    tracker: Tracker, tmp_path: Path
) -> None:
    cfg_file = tmp_path / "model.yaml"
    cfg_file.write_text("x: 1\n")
    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    (cfg_dir / "a.yaml").write_text("a\n")
    calls = []

    def step() -> None:
        calls.append(1)

    def run() -> RunResult:
        return tracker.run(fn=step, identity_inputs=[cfg_file, ("asim_config", cfg_dir)])

    first = run()
    assert tracker.get_run_record(first.run.id).inputs == []
    assert run().cache_hit

    (cfg_dir / "b.yaml").write_text("new file in the directory\n")
    after_dir_change = run()
    assert not after_dir_change.cache_hit
    assert after_dir_change.run.input_hash != first.run.input_hash

    cfg_file.write_text("x: 2\n")
    after_file_change = run()
    assert not after_file_change.cache_hit
    assert len(calls) == 3


def test_identity_inputs_as_plain_path_list(tracker: Tracker, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("1")

    def step() -> None:
        return None

    without = tracker.run(fn=step)
    with_identity = tracker.run(fn=step, identity_inputs=[str(cfg)])

    assert not with_identity.cache_hit
    assert with_identity.run.signature != without.run.signature
    assert tracker.get_run_record(with_identity.run.id).inputs == []


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


# --- identity -------------------------------------------------------------------------


def test_cache_hit_skips_fn_and_is_recorded_as_its_own_run(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    first = tracker.run(fn=step, config={"a": 1}, outputs=["o"])
    hit = tracker.run(fn=step, config={"a": 1}, outputs=["o"])

    assert len(calls) == 1
    assert hit.cache_hit and hit.run.cache_hit
    assert hit.run.id != first.run.id
    assert hit.run.reused_run_id == first.run.id
    assert hit.run.signature == first.run.signature
    assert hit.outputs["o"].path == first.outputs["o"].path
    assert hit.outputs["o"].id == first.outputs["o"].id
    assert hit.outputs["o"].path.is_file()
    assert snapshot_path(tracker, hit.run.id).is_file()
    stored = tracker.get_run_record(hit.run.id).run
    assert stored.cache_hit is True
    assert stored.reused_run_id == first.run.id
    assert stored.status == "completed"


BASE_KWARGS = {"config": {"a": 1}, "model": "m", "year": 2020, "iteration": 1}


@pytest.mark.parametrize(
    "change",
    [
        {"config": {"a": 2}},
        {"config": {"a": 1, "b": 0}},
        {"model": "other"},
        {"year": 2021},
        {"iteration": 2},
        {"cache_options": CacheOptions(cache_version=2)},
        {"cache_options": CacheOptions(cache_epoch=7)},
    ],
    ids=["config-value", "config-key", "model", "year", "iteration", "version", "epoch"],
)
def test_identity_component_change_causes_miss(tracker: Tracker, change: dict) -> None:
    calls = []

    def step() -> None:
        calls.append(1)

    first = tracker.run(fn=step, **BASE_KWARGS)
    changed = tracker.run(fn=step, **{**BASE_KWARGS, **change})

    assert not changed.cache_hit
    assert changed.run.signature != first.run.signature
    assert len(calls) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"tags": ["new-tag"]},
        {"description": "a different description"},
        {"name": "renamed"},
        {"runtime_kwargs": {"verbose": True}},
        {"stage": "s2"},
        {"phase": "p2"},
        {"parent_run_id": "another-parent"},
        {"run_id": "explicit-id"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_labels_and_runtime_kwargs_do_not_change_identity(tracker: Tracker, change: dict) -> None:
    calls = []

    def step(verbose: bool = False) -> None:
        calls.append(verbose)

    first = tracker.run(fn=step, model="m", config={"a": 1}, tags=["t"], description="d")
    second = tracker.run(
        fn=step, **{"model": "m", "config": {"a": 1}, "tags": ["t"], "description": "d", **change}
    )

    assert second.cache_hit
    assert second.run.reused_run_id == first.run.id
    assert calls == [False]


def test_int_vs_float_and_key_order_do_not_matter(tracker: Tracker) -> None:
    calls = []

    def step() -> None:
        calls.append(1)

    tracker.run(fn=step, config={"a": 1, "b": {"x": 2, "y": 3}})
    as_float = tracker.run(fn=step, config={"a": 1.0, "b": {"x": 2.0, "y": 3}})
    reordered = tracker.run(fn=step, config={"b": {"y": 3, "x": 2}, "a": 1})

    assert as_float.cache_hit and reordered.cache_hit
    assert len(calls) == 1


def test_input_content_change_causes_miss(tracker: Tracker, tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("v\n1\n")
    calls = []

    def step(raw: Path) -> None:
        calls.append(raw.read_text())

    first = tracker.run(fn=step, inputs={"raw": raw})
    assert tracker.run(fn=step, inputs={"raw": raw}).cache_hit
    raw.write_text("v\n2\n")
    changed = tracker.run(fn=step, inputs={"raw": raw})

    assert not changed.cache_hit
    assert changed.run.input_hash != first.run.input_hash
    assert calls == ["v\n1\n", "v\n2\n"]


def test_merkle_upstream_change_with_identical_bytes_invalidates_downstream(
    tracker: Tracker, tmp_path: Path
) -> None:
    shared = tmp_path / "shared.txt"

    def step_a(config) -> Path:
        shared.write_text("identical bytes")
        return shared

    def step_b(src: Path) -> Path:
        return write_out("b", src.read_text().upper())

    tracker.run(fn=step_a, config={"k": 1}, outputs=["shared"])
    b1 = tracker.run(fn=step_b, inputs={"src": shared}, outputs=["b"])
    assert tracker.run(fn=step_b, inputs={"src": shared}, outputs=["b"]).cache_hit

    a2 = tracker.run(fn=step_a, config={"k": 2}, outputs=["shared"])
    assert not a2.cache_hit
    b2 = tracker.run(fn=step_b, inputs={"src": shared}, outputs=["b"])

    assert not b2.cache_hit
    assert b2.run.input_hash != b1.run.input_hash
    assert b2.run.config_hash == b1.run.config_hash


def test_merkle_through_artifacts(tracker: Tracker) -> None:
    def step_a(config) -> Path:
        return write_out("out", "same")

    def step_b(src: Path) -> None:
        return None

    a1 = tracker.run(fn=step_a, config={"k": 1}, outputs=["out"])
    b1 = tracker.run(fn=step_b, inputs={"src": a1.outputs["out"]})
    a2 = tracker.run(fn=step_a, config={"k": 2}, outputs=["out"])
    assert a2.outputs["out"].hash == a1.outputs["out"].hash
    b2 = tracker.run(fn=step_b, inputs={"src": a2.outputs["out"]})

    assert not b2.cache_hit
    assert b2.run.input_hash != b1.run.input_hash


def test_raw_input_moved_or_copied_with_same_bytes_hits(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    original = tmp_path / "d1" / "raw.txt"
    original.write_text("raw bytes")
    calls = []

    def step(src: Path) -> None:
        calls.append(src)

    first = tracker.run(fn=step, inputs={"src": original})
    copied = tmp_path / "d2" / "copy.txt"
    shutil.copy(original, copied)
    from_copy = tracker.run(fn=step, inputs={"src": copied})
    moved = tmp_path / "d2" / "moved.txt"
    original.rename(moved)
    from_moved = tracker.run(fn=step, inputs={"src": moved})

    assert from_copy.cache_hit and from_moved.cache_hit
    assert from_copy.run.input_hash == first.run.input_hash == from_moved.run.input_hash
    assert calls == [original]


# --- code identity --------------------------------------------------------------------

STEP_V1 = "X = 1\n\n\ndef step():\n    return None\n"
STEP_V1_OTHER_MODULE_CODE = "X = 2\n\n\ndef step():\n    return None\n"
STEP_V2 = "X = 1\n\n\ndef step():\n    return 'edited'\n"


def test_callable_source_tracks_only_the_function_source(tracker: Tracker, write_module) -> None:
    v1 = write_module("v1/mod.py", STEP_V1)
    other = write_module("v1b/mod.py", STEP_V1_OTHER_MODULE_CODE)
    v2 = write_module("v2/mod.py", STEP_V2)
    opts = CacheOptions(code_identity="callable_source")

    first = tracker.run(fn=v1.step, cache_options=opts)
    same_source = tracker.run(fn=other.step, cache_options=opts)
    edited = tracker.run(fn=v2.step, cache_options=opts)

    assert first.run.code_identity_mode == "callable_source"
    assert same_source.cache_hit
    assert not edited.cache_hit
    assert edited.run.git_hash != first.run.git_hash


def test_callable_module_tracks_the_whole_file(tracker: Tracker, write_module) -> None:
    v1 = write_module("v1/mod.py", STEP_V1)
    copy = write_module("copy/mod.py", STEP_V1)
    other = write_module("v1b/mod.py", STEP_V1_OTHER_MODULE_CODE)
    opts = CacheOptions(code_identity="callable_module")

    first = tracker.run(fn=v1.step, cache_options=opts)
    same_file_bytes = tracker.run(fn=copy.step, cache_options=opts)
    module_changed = tracker.run(fn=other.step, cache_options=opts)

    assert first.run.code_identity_mode == "callable_module"
    assert same_file_bytes.cache_hit
    assert not module_changed.cache_hit


def test_repo_git_outside_repository_falls_back_to_callable_module(
    tracker: Tracker, write_module
) -> None:
    mod = write_module("plain/mod.py", STEP_V1)

    result = tracker.run(fn=mod.step, cache_options=CacheOptions(code_identity="repo_git"))

    assert result.run.code_identity_mode == "callable_module"
    assert "git_commit" not in result.run.meta
    module_mode = tracker.run(
        fn=mod.step, cache_options=CacheOptions(code_identity="callable_module")
    )
    assert module_mode.cache_hit


GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
GIT += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def _git(*args: str) -> str:
    return subprocess.run([*GIT, *args], check=True, capture_output=True, text=True).stdout.strip()


def _make_repo(root: Path) -> str:
    """Commit everything under ``root`` (plus a helper file) as a new git repository."""
    root.mkdir(exist_ok=True)
    (root / "helper.txt").write_text("v1\n")
    _git("init", "-q", str(root))
    _git("-C", str(root), "add", ".")
    _git("-C", str(root), "commit", "-qm", "initial")
    return _git("-C", str(root), "rev-parse", "HEAD")


def test_repo_git_records_commit_and_dirty_state(
    tracker: Tracker, tmp_path: Path, write_module
) -> None:
    mod = write_module("repo/step_mod.py", STEP_V1)
    head = _make_repo(tmp_path / "repo")
    opts = CacheOptions(code_identity="repo_git")

    clean = tracker.run(fn=mod.step, cache_options=opts)

    assert clean.run.code_identity_mode == "repo_git"
    assert clean.run.meta["git_commit"] == head
    assert clean.run.meta["git_dirty"] is False

    # A clone has the same commit: clean -> same code identity; dirty -> different.
    _git("clone", "-q", str(tmp_path / "repo"), str(tmp_path / "clean_clone"))
    _git("clone", "-q", str(tmp_path / "repo"), str(tmp_path / "dirty_clone"))
    (tmp_path / "dirty_clone" / "helper.txt").write_text("locally modified\n")
    clean_clone = write_module("clean_clone/step_mod.py", STEP_V1)
    dirty_clone = write_module("dirty_clone/step_mod.py", STEP_V1)

    from_clean_clone = tracker.run(fn=clean_clone.step, cache_options=opts)
    from_dirty_clone = tracker.run(fn=dirty_clone.step, cache_options=opts)

    assert from_clean_clone.cache_hit
    assert not from_dirty_clone.cache_hit
    assert from_dirty_clone.run.meta["git_commit"] == head
    assert from_dirty_clone.run.meta["git_dirty"] is True
    assert from_dirty_clone.run.signature != clean.run.signature


def test_repo_git_sees_a_tracked_file_edit_in_the_same_process(
    tracker: Tracker, tmp_path: Path, write_module, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git state is re-read once GIT_STATE_TTL_SECONDS have passed (docs/identity.md);
    # a zero TTL stands in for "the user edited a file, then ran the step later".
    monkeypatch.setattr("consist.identity.code.GIT_STATE_TTL_SECONDS", 0.0)
    mod = write_module("repo/step_mod.py", STEP_V1)
    _make_repo(tmp_path / "repo")
    opts = CacheOptions(code_identity="repo_git")
    first = tracker.run(fn=mod.step, cache_options=opts)

    (tmp_path / "repo" / "helper.txt").write_text("edited after the first run\n")
    second = tracker.run(fn=mod.step, cache_options=opts)

    assert second.run.meta.get("git_dirty") is True
    assert not second.cache_hit
    assert second.run.signature != first.run.signature


def test_repo_git_sees_an_edit_of_the_steps_own_file_at_once(
    tracker: Tracker, tmp_path: Path, write_module
) -> None:
    # Within the git-state TTL, an edit of the file defining the step still counts.
    mod = write_module("repo/step_mod.py", STEP_V1)
    _make_repo(tmp_path / "repo")
    opts = CacheOptions(code_identity="repo_git")
    first = tracker.run(fn=mod.step, cache_options=opts)

    (tmp_path / "repo" / "step_mod.py").write_text(STEP_V1 + "\n# edited\n")
    second = tracker.run(fn=mod.step, cache_options=opts)

    assert second.run.meta.get("git_dirty") is True
    assert not second.cache_hit
    assert second.run.signature != first.run.signature


def test_code_identity_extra_deps_change_causes_miss(tracker: Tracker, tmp_path: Path) -> None:
    dep = tmp_path / "helper_lib.py"
    dep.write_text("VALUE = 1\n")
    opts = CacheOptions(code_identity_extra_deps=[str(dep)])
    calls = []

    def step() -> None:
        calls.append(1)

    first = tracker.run(fn=step, cache_options=opts)
    assert tracker.run(fn=step, cache_options=opts).cache_hit
    dep.write_text("VALUE = 2\n")
    changed = tracker.run(fn=step, cache_options=opts)

    assert not changed.cache_hit
    assert changed.run.git_hash != first.run.git_hash
    assert changed.run.config_hash == first.run.config_hash
    assert len(calls) == 2


# --- cache modes ----------------------------------------------------------------------


def test_overwrite_always_executes_and_newest_becomes_the_cache_entry(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", str(len(calls)))

    first = tracker.run(fn=step, outputs=["o"])
    overwritten = tracker.run(
        fn=step, outputs=["o"], cache_options=CacheOptions(cache_mode="overwrite")
    )
    reused = tracker.run(fn=step, outputs=["o"])

    assert len(calls) == 2
    assert not overwritten.cache_hit
    assert overwritten.run.signature == first.run.signature
    assert snapshot_path(tracker, overwritten.run.id).is_file()
    assert reused.cache_hit
    assert reused.run.reused_run_id == overwritten.run.id
    assert reused.outputs["o"].path.read_text() == "2"


def test_readonly_hit_returns_outputs_without_writing_a_snapshot(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    first = tracker.run(fn=step, outputs=["o"])
    before = snapshot_ids(tracker)
    readonly = tracker.run(
        fn=step, outputs=["o"], cache_options=CacheOptions(cache_mode="readonly")
    )

    assert readonly.cache_hit
    assert readonly.run.reused_run_id == first.run.id
    assert readonly.outputs["o"].path.read_text() == "v"
    assert len(calls) == 1
    assert snapshot_ids(tracker) == before
    assert tracker.get_run(readonly.run.id) is None


def test_readonly_miss_executes_but_persists_nothing(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    readonly = tracker.run(
        fn=step, outputs=["o"], cache_options=CacheOptions(cache_mode="readonly")
    )

    assert not readonly.cache_hit
    assert calls == [1]
    assert readonly.outputs["o"].path.is_file()
    assert snapshot_ids(tracker) == set()
    assert tracker.find_runs() == []
    later = tracker.run(fn=step, outputs=["o"])
    assert not later.cache_hit
    assert len(calls) == 2


def test_deleted_cached_output_forces_reexecution(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    first = tracker.run(fn=step, outputs=["o"])
    first.outputs["o"].path.unlink()
    again = tracker.run(fn=step, outputs=["o"])

    assert not again.cache_hit
    assert len(calls) == 2
    assert again.outputs["o"].path.is_file()
    assert "missing" in again.run.meta["cache_miss_reason"]
    assert tracker.run(fn=step, outputs=["o"]).cache_hit


# --- output policy --------------------------------------------------------------------


def test_output_missing_error_fails_the_run(tracker: Tracker) -> None:
    def step() -> None:
        return None

    with pytest.raises(OutputValidationError) as excinfo:
        tracker.run(
            fn=step,
            run_id="missing-out",
            outputs=["never"],
            output_policy=OutputPolicyOptions(output_missing="error"),
        )

    assert isinstance(excinfo.value, RuntimeError)
    assert "never" in str(excinfo.value)
    record = tracker.get_run_record("missing-out")
    assert record.run.status == "failed"
    assert "OutputValidationError" in record.run.error
    assert [r.id for r in tracker.find_runs(status="failed")] == ["missing-out"]


def test_output_missing_warn_emits_user_warning(tracker: Tracker) -> None:
    def step() -> None:
        return None

    with pytest.warns(UserWarning, match="never"):
        result = tracker.run(fn=step, outputs=["never"])

    assert result.run.status == "completed"
    assert result.outputs == {}


def test_output_missing_ignore_is_silent(tracker: Tracker) -> None:
    def step() -> None:
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = tracker.run(
            fn=step, outputs=["never"], output_policy=OutputPolicyOptions(output_missing="ignore")
        )

    assert result.run.status == "completed"


def test_output_mismatch_policies(tracker: Tracker) -> None:
    def step() -> Path:
        out = Path("only.txt")
        out.write_text("only")
        return out

    with pytest.warns(UserWarning) as record:
        warned = tracker.run(fn=step, outputs=["first", "second"])
    messages = " ".join(str(w.message) for w in record)
    assert "does not match" in messages
    assert "second" in messages
    assert set(warned.outputs) == {"first"}

    with pytest.raises(OutputValidationError, match="does not match"):
        tracker.run(
            fn=step,
            outputs=["first", "second"],
            output_policy=OutputPolicyOptions(output_mismatch="error"),
            cache_options=CacheOptions(cache_mode="overwrite"),
        )
    assert tracker.last_run.run.status == "failed"

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.run(
            fn=step,
            outputs=["first", "second"],
            output_policy=OutputPolicyOptions(output_mismatch="ignore", output_missing="ignore"),
            cache_options=CacheOptions(cache_mode="overwrite"),
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

    payload = json.loads(snapshot_path(tracker, result.run.id).read_text())
    assert payload["run"]["id"] == result.run.id
    assert payload["run"]["status"] == "completed"
    assert payload["config"] == {"a": 1}
    assert payload["identity"]["signature"] == result.run.signature
    assert [o["key"] for o in payload["outputs"]] == ["o"]
