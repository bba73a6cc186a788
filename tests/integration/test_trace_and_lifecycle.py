"""trace(), begin_run()/end_run() and start_run(): the inline run styles."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import consist
from consist import RunStateError, Tracker


def snapshot_path(tracker: Tracker, run_id: str) -> Path:
    return tracker.run_dir / "consist_runs" / f"{run_id}.json"


# --- trace ----------------------------------------------------------------------------


def test_trace_body_always_runs_and_is_cached_reports_the_hit(tracker: Tracker) -> None:
    executed = []
    cached_flags = []

    for _ in range(2):
        with tracker.trace("analysis", config={"a": 1}) as t:
            assert t is tracker
            executed.append(1)
            cached_flags.append(tracker.is_cached)
            run = tracker.current_run

    assert executed == [1, 1]
    assert cached_flags == [False, True]
    assert run.cache_hit is True
    first = tracker.find_runs(model="analysis")[-1]
    assert run.reused_run_id == first.id
    assert tracker.is_cached is False
    assert tracker.current_run is None


def test_trace_config_change_is_a_miss(tracker: Tracker) -> None:
    flags = []
    for value in (1, 2):
        with tracker.trace("analysis", config={"a": value}):
            flags.append(tracker.is_cached)

    assert flags == [False, False]


def test_trace_output_paths_resolve_against_cwd(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    with tracker.trace("my_analysis", run_id="t1", output_paths={"results": "./results.csv"}):
        Path("results.csv").write_text("value\n2\n")

    outputs = tracker.get_run_record("t1").outputs_by_key()
    assert set(outputs) == {"results"}
    assert outputs["results"].path == work / "results.csv"
    assert outputs["results"].hash
    assert tracker.get_run("t1").status == "completed"


def test_trace_logs_outputs_inside_the_block(tracker: Tracker, tmp_path: Path) -> None:
    with tracker.trace("step", run_id="t2", outputs=["out"]):
        out = tmp_path / "out.txt"
        out.write_text("x")
        tracker.log_artifact(out, key="out")

    assert set(tracker.get_run_record("t2").outputs_by_key()) == {"out"}


def test_trace_exception_marks_run_failed_and_reraises(tracker: Tracker) -> None:
    with pytest.raises(KeyError, match="missing-thing"):
        with tracker.trace("broken", run_id="t-fail"):
            raise KeyError("missing-thing")

    run = tracker.get_run("t-fail")
    assert run.status == "failed"
    assert "KeyError" in run.error and "missing-thing" in run.error
    assert tracker.current_run is None
    assert [r.id for r in tracker.find_runs(status="failed")] == ["t-fail"]


def test_trace_failed_run_is_not_reused(tracker: Tracker) -> None:
    with pytest.raises(RuntimeError):
        with tracker.trace("flaky"):
            raise RuntimeError("first attempt")

    with tracker.trace("flaky"):
        assert tracker.is_cached is False


def test_trace_declared_output_missing_warns(tracker: Tracker) -> None:
    with pytest.warns(UserWarning, match="never"):
        with tracker.trace("step", outputs=["never"]):
            pass


def test_module_level_trace_has_the_same_identity_as_tracker_trace(tracker: Tracker) -> None:
    with tracker.trace("same-step", config={"a": 1}):
        method_signature = tracker.current_run.signature

    with consist.use_tracker(tracker):
        with consist.trace("same-step", config={"a": 1}):
            helper_signature = tracker.current_run.signature
            helper_cached = tracker.is_cached

    assert helper_signature == method_signature
    assert helper_cached is True


# --- begin_run / end_run --------------------------------------------------------------


def test_begin_run_returns_run_and_end_run_completes(tracker: Tracker) -> None:
    run = tracker.begin_run("b1", "model-b", config={"a": 1}, tags=["x"], description="d")

    assert run.id == "b1"
    assert run.model_name == "model-b"
    assert run.status == "running"
    assert tracker.current_run is run
    ended = tracker.end_run()

    assert ended.id == "b1"
    assert ended.status == "completed"
    assert ended.ended_at is not None
    record = tracker.get_run_record("b1")
    assert record.run.status == "completed"
    assert record.run.tags == ["x"]
    assert record.run.description == "d"
    assert record.config == {"a": 1}
    assert tracker.current_run is None


def test_begin_run_accepts_run_fields_and_extra_meta(tracker: Tracker) -> None:
    tracker.begin_run(
        "b2", "m", year=2030, iteration=2, stage="s", phase="p", parent_run_id="par", owner="ann"
    )
    tracker.end_run()

    run = tracker.get_run("b2")
    assert (run.year, run.iteration, run.stage, run.phase) == (2030, 2, "s", "p")
    assert run.parent_run_id == "par"
    assert run.meta["owner"] == "ann"
    assert run.meta["stage"] == "s" and run.meta["phase"] == "p"


def test_second_begin_run_while_active_raises(tracker: Tracker) -> None:
    tracker.begin_run("outer", "m")

    with pytest.raises(RuntimeError) as excinfo:
        tracker.begin_run("inner", "m")

    assert isinstance(excinfo.value, RunStateError)
    assert tracker.current_run.id == "outer"
    assert not snapshot_path(tracker, "inner").exists()
    tracker.end_run()
    assert tracker.get_run("outer").status == "completed"
    assert tracker.get_run("inner") is None


def test_run_inside_an_active_run_raises(tracker: Tracker) -> None:
    def step() -> None:
        return None

    tracker.begin_run("outer", "m")
    with pytest.raises(RunStateError):
        tracker.run(fn=step)
    with pytest.raises(RunStateError):
        with tracker.trace("nested"):
            pass
    tracker.end_run()


def test_end_run_without_begin_raises(tracker: Tracker) -> None:
    with pytest.raises(RuntimeError) as excinfo:
        tracker.end_run()

    assert isinstance(excinfo.value, RunStateError)


def test_end_run_twice_logs_a_warning_and_does_not_raise(
    tracker: Tracker, caplog: pytest.LogCaptureFixture
) -> None:
    tracker.begin_run("twice", "m")
    first = tracker.end_run()

    with caplog.at_level(logging.WARNING, logger="consist"):
        second = tracker.end_run()

    assert second.id == first.id == "twice"
    assert second.status == "completed"
    assert any("twice" in r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_end_run_failed_records_the_error(tracker: Tracker) -> None:
    tracker.begin_run("bad", "m")
    error = ValueError("boom happened")

    ended = tracker.end_run("failed", error=error)

    assert ended.status == "failed"
    record = tracker.get_run_record("bad")
    assert record.run.status == "failed"
    assert "boom happened" in record.run.error
    assert "boom happened" in record.run.meta["error"]
    assert [r.id for r in tracker.find_runs(status="failed")] == ["bad"]


def test_failed_begin_run_is_not_a_cache_entry(tracker: Tracker) -> None:
    tracker.begin_run("f1", "m", config={"a": 1})
    tracker.end_run("failed", error=RuntimeError("x"))

    run = tracker.begin_run("f2", "m", config={"a": 1})
    assert run.cache_hit is False
    assert tracker.is_cached is False
    tracker.end_run()

    run = tracker.begin_run("f3", "m", config={"a": 1})
    assert run.cache_hit is True
    assert run.reused_run_id == "f2"
    assert tracker.is_cached is True
    tracker.end_run()


def test_log_input_and_log_output_inside_begin_run(tracker: Tracker, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    out = tmp_path / "out.csv"

    tracker.begin_run("io", "m")
    tracker.log_input(src, key="source")
    out.write_text("a\n2\n")
    tracker.log_output(out, key="result")
    tracker.end_run()

    record = tracker.get_run_record("io")
    assert record.inputs_by_key()["source"].path == src
    assert record.outputs_by_key()["result"].path == out


# --- start_run ------------------------------------------------------------------------


def test_start_run_context_manager_completes(tracker: Tracker, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("in")

    with tracker.start_run("s1", "model-s", config={"k": "v"}) as t:
        assert t is tracker
        assert tracker.current_run.id == "s1"
        tracker.log_input(src, key="src")
        out = tmp_path / "out.txt"
        out.write_text("out")
        tracker.log_output(out, key="dst")

    record = tracker.get_run_record("s1")
    assert record.run.status == "completed"
    assert record.run.model_name == "model-s"
    assert set(record.inputs_by_key()) == {"src"}
    assert set(record.outputs_by_key()) == {"dst"}
    assert tracker.last_run.run.id == "s1"


def test_start_run_exception_marks_failed_and_reraises(tracker: Tracker) -> None:
    class StepFailure(Exception):
        pass

    with pytest.raises(StepFailure, match="exploded"):
        with tracker.start_run("s-fail", "m"):
            raise StepFailure("exploded")

    record = tracker.get_run_record("s-fail")
    assert record.run.status == "failed"
    assert "exploded" in record.run.error
    assert "exploded" in record.run.meta["error"]
    assert tracker.current_run is None
    # The tracker is usable again afterwards.
    with tracker.start_run("s-after", "m"):
        pass
    assert tracker.get_run("s-after").status == "completed"


def test_start_run_has_the_same_identity_as_begin_run_from_the_same_code(
    tracker: Tracker,
) -> None:
    run = tracker.begin_run("via-begin", "m", config={"a": 1})
    begin_signature = run.signature
    tracker.end_run()

    with tracker.start_run("via-start", "m", config={"a": 1}):
        start_signature = tracker.current_run.signature
        assert tracker.is_cached is True

    assert start_signature == begin_signature


def test_trace_code_identity_follows_the_calling_file(tracker: Tracker, write_module) -> None:
    source = (
        "def traced(tracker):\n"
        "    with tracker.trace('inline', config={'a': 1}):\n"
        "        return tracker.current_run.signature\n"
    )
    same_a = write_module("a/inline_mod.py", source)
    same_b = write_module("b/inline_mod.py", source)
    edited = write_module("c/inline_mod.py", source + "\nEDITED = True\n")

    sig_a = same_a.traced(tracker)
    sig_b = same_b.traced(tracker)
    sig_edited = edited.traced(tracker)

    assert sig_a == sig_b
    assert sig_edited != sig_a


def test_end_run_does_not_end_a_trace(tracker: Tracker) -> None:
    with tracker.trace("traced", run_id="tr-end"):
        with pytest.raises(RuntimeError, match="begin_run"):
            tracker.end_run()
        assert tracker.current_run is not None and tracker.current_run.id == "tr-end"
    record = tracker.get_run_record("tr-end")
    assert record is not None and record.run.status == "completed"
