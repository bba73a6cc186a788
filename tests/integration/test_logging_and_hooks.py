"""log_* methods, module-level helpers, lifecycle hooks, failures and tracker properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import consist
from consist import ConsistRecord, RunStateError, Tracker
from consist.persist import recorder


def read_snapshot(tracker: Tracker, run_id: str) -> dict:
    tracker.sync_store()  # a journaled record's snapshot is materialised at sync
    return json.loads((tracker.run_dir / "consist_runs" / f"{run_id}.json").read_text())


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, text in (("a", "1"), ("b", "22"), ("c", "333")):
        path = tmp_path / f"{name}.csv"
        path.write_text(f"col\n{text}\n")
        paths[name] = path
    return paths


# --- log_artifact / log_input / log_output ------------------------------------------


def test_log_artifact_input_and_output_directions(tracker: Tracker, files) -> None:
    with tracker.start_run("la", "m"):
        inp = tracker.log_artifact(files["a"], key="raw", direction="input")
        out = tracker.log_artifact(files["b"], key="result", direction="output", note="x")
        default_dir = tracker.log_artifact(files["c"])

    assert inp.key == "raw" and inp.hash and inp.driver == "csv"
    assert out.meta["note"] == "x"
    assert default_dir.key == "c"
    record = tracker.get_run_record("la")
    assert set(record.inputs_by_key()) == {"raw"}
    assert set(record.outputs_by_key()) == {"result", "c"}
    assert record.outputs_by_key()["result"].meta["note"] == "x"
    assert record.outputs_by_key()["result"].path == files["b"]


def test_log_artifact_bad_direction_is_a_value_error(tracker: Tracker, files) -> None:
    with tracker.start_run("bad-dir", "m"):
        with pytest.raises(ValueError, match="direction"):
            tracker.log_artifact(files["a"], key="raw", direction="sideways")

    record = tracker.get_run_record("bad-dir")
    assert record.inputs == [] and record.outputs == []


def test_log_input_and_log_output_wrappers(tracker: Tracker, files) -> None:
    with tracker.start_run("wrappers", "m"):
        tracker.log_input(files["a"], key="in")
        tracker.log_output(files["b"], key="out")

    record = tracker.get_run_record("wrappers")
    assert record.inputs_by_key()["in"].path == files["a"]
    assert record.outputs_by_key()["out"].path == files["b"]


def test_log_input_links_to_the_producing_run(tracker: Tracker) -> None:
    def produce() -> Path:
        out = consist.output_path("table", ext="csv")
        out.write_text("x\n1\n")
        return out

    upstream = tracker.run(fn=produce, outputs=["table"])
    with tracker.start_run("consumer", "m"):
        artifact = tracker.log_input(upstream.outputs["table"].path, key="table")

    assert artifact.run_id == upstream.run.id
    assert artifact.producer_signature == upstream.run.signature


def test_log_artifact_is_recorded_immediately(tracker: Tracker, files) -> None:
    with tracker.start_run("immediate", "m"):
        tracker.log_output(files["a"], key="early")
        during = tracker.get_run_record("immediate")
        # With a store, the running record is a journal line (no snapshot file yet).
        snapshot_during = (tracker.run_dir / "consist_runs" / "immediate.json").exists()

    assert during.run.status == "running"
    assert [o.key for o in during.outputs] == ["early"]
    assert snapshot_during is False


def test_log_artifacts_is_one_batched_record_write(
    tracker: Tracker, files, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = []
    original = recorder.encode_record  # once per record written (journal line or snapshot)

    def counting(record):
        writes.append(record.run.id)
        return original(record)

    with tracker.start_run("batch", "m"):
        monkeypatch.setattr(recorder, "encode_record", counting)
        logged = tracker.log_artifacts(
            {"a": files["a"], "b": files["b"], "c": files["c"]},
            metadata_by_key={"b": {"special": True}},
            batch="nightly",
        )
        writes_during_call = list(writes)
        during = tracker.get_run_record("batch")

    assert writes_during_call == ["batch"]
    assert set(logged) == {"a", "b", "c"}
    assert {o.key for o in during.outputs} == {"a", "b", "c"}
    outputs = tracker.get_run_record("batch").outputs_by_key()
    assert all(outputs[k].meta["batch"] == "nightly" for k in "abc")
    assert outputs["b"].meta["special"] is True
    assert "special" not in outputs["a"].meta


def test_log_artifacts_as_inputs(tracker: Tracker, files) -> None:
    with tracker.start_run("batch-in", "m"):
        tracker.log_artifacts({"x": files["a"], "y": files["b"]}, direction="input")

    assert set(tracker.get_run_record("batch-in").inputs_by_key()) == {"x", "y"}


def test_log_artifacts_rejects_non_string_keys(tracker: Tracker, files) -> None:
    with tracker.start_run("bad-keys", "m"):
        with pytest.raises(TypeError):
            tracker.log_artifacts({1: files["a"]})

    assert tracker.get_run_record("bad-keys").outputs == []


def test_log_artifacts_rejects_metadata_for_unknown_keys(tracker: Tracker, files) -> None:
    with tracker.start_run("bad-meta", "m"):
        with pytest.raises(ValueError, match="nope"):
            tracker.log_artifacts({"a": files["a"]}, metadata_by_key={"nope": {"x": 1}})

    assert tracker.get_run_record("bad-meta").outputs == []


def test_log_meta_is_stored_on_the_run(tracker: Tracker) -> None:
    with tracker.start_run("meta", "m"):
        tracker.log_meta(accuracy=0.93, notes="ok")
        during = tracker.get_run_record("meta")
        tracker.log_meta(accuracy=0.95)

    assert during.run.meta["accuracy"] == 0.93
    meta = tracker.get_run_record("meta").run.meta
    assert meta["accuracy"] == 0.95
    assert meta["notes"] == "ok"
    assert [r.id for r in tracker.find_runs(metadata={"notes": "ok"})] == ["meta"]


def test_log_meta_reaches_the_database_immediately(tracker: Tracker) -> None:
    with tracker.start_run("meta-db", "m"):
        tracker.log_meta(owner="ann")
        found = [r.id for r in tracker.find_runs(metadata={"owner": "ann"})]

    assert found == ["meta-db"]


# --- module-level helpers -------------------------------------------------------------


def test_module_level_helpers_inside_a_run(tracker: Tracker, tmp_path: Path) -> None:
    extra = tmp_path / "extra.txt"

    def step() -> None:
        assert consist.current_tracker() is tracker
        extra.write_text("extra")
        consist.log_output(extra, key="extra")
        consist.log_meta(rows=42)
        planned = consist.output_path("table", ext="csv")
        planned.write_text("a\n1\n")

    result = tracker.run(fn=step)

    record = tracker.get_run_record(result.run.id)
    assert set(record.outputs_by_key()) == {"extra", "table"}
    assert record.outputs_by_key()["table"].path.suffix == ".csv"
    assert record.run.meta["rows"] == 42


@pytest.mark.parametrize(
    "call",
    [
        lambda p: consist.log_output(p, key="x"),
        lambda p: consist.log_input(p, key="x"),
        lambda p: consist.log_meta(a=1),
        lambda p: consist.output_path("x", ext="txt"),
        lambda p: consist.log_artifacts({"x": p}),
    ],
    ids=["log_output", "log_input", "log_meta", "output_path", "log_artifacts"],
)
def test_module_level_helpers_outside_a_run_raise(tracker: Tracker, files, call) -> None:
    with pytest.raises(RuntimeError):
        call(files["a"])
    with consist.use_tracker(tracker):
        with pytest.raises(RunStateError):
            call(files["a"])
    with pytest.raises(RuntimeError):
        tracker.log_output(files["a"], key="x")
    with pytest.raises(RuntimeError):
        tracker.log_meta(a=1)


def test_use_tracker_makes_consist_run_work(tracker: Tracker) -> None:
    def step() -> Path:
        out = consist.output_path("o", ext="txt")
        out.write_text("v")
        return out

    with consist.use_tracker(tracker) as current:
        assert current is tracker
        result = consist.run(step, outputs=["o"])
        again = consist.run(fn=step, outputs=["o"])

    assert result.outputs["o"].path.read_text() == "v"
    assert again.cache_hit
    assert tracker.get_run(result.run.id) is not None
    with pytest.raises(RuntimeError):
        consist.run(step, outputs=["o"])


# --- hooks ----------------------------------------------------------------------------


def test_hooks_are_decorators_and_receive_run_and_details(tracker: Tracker) -> None:
    events = []

    @tracker.on_run_start
    def on_start(run) -> None:
        events.append(("start", run.id, run.status))

    @tracker.on_run_complete
    def on_complete(run, outputs) -> None:
        events.append(("complete", run.id, run.status, sorted(a.key for a in outputs)))

    @tracker.on_run_failed
    def on_failed(run, error) -> None:
        events.append(("failed", run.id, run.status, error))

    assert callable(on_start) and on_start.__name__ == "on_start"

    def good() -> Path:
        out = consist.output_path("o", ext="txt")
        out.write_text("1")
        return out

    error = ValueError("bad")

    def bad() -> None:
        raise error

    tracker.run(fn=good, run_id="g", outputs=["o"])
    with pytest.raises(ValueError):
        tracker.run(fn=bad, run_id="b")

    assert events == [
        ("start", "g", "running"),
        ("complete", "g", "completed", ["o"]),
        ("start", "b", "running"),
        ("failed", "b", "failed", error),
    ]


def test_raising_hooks_do_not_break_runs(tracker: Tracker) -> None:
    @tracker.on_run_start
    def explode_start(run) -> None:
        raise RuntimeError("start hook broke")

    @tracker.on_run_complete
    def explode_complete(run, outputs) -> None:
        raise RuntimeError("complete hook broke")

    calls = []

    def step() -> None:
        calls.append(1)

    result = tracker.run(fn=step, run_id="survives")

    assert calls == [1]
    assert result.run.status == "completed"
    assert tracker.get_run("survives").status == "completed"
    with tracker.start_run("survives-2", "m"):
        pass
    assert tracker.get_run("survives-2").status == "completed"


def test_exception_in_fn_is_recorded_and_reraised(tracker: Tracker) -> None:
    failures = []
    tracker.on_run_failed(lambda run, exc: failures.append((run.id, exc)))
    error = ZeroDivisionError("division went wrong")

    def step() -> None:
        raise error

    with pytest.raises(ZeroDivisionError) as excinfo:
        tracker.run(fn=step, run_id="crash")

    assert excinfo.value is error
    snapshot = read_snapshot(tracker, "crash")
    assert snapshot["run"]["status"] == "failed"
    assert "division went wrong" in snapshot["run"]["error"]
    failed = tracker.find_runs(status="failed")
    assert [r.id for r in failed] == ["crash"]
    assert "ZeroDivisionError" in failed[0].error
    assert failures == [("crash", error)]
    assert tracker.last_run.run.status == "failed"
    # A failed run is never a cache entry.
    calls = []
    tracker.run(fn=lambda: calls.append(1), name="step", model="step", run_id="retry")
    assert tracker.get_run("retry").cache_hit is False


# --- properties -----------------------------------------------------------------------


def test_last_run_and_is_cached(tracker: Tracker) -> None:
    assert tracker.last_run is None
    assert tracker.is_cached is False
    flags = []

    def step() -> None:
        flags.append(tracker.is_cached)

    first = tracker.run(fn=step, config={"a": 1})

    assert isinstance(tracker.last_run, ConsistRecord)
    assert tracker.last_run.run.id == first.run.id
    assert tracker.last_run.config == {"a": 1}
    hit = tracker.run(fn=step, config={"a": 1})
    assert tracker.last_run.run.id == hit.run.id
    assert tracker.last_run.run.cache_hit is True
    assert flags == [False]
    assert tracker.is_cached is False


def test_engine_queries_the_runs_table(tracker: Tracker) -> None:
    import sqlalchemy

    def step(i) -> None:
        return None

    for i in range(3):
        tracker.run(fn=step, runtime_kwargs={"i": i}, config={"i": i})

    engine = tracker.engine
    assert isinstance(engine, sqlalchemy.engine.Engine)
    with engine.connect() as conn:
        count = conn.execute(sqlalchemy.text("SELECT count(*) FROM runs")).scalar()
        ids = {row[0] for row in conn.execute(sqlalchemy.text("SELECT id FROM runs"))}
    assert count == 3
    assert ids == {r.id for r in tracker.find_runs()}
    # The tracker keeps working after the engine was used.
    tracker.run(fn=step, runtime_kwargs={"i": 9}, config={"i": 9})
    assert len(tracker.find_runs()) == 4


def test_engine_is_none_without_a_database(json_tracker: Tracker) -> None:
    assert json_tracker.engine is None
