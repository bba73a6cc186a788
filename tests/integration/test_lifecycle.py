"""One run lifecycle: every execution style ends through flow.end, exactly once."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import consist
from consist import RunStateError, Tracker, flow
from consist.errors import OutputValidationError, UnknownKeywordError
from consist.identity.inputs import ResolvedInput
from consist.model.run import RunPhase, RunStatus
from consist.options import OutputPolicyOptions
from consist.request import build
from consist.request.spec import RunRequest
from consist.services import build_services
from consist.settings import TrackerConfig


@pytest.fixture
def ends(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Run id -> how many times flow.end ran for it (and the phases it left behind)."""
    counts: Counter[str] = Counter()
    original = flow.end

    def counting(services: Any, active: flow.ActiveRun, *args: Any, **kwargs: Any) -> Any:
        counts[active.run.id] += 1
        return original(services, active, *args, **kwargs)

    monkeypatch.setattr(flow, "end", counting)
    return counts


def write_table() -> Path:
    out = consist.output_path("table", ext="txt")
    out.write_text("rows\n")
    return out


def fails() -> None:
    raise ValueError("boom")


def run_miss(tracker: Tracker) -> str:
    return tracker.run(fn=write_table, run_id="miss", outputs=["table"]).run.id


def run_hit(tracker: Tracker) -> str:
    tracker.run(fn=write_table, run_id="first", outputs=["table"])
    result = tracker.run(fn=write_table, run_id="hit", outputs=["table"])
    assert result.cache_hit
    return result.run.id


def run_raises(tracker: Tracker) -> str:
    with pytest.raises(ValueError, match="boom"):
        tracker.run(fn=fails, run_id="raises")
    return "raises"


def run_policy_error(tracker: Tracker) -> str:
    with pytest.raises(OutputValidationError):
        tracker.run(
            fn=lambda: None, name="quiet", run_id="policy", outputs=["never"],
            output_policy=OutputPolicyOptions(output_missing="error"),
        )  # fmt: skip
    return "policy"


def trace_ok(tracker: Tracker) -> str:
    with tracker.trace("t", run_id="trace-ok"):
        pass
    return "trace-ok"


def trace_raises(tracker: Tracker) -> str:
    with pytest.raises(KeyError), tracker.trace("t", run_id="trace-raises"):
        raise KeyError("x")
    return "trace-raises"


def imperative(tracker: Tracker) -> str:
    tracker.begin_run("imperative", "m")
    tracker.end_run()
    return "imperative"


def start_run_raises(tracker: Tracker) -> str:
    with pytest.raises(RuntimeError), tracker.start_run("started", "m"):
        raise RuntimeError("inside")
    return "started"


STYLES: dict[str, tuple[Callable[[Tracker], str], RunStatus]] = {
    "run miss": (run_miss, RunStatus.COMPLETED),
    "run hit": (run_hit, RunStatus.COMPLETED),
    "run raises": (run_raises, RunStatus.FAILED),
    "run output policy error": (run_policy_error, RunStatus.FAILED),
    "trace": (trace_ok, RunStatus.COMPLETED),
    "trace raises": (trace_raises, RunStatus.FAILED),
    "begin_run/end_run": (imperative, RunStatus.COMPLETED),
    "start_run raises": (start_run_raises, RunStatus.FAILED),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_every_style_ends_through_one_end(tracker: Tracker, ends: Counter[str], style: str) -> None:
    call, status = STYLES[style]
    run_id = call(tracker)
    assert ends[run_id] == 1
    record = tracker.get_run_record(run_id)
    assert record is not None and record.run.status == status.value
    assert tracker.current_run is None  # the slot is free again, even after a failure
    assert tracker.last_run is not None and tracker.last_run.run.id == run_id


def test_a_second_end_run_warns_and_returns_the_same_run(
    tracker: Tracker, caplog: pytest.LogCaptureFixture
) -> None:
    tracker.begin_run("twice", "m")
    first = tracker.end_run()
    tracker.sync_store()  # materialises the snapshot from the journal line
    snapshot = tracker.run_dir / "consist_runs" / "twice.json"
    written = snapshot.read_bytes()
    with caplog.at_level(logging.WARNING, logger="consist"):
        second = tracker.end_run("failed")
    assert second is first and second.status == "completed"
    assert "already ended" in caplog.text
    tracker.sync_store()
    assert snapshot.read_bytes() == written


def test_end_run_refuses_a_run_started_by_trace(tracker: Tracker) -> None:
    with tracker.trace("t"):
        with pytest.raises(RunStateError, match="trace"):
            tracker.end_run()


def test_end_run_without_begin_is_an_error(tracker: Tracker) -> None:
    with pytest.raises(RunStateError, match="no active run"):
        tracker.end_run()


@pytest.mark.parametrize(
    ("call", "suggestion"),
    [
        (lambda t: t.run(fn=write_table, modle="m"), "model"),
        (lambda t: consist.run(fn=write_table, cache_option=None), "cache_options"),
        (lambda t: t.trace("t", cache_mod="reuse"), "cache_mode"),
        (lambda t: consist.trace("t", output_mising="warn"), "output_missing"),
    ],
)
def test_unknown_keywords_are_refused_before_anything_is_written(
    tracker: Tracker, call: Callable[[Tracker], Any], suggestion: str
) -> None:
    with consist.use_tracker(tracker), pytest.raises(UnknownKeywordError) as caught:
        call(tracker)
    assert f"Did you mean {suggestion!r}" in str(caught.value)
    assert tracker.current_run is None
    assert not list((tracker.run_dir / "consist_runs").glob("*.json"))


def test_begin_run_keeps_unknown_keywords_as_metadata(tracker: Tracker) -> None:
    run = tracker.begin_run("meta", "m", owner="ana", year=2030)
    tracker.end_run()
    assert run.meta["owner"] == "ana" and run.year == 2030


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([RunPhase.EXECUTING, RunPhase.SUSPENDED, RunPhase.EXECUTING, RunPhase.FINISHING,
          RunPhase.COMPLETED], True),
        ([RunPhase.FINISHING, RunPhase.FAILED], True),
        ([RunPhase.EXECUTING, RunPhase.SUSPENDED, RunPhase.FINISHING, RunPhase.FAILED], True),
        ([RunPhase.SUSPENDED], False),
        ([RunPhase.COMPLETED], False),
        ([RunPhase.EXECUTING, RunPhase.COMPLETED], False),
        ([RunPhase.FINISHING, RunPhase.COMPLETED, RunPhase.FINISHING], False),
    ],
)  # fmt: skip
def test_phase_transitions(path: list[RunPhase], allowed: bool) -> None:
    phase = RunPhase.BEGUN
    ok = True
    for nxt in path:
        if not phase.can_become(nxt):
            ok = False
            break
        phase = nxt
    assert ok is allowed


