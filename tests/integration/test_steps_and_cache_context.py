"""define_step through Tracker.run, the cache-context helpers inside a run
(is_cached, cached_artifacts, cached_output, suspend/restore_cache_options), and the
Coupler's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

import consist
from consist import (
    CacheOptions,
    ConfigError,
    Coupler,
    MissingInputError,
    RunStateError,
    Tracker,
)
from consist.errors import InvalidOptionError
from consist.request.cache_scope import ActiveRunCacheOptions

CALLS: list[str] = []


@consist.define_step(outputs=["table"], tags=["etl"], cache_mode="overwrite", year=2030)
def build_table() -> Path:
    CALLS.append("build")
    out = consist.output_path("table", ext="txt")
    out.write_text("t")
    return out


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def test_run_reads_define_step_defaults(tracker: Tracker) -> None:
    first = tracker.run(fn=build_table)
    second = tracker.run(fn=build_table)
    assert CALLS == ["build", "build"]  # cache_mode="overwrite" from define_step
    assert not second.cache_hit
    assert first.run.tags == ["etl"] and first.run.year == 2030
    assert list(first.outputs) == ["table"]
    assert first.run.cache_decision["outcome"] == "overwrite"


def test_explicit_arguments_win_over_define_step(tracker: Tracker) -> None:
    options = CacheOptions(cache_mode="reuse")
    first = tracker.run(fn=build_table, tags=["mine"], year=2040, cache_options=options)
    second = tracker.run(fn=build_table, tags=["mine"], year=2040, cache_options=options)
    assert CALLS == ["build"] and second.cache_hit
    assert first.run.tags == ["mine"] and first.run.year == 2040
    named = tracker.run(fn=build_table, name="renamed")
    assert named.run.name == "renamed"


def test_consist_define_step_needs_no_tracker() -> None:
    @consist.define_step(outputs=["x"])
    def fn() -> None: ...

    assert consist.current_run() is None
    with pytest.raises(InvalidOptionError, match="cache_mode"):
        consist.define_step(cache_mode="never")


def _traced(tracker: Tracker, flags: list[object]) -> None:
    with tracker.trace("analysis", config={"a": 1}, output_paths={"report": "report.txt"}):
        Path("report.txt").write_text("r")
        tracker.log_input(Path("raw.txt"), key="raw")
        flags.append(
            (
                tracker.is_cached,
                consist.cached_artifacts(),
                consist.cached_output("report"),
                consist.cached_output(),
                tracker.cached_artifacts("input"),
            )
        )


def test_cached_helpers_report_the_hit_inside_a_trace(tracker: Tracker) -> None:
    Path("raw.txt").write_text("raw")
    flags: list[object] = []
    _traced(tracker, flags)
    _traced(tracker, flags)
    (miss, miss_outputs, miss_one, miss_first, miss_inputs) = flags[0]  # type: ignore[misc]
    assert (miss, miss_outputs, miss_one, miss_first, miss_inputs) == (False, {}, None, None, {})
    hit, outputs, one, first, inputs = flags[1]  # type: ignore[misc]
    assert hit is True
    assert set(outputs) == {"report"} and one is outputs["report"] and first is one
    assert Path(one.path).read_text() == "r"
    assert set(inputs) == {"raw"}


def test_cached_helpers_in_start_run_and_outside_a_run(tracker: Tracker) -> None:
    with tracker.start_run("imperative", "manual"):
        assert tracker.is_cached is False
        assert tracker.cached_artifacts() == {} and tracker.cached_output() is None
        with pytest.raises(InvalidOptionError, match="direction"):
            tracker.cached_artifacts("sideways")
    with pytest.raises(RunStateError, match="cached_artifacts"):
        tracker.cached_artifacts()
    with pytest.raises(RunStateError, match="No active Consist tracker"):
        consist.cached_output()


def test_suspend_and_restore_cache_options(tracker: Tracker) -> None:
    with tracker.trace("step", cache_mode="overwrite"):
        previous = tracker.suspend_cache_options()
        assert previous == ActiveRunCacheOptions(cache_mode=consist.CacheMode.OVERWRITE)
        assert previous.validate_cached_outputs == "lazy" and previous.cache_hydration is None
        assert tracker.suspend_cache_options() == ActiveRunCacheOptions()  # now the defaults
        tracker.restore_cache_options(previous)
        assert tracker.suspend_cache_options() == previous
        with pytest.raises(ConfigError, match="restore_cache_options"):
            tracker.restore_cache_options({"cache_mode": "reuse"})  # type: ignore[arg-type]
        run = tracker.current_run
    # The run's own decision was settled at begin: still an overwrite.
    assert run is not None and run.cache_decision["outcome"] == "overwrite"
    with pytest.raises(RunStateError):
        tracker.suspend_cache_options()


def test_coupler_rules(tracker: Tracker) -> None:
    result = tracker.run(fn=build_table)
    artifact = result.outputs["table"]
    coupler = Coupler({"table": artifact})
    assert coupler["table"] is artifact and coupler.path("table") == artifact.path
    assert coupler.keys() == ["table"] and len(coupler) == 1 and list(coupler) == ["table"]
    assert coupler.get("other") is None and coupler.missing(["table", "other"]) == ["other"]
    with pytest.raises(ConfigError, match="recorded Artifacts"):
        coupler.set("raw", "raw.csv")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="non-empty"):
        coupler.set("", artifact)
    with pytest.raises(ConfigError, match="mapping"):
        coupler.update([("a", artifact)])  # type: ignore[arg-type]
    with pytest.raises(MissingInputError, match="'other'.*'table'"):
        coupler.require("other")
    assert repr(coupler) == "Coupler(['table'])"
