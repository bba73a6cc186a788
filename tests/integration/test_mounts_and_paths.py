"""Mounts and portable records: inputs://, resolve_uri, escape refusal, a moved run_dir,
artifact directories, historical paths, bundles and lookups by URI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import consist
from consist import ConfigError, QueryError, RunResult, Tracker
from consist.errors import PathEscapeError, RunStateError

EXECUTED: list[str] = []


def clean(raw: Path) -> Path:
    EXECUTED.append("clean")
    out = consist.output_path("clean", ext="csv")
    out.write_text(raw.read_text().lower())
    return out


def summarise(clean: Path) -> Path:
    EXECUTED.append("summarise")
    out = consist.output_path("summary", ext="txt")
    out.write_text(str(len(clean.read_text())))
    return out


def pinned(source: Path, target: str) -> None:
    """Writes to a fixed place under run_dir (not its artifact dir)."""
    EXECUTED.append("pinned")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(source.read_text() + "!")


def make(root: Path, db: bool) -> Tracker:
    return Tracker(
        run_dir=root / "runs",
        db_path=root / "db.duckdb" if db else None,
        code_identity="callable_module",
        mounts={"inputs": root / "data"},
    )


def workflow(tracker: Tracker, root: Path) -> list[RunResult]:
    raw = root / "data" / "raw.csv"
    a = tracker.run(fn=clean, inputs={"raw": raw}, outputs=["clean"])
    pinned_path = tracker.run_dir / "shared" / "pinned.csv"
    b = tracker.run(
        fn=pinned,
        inputs={"source": a.outputs["clean"]},
        runtime_kwargs={"target": str(pinned_path)},
        output_paths={"pinned": pinned_path},
    )
    # A plain path input that a run wrote outside its artifact dir (produced index).
    c = tracker.run(fn=summarise, inputs={"clean": pinned_path}, outputs=["summary"])
    return [a, b, c]


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    EXECUTED.clear()
    root = tmp_path / "machine_a"
    (root / "data").mkdir(parents=True)
    (root / "data" / "raw.csv").write_text("A,B\n1,2\n")
    return root


def test_mounted_inputs_are_recorded_as_portable_uris(origin: Path) -> None:
    with make(origin, db=True) as tracker:
        a, _, _ = workflow(tracker, origin)
        raw = a.run and tracker.get_run_inputs(a.run.id)["raw"]
        assert raw.uri == "inputs://raw.csv"
        assert tracker.resolve_uri("inputs://raw.csv") == str(origin / "data" / "raw.csv")
        assert a.outputs["clean"].uri.startswith("./outputs/clean/")
        found = tracker.get_artifact_by_uri("inputs://raw.csv")
        assert found is not None and found.hash == raw.hash
        # A local path is turned into its URI first.
        same = tracker.get_artifact_by_uri(str(origin / "data" / "raw.csv"))
        assert same is not None and same.id == found.id
        assert tracker.get_artifact_by_uri("inputs://raw.csv", table_path="t") is None
        assert tracker.get_artifact_by_uri("inputs://nothing.csv") is None


@pytest.mark.parametrize(
    "uri", ["inputs://../../etc/passwd", "inputs://a/../../x", "inputs:///etc/passwd"]
)
def test_a_uri_escaping_its_mount_is_refused(origin: Path, uri: str) -> None:
    with make(origin, db=False) as tracker:
        with pytest.raises(PathEscapeError) as caught:
            tracker.resolve_uri(uri)
        assert caught.value.context["parameter"] == "uri"
        assert uri in str(caught.value)


def test_unmounted_schemes_and_plain_paths_resolve_as_given(origin: Path) -> None:
    with make(origin, db=False) as tracker:
        assert tracker.resolve_uri("s3://bucket/key") == "s3://bucket/key"
        assert tracker.resolve_uri("/abs/file.csv") == "/abs/file.csv"
        assert tracker.resolve_uri("./outputs/x") == str(tracker.run_dir / "outputs" / "x")
        assert tracker.resolve_uri("inputs://") == str(origin / "data")
        assert tracker.resolve_uri("rel/file.csv") == str(Path.cwd() / "rel" / "file.csv")


@pytest.mark.parametrize(
    "mounts", [{"": "/x"}, {"in/puts": "/x"}, {"1st": "/x"}, {"file": "/x"}, {"ok": 3}, ["a"]]
)
def test_bad_mounts_are_refused(tmp_path: Path, mounts: object) -> None:
    with pytest.raises(ConfigError) as caught:
        Tracker(run_dir=tmp_path / "runs", mounts=mounts)  # type: ignore[arg-type]
    assert caught.value.context["parameter"] == "mounts"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("db", [True, False], ids=["duckdb", "json"])
def test_a_moved_workspace_keeps_every_record_and_every_hit(
    origin: Path, tmp_path: Path, db: bool
) -> None:
    with make(origin, db) as tracker:
        first = workflow(tracker, origin)
    assert EXECUTED == ["clean", "pinned", "summarise"]
    moved = tmp_path / "machine_b"
    shutil.copytree(origin, moved)
    shutil.rmtree(origin)  # nothing may still resolve to the old place
    EXECUTED.clear()
    with make(moved, db) as tracker:
        again = workflow(tracker, moved)
        assert EXECUTED == []
        assert [r.cache_hit for r in again] == [True, True, True]
        assert [r.run.signature for r in again] == [r.run.signature for r in first]
        for result in first:
            record = tracker.get_run_record(result.run.id)
            assert record is not None
            for artifact in (*record.inputs, *record.outputs):
                assert str(artifact.path).startswith(str(moved)), artifact
                assert artifact.path.exists()
            directory = tracker.run_artifact_dir(record.run)
            assert str(directory).startswith(str(moved))
        bundle = tracker.load_input_bundle(first[0].run.id)
        assert tracker.resolve_historical_path(bundle["clean"], first[0].run).exists()
        if db:
            assert len(tracker.find_runs()) == 6


def test_pointing_a_mount_at_another_root_keeps_hits(origin: Path, tmp_path: Path) -> None:
    with make(origin, db=False) as tracker:
        workflow(tracker, origin)
    elsewhere = tmp_path / "new_data_root"
    shutil.move(origin / "data", elsewhere)
    EXECUTED.clear()
    with Tracker(
        run_dir=origin / "runs", code_identity="callable_module", mounts={"inputs": elsewhere}
    ) as tracker:
        result = tracker.run(fn=clean, inputs={"raw": elsewhere / "raw.csv"}, outputs=["clean"])
        assert result.cache_hit and EXECUTED == []
        raw = tracker.get_run_inputs(result.run.id)["raw"]
        assert raw.uri == "inputs://raw.csv" and raw.path == elsewhere / "raw.csv"


def test_run_subdir_fn_and_run_artifact_dir(origin: Path) -> None:
    with make(origin, db=False) as tracker:
        tracker.set_run_subdir_fn(lambda run: f"by_model/{run.model_name}/{run.id}")
        with tracker.trace("step") as t:
            directory = t.run_artifact_dir()
            assert directory == tracker.run_dir / "by_model" / "step" / t.current_run.id  # type: ignore[union-attr]
            out = consist.output_path("thing", ext="txt")
            out.write_text("x")
        run = tracker.find_runs()[0]
        assert tracker.run_artifact_dir(run) == directory
        assert out.parent == directory
        tracker.set_run_subdir_fn(lambda run: "../escape")
        with pytest.raises(PathEscapeError):
            with tracker.trace("other"):
                pass
        with pytest.raises(ConfigError, match="callable"):
            tracker.set_run_subdir_fn("outputs")  # type: ignore[arg-type]
        tracker.set_run_subdir_fn(None)
        with pytest.raises(RunStateError):
            tracker.run_artifact_dir()


def test_load_input_bundle_refuses_unknown_and_empty_runs(origin: Path) -> None:
    with make(origin, db=True) as tracker:
        with tracker.trace("empty"):
            pass
        empty = tracker.find_runs()[0]
        with pytest.raises(QueryError, match="no output artifacts"):
            tracker.load_input_bundle(empty.id)
        with pytest.raises(QueryError, match="no run"):
            tracker.load_input_bundle("nope")
        with pytest.raises(ValueError):
            tracker.load_input_bundle("nope")