class ToyExecutor:
    """An Executor that records what it was asked to run instead of calling Python."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.executed: list[tuple[str, list[str]]] = []

    def check(self, request: RunRequest) -> None:
        self.checked.append(request.run_id)

    def execute(self, request: RunRequest, inputs: Sequence[ResolvedInput]) -> Any:
        self.executed.append((request.run_id, [item.name for item in inputs]))
        return None


@contextmanager
def _no_activation(active: flow.ActiveRun) -> Iterator[flow.ActiveRun]:
    yield active


def test_run_function_needs_only_the_executor_protocol(tmp_path: Path) -> None:
    services = build_services(TrackerConfig(run_dir=tmp_path / "runs", db_path=None))
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")
    executor = ToyExecutor()
    calls = [{"fn": fails, "run_id": f"toy-{n}", "inputs": {"raw": data}} for n in (1, 2)]
    first, second = (
        flow.run_function(services, build.request_from_run(call), _no_activation, executor)
        for call in calls
    )
    # The toy ran the first request (fails() was never called) and the second one hit.
    assert executor.checked == ["toy-1", "toy-2"]
    assert executor.executed == [("toy-1", ["raw"])]
    assert not first.cache_hit and second.cache_hit
    assert first.run.status == second.run.status == "completed"


def test_output_policy_warnings_point_at_the_users_line(tracker: Tracker) -> None:
    with pytest.warns(UserWarning, match="not produced") as caught:
        with tracker.start_run("warned", "m", outputs=["never"]):
            pass
    with pytest.warns(UserWarning, match="not produced") as caught_trace:
        with tracker.trace("warned-trace", outputs=["never"]):
            pass
    assert caught[0].filename == caught_trace[0].filename == __file__


@contextmanager
def _refusing_activation(active: flow.ActiveRun) -> Iterator[flow.ActiveRun]:
    raise RunStateError("another run is active", fix="-")
    yield active  # pragma: no cover


def test_a_failed_activation_ends_the_run_and_releases_its_lock(tmp_path: Path) -> None:
    services = build_services(TrackerConfig(run_dir=tmp_path / "runs", db_path=None))
    call = {"fn": fails, "run_id": "refused", "config": {"k": 1}}
    with pytest.raises(RunStateError):
        flow.run_function(services, build.request_from_run(call), _refusing_activation,
                          ToyExecutor())  # fmt: skip
    record = services.sync.find_record("refused")
    assert record is not None and record.run.status == "failed"
    # The signature's lock was released: the same signature runs at once, not blocked.
    again = {"fn": fails, "run_id": "again", "config": {"k": 1}}
    executor = ToyExecutor()
    flow.run_function(services, build.request_from_run(again), _no_activation, executor)
    assert executor.executed == [("again", [])]
