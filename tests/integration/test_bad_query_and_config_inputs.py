"""Bad input to run and query calls is refused at the call, naming the parameter."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from consist import Tracker
from consist.errors import ConfigError, InvalidOptionError, UnknownKeywordError


def step(config: dict[str, Any] | None = None) -> None:
    """A step."""


@pytest.mark.parametrize("config", ["a=1", ["a", 1], 42, 3.5, b"raw", {1, 2}])
def test_config_must_be_a_mapping_or_a_model(tracker: Tracker, config: object) -> None:
    with pytest.raises(ConfigError) as caught:
        tracker.run(fn=step, config=config)
    assert caught.value.context["parameter"] == "config"
    assert tracker.current_run is None
    assert not list((tracker.run_dir / "consist_runs").glob("*.json"))
    with pytest.raises(ConfigError):
        tracker.begin_run("r", "m", config=config)
    assert tracker.current_run is None


def test_nan_and_inf_config_values_are_stable_and_distinct(tracker: Tracker) -> None:
    first = tracker.run(fn=step, config={"x": math.nan, "y": math.inf})
    again = tracker.run(fn=step, config={"x": float("nan"), "y": float("inf")})
    other = tracker.run(fn=step, config={"x": math.nan, "y": -math.inf})
    assert again.cache_hit and again.run.signature == first.run.signature
    assert not other.cache_hit and other.run.signature != first.run.signature


@pytest.mark.parametrize(
    ("filters", "parameter"),
    [
        ({"tags": "x"}, "tags"),
        ({"tags": ["ok", 3]}, "tags"),
        ({"limit": "ten"}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": True}, "limit"),
        ({"year": "twenty"}, "year"),
        ({"iteration": 1.5}, "iteration"),
        ({"model": 5}, "model"),
        ({"stage": ["a"]}, "stage"),
        ({"parent_id": 7}, "parent_id"),
        ({"metadata": [("a", 1)]}, "metadata"),
        ({"metadata": {1: "a"}}, "metadata"),
        ({"index_by": "no_such_field"}, "index_by"),
        ({"index_by": "_private"}, "index_by"),
    ],
)
def test_find_runs_checks_every_filter(
    tracker: Tracker, filters: dict[str, Any], parameter: str
) -> None:
    tracker.run(fn=step)
    with pytest.raises(ConfigError) as caught:
        tracker.find_runs(**filters)
    assert caught.value.context["parameter"] == parameter


def test_status_filter_lists_the_allowed_values(tracker: Tracker) -> None:
    with pytest.raises(InvalidOptionError, match="'completed'"):
        tracker.find_runs(status="done")
    with pytest.raises(InvalidOptionError):
        tracker.find_latest_run(status="done")


@pytest.mark.parametrize(
    ("filters", "parameter"),
    [({"tags": "x"}, "tags"), ({"year": "2030"}, "year"), ({"limit": "1"}, "limit")],
)
def test_find_latest_run_checks_its_filters(
    tracker: Tracker, filters: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        tracker.find_latest_run(**filters)
    assert caught.value.context["parameter"] == parameter


def test_a_misspelt_query_keyword_suggests_the_right_one(tracker: Tracker) -> None:
    with pytest.raises(UnknownKeywordError, match="Did you mean 'parent_id'"):
        tracker.find_runs(parent_run_id="x")
    with pytest.raises(UnknownKeywordError, match="Did you mean 'model'"):
        tracker.find_run(modle="x")


def test_filter_values_are_matched_literally(tracker: Tracker) -> None:
    tracker.run(fn=step, name="a_b", tags=["50%", "it's"])
    tracker.run(fn=step, name="axb", tags=["50x"])
    assert [r.name for r in tracker.find_runs(tags=["50%"])] == ["a_b"]
    assert [r.name for r in tracker.find_runs(tags=["it's"])] == ["a_b"]
    assert [r.name for r in tracker.find_runs(name="a_b")] == ["a_b"]
    assert tracker.find_runs(tags=["5_%"]) == []


def test_refused_calls_leave_the_tracker_usable(tracker: Tracker, tmp_path: Path) -> None:
    for bad in ({"config": "x"}, {"tags": "x"}, {"year": "y"}, {"modle": "m"}):
        with pytest.raises(ConfigError):
            tracker.run(fn=step, **bad)
        assert tracker.current_run is None
    assert tracker.run(fn=step).run.status == "completed"


def test_a_huge_config_value_is_refused_before_anything_is_written(tracker: Tracker) -> None:
    huge = "x" * (9 << 20)  # beyond the 8 MiB default
    with pytest.raises(ConfigError) as caught:
        tracker.run(fn=step, config={"blob": huge})
    assert caught.value.context["parameter"] == "config"
    assert "CONSIST_MAX_CONFIG_BYTES" in str(caught.value)
    assert tracker.current_run is None
    assert not list((tracker.run_dir / "consist_runs").glob("*.json"))
    # The store keeps working for everyone else.
    tracker.run(fn=step, config={"small": 1})
    assert len(tracker.find_runs()) == 1


def test_huge_metadata_is_refused(tracker: Tracker, tmp_path: Path) -> None:
    huge = "m" * (2 << 20)
    with pytest.raises(ConfigError, match="CONSIST_MAX_META_BYTES"):
        tracker.begin_run("r", "m", note=huge)
    assert tracker.current_run is None
    data = tmp_path / "d.txt"
    data.write_text("d\n")
    with tracker.start_run("r2", "m"):
        with pytest.raises(ConfigError, match="log_meta"):
            tracker.log_meta(note=huge)
        with pytest.raises(ConfigError, match="meta"):
            tracker.log_artifact(data, key="d", note=huge)
        tracker.log_meta(fine=True)
    record = tracker.get_run_record("r2")
    assert record.run.meta.get("fine") is True and "note" not in record.run.meta
    assert record.outputs == []


def test_a_large_record_within_the_limits_reaches_the_store(tracker: Tracker) -> None:
    # ~7 MiB of config: under Consist's limit, so it must sync despite DuckDB's
    # 16 MB default JSON object size (multi-byte characters count four times there).
    big = "é" * (3 << 20)
    result = tracker.run(fn=step, config={"text": big})
    runs = tracker.find_runs()
    assert [r.id for r in runs] == [result.run.id]
