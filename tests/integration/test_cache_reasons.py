"""Why did a step re-run? Each identity component is named, on DuckDB and JSON-only trackers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import consist
from consist import CacheDecision, CacheOptions, CacheOutcome, QueryError, RunResult, Tracker
from consist.model.decision import IdentityComponent as C

STEP_SOURCE = """
import consist

def step(factor=1):
    out = consist.output_path("table", ext="txt")
    out.write_text("{body}")
    return out
"""


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request: pytest.FixtureRequest) -> Tracker:
    name = "tracker" if request.param == "duckdb" else "json_tracker"
    tracker: Tracker = request.getfixturevalue(name)
    return tracker


def step() -> Path:
    out = consist.output_path("table", ext="txt")
    out.write_text("rows")
    return out


def run(tracker: Tracker, **kwargs: Any) -> RunResult:
    return tracker.run(fn=kwargs.pop("fn", step), outputs=["table"], **kwargs)


def reason(result: RunResult) -> CacheDecision:
    decision = result.cache_reason
    assert decision is not None
    return decision


def miss_against(result: RunResult, earlier: RunResult) -> CacheDecision:
    decision = reason(result)
    assert not result.cache_hit
    assert decision.outcome is CacheOutcome.MISS
    assert decision.compared_run_id == earlier.run.id
    assert earlier.run.id in decision.summary
    return decision


# --- outcomes ------------------------------------------------------------------------------


def test_first_run_of_a_step(any_tracker: Tracker) -> None:
    decision = reason(run(any_tracker))
    assert decision.outcome is CacheOutcome.MISS and decision.first_run
    assert decision.summary.startswith("miss: first run of this step")


def test_hit_names_the_reused_run(any_tracker: Tracker) -> None:
    first = run(any_tracker, config={"a": 1})
    again = run(any_tracker, config={"a": 1})
    decision = reason(again)
    assert again.cache_hit and decision.hit
    assert decision.matched_run_id == first.run.id == again.run.reused_run_id
    assert first.run.id in decision.summary


def test_overwrite(any_tracker: Tracker) -> None:
    run(any_tracker)
    result = run(any_tracker, cache_options=CacheOptions(cache_mode="overwrite"))
    decision = reason(result)
    assert not result.cache_hit
    assert decision.outcome is CacheOutcome.OVERWRITE
    assert "overwrite" in decision.summary


def test_deleted_output_demotes_the_hit(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    path = first.outputs["table"].path
    path.unlink()
    again = run(any_tracker)
    decision = reason(again)
    assert not again.cache_hit
    assert decision.outcome is CacheOutcome.DEMOTED
    assert decision.matched_run_id == first.run.id
    assert decision.missing_key == "table"
    assert decision.missing_path == str(path)
    assert f"'table' is missing at {path}" in decision.summary
    # The re-run replaced the cache entry: the next call hits it.
    assert reason(run(any_tracker)).matched_run_id == again.run.id


def test_readonly_miss_still_explains(any_tracker: Tracker) -> None:
    first = run(any_tracker, config={"a": 1})
    result = run(any_tracker, config={"a": 2}, cache_options=CacheOptions(cache_mode="readonly"))
    assert miss_against(result, first).components == (C.CONFIG,)


# --- which component -----------------------------------------------------------------------


def test_config_key_change_names_the_dotted_key(any_tracker: Tracker) -> None:
    first = run(any_tracker, config={"scenario": {"growth": 1.5, "name": "base"}})
    second = run(any_tracker, config={"scenario": {"growth": 2.0, "name": "base"}})
    decision = miss_against(second, first)
    assert decision.components == (C.CONFIG,)
    change = decision.change(C.CONFIG)
    assert change is not None and change.changed == ("scenario.growth",)
    assert "scenario.growth" in decision.summary


def test_added_and_removed_config_keys(any_tracker: Tracker) -> None:
    first = run(any_tracker, config={"keep": 1, "old": 1})
    second = run(any_tracker, config={"keep": 1, "new": {"x": 1}})
    change = miss_against(second, first).change(C.CONFIG)
    assert change is not None
    assert (change.added, change.removed, change.changed) == (("new",), ("old",), ())


def test_code_change_with_callable_module_identity(
    any_tracker: Tracker, write_module: Callable[[str, str], ModuleType]
) -> None:
    before = write_module("steps/model.py", STEP_SOURCE.format(body="v1"))
    first = run(any_tracker, fn=before.step)
    after = write_module("steps/model.py", STEP_SOURCE.format(body="v2 - edited"))
    second = run(any_tracker, fn=after.step)
    decision = miss_against(second, first)
    assert decision.components == (C.CODE,)
    assert "code changed" in decision.summary


def test_changed_input_is_named(any_tracker: Tracker, tmp_path: Path) -> None:
    households, zones = tmp_path / "households.csv", tmp_path / "zones.csv"
    households.write_text("id\n1\n")
    zones.write_text("zone\n7\n")
    inputs = {"households": households, "zones": zones}
    first = run(any_tracker, inputs=inputs)
    households.write_text("id\n1\n2\n")
    second = run(any_tracker, inputs=inputs)
    decision = miss_against(second, first)
    assert decision.components == (C.INPUTS,)
    change = decision.change(C.INPUTS)
    assert change is not None and change.changed == ("households",)
    assert "households" in decision.summary and "zones" not in decision.summary


def test_identity_inputs_and_depends_on_are_named(any_tracker: Tracker, tmp_path: Path) -> None:
    weights, lookup = tmp_path / "weights.bin", tmp_path / "lookup.csv"
    weights.write_text("w1")
    lookup.write_text("k,v\n")
    first = run(any_tracker, identity_inputs={"weights": weights})
    weights.write_text("w2")
    second = run(any_tracker, identity_inputs={"weights": weights}, depends_on={"lookup": lookup})
    decision = miss_against(second, first)
    assert decision.components == (C.DEPENDS_ON, C.IDENTITY_INPUTS)
    depends, identity = decision.changes
    assert depends.added == ("lookup",)
    assert identity.changed == ("weights",)


def test_upstream_rerun_is_named_as_the_input(any_tracker: Tracker) -> None:
    def upstream(level: int = 0) -> Path:
        out = consist.output_path("skims", ext="txt")
        out.write_text("same bytes")
        return out

    first_up = any_tracker.run(fn=upstream, config={"level": 1}, outputs=["skims"])
    first = run(any_tracker, inputs={"skims": first_up.outputs["skims"]})
    second_up = any_tracker.run(fn=upstream, config={"level": 2}, outputs=["skims"])
    second = run(any_tracker, inputs={"skims": second_up.outputs["skims"]})
    change = miss_against(second, first).change(C.INPUTS)
    assert change is not None and change.changed == ("skims",)
    assert "different upstream run" in change.detail


def test_year_change_falls_back_to_the_latest_run_of_the_step(any_tracker: Tracker) -> None:
    y2020 = run(any_tracker, year=2020, config={"a": 1})
    y2030 = run(any_tracker, year=2030, config={"a": 1})
    decision = miss_against(y2030, y2020)
    assert decision.components == (C.YEAR,)
    assert decision.change(C.YEAR) is not None
    assert (decision.changes[0].before, decision.changes[0].after) == (2020, 2030)
    # A re-run of 2020 is compared with the 2020 run, not with the later 2030 one.
    again = run(any_tracker, year=2020, config={"a": 2})
    assert miss_against(again, y2020).components == (C.CONFIG,)


def test_iteration_change(any_tracker: Tracker) -> None:
    first = run(any_tracker, iteration=0)
    second = run(any_tracker, iteration=1)
    decision = miss_against(second, first)
    assert decision.components == (C.ITERATION,)
    assert "iteration 0 -> 1" in decision.summary


@pytest.mark.parametrize(("field", "component"), [("cache_version", C.CACHE_VERSION),
                                                 ("cache_epoch", C.CACHE_EPOCH)])  # fmt: skip
def test_cache_version_and_epoch_bumps(any_tracker: Tracker, field: str, component: C) -> None:
    first = run(any_tracker, cache_options=CacheOptions(**{field: 1}))
    second = run(any_tracker, cache_options=CacheOptions(**{field: 2}))
    decision = miss_against(second, first)
    assert decision.components == (component,)
    assert f"{field} 1 -> 2" in decision.summary


def test_other_steps_are_not_compared(any_tracker: Tracker) -> None:
    run(any_tracker, name="one")
    assert reason(run(any_tracker, name="two")).first_run


# --- stored, queryable, explainable --------------------------------------------------------


def test_explain_reads_the_decision_from_the_snapshot(any_tracker: Tracker) -> None:
    first = run(any_tracker, config={"a": 1})
    second = run(any_tracker, config={"a": 2})
    third = run(any_tracker, config={"a": 2})
    for result in (first, second, third):
        assert any_tracker.explain(result.run.id) == result.cache_reason
    record = any_tracker.get_run_record(second.run.id)
    assert record is not None and record.run.cache_decision == second.run.cache_decision
    assert "cache_miss_reason" not in record.run.meta


def test_explain_unknown_run_names_it(any_tracker: Tracker) -> None:
    with pytest.raises(QueryError, match="no-such-run"):
        any_tracker.explain("no-such-run")


def test_decision_is_queryable_from_the_store(any_tracker: Tracker) -> None:
    first = run(any_tracker, config={"a": 1})
    second = run(any_tracker, config={"a": 2})
    runs = any_tracker.find_runs(index_by="id")
    assert isinstance(runs, dict)
    assert runs[second.run.id].cache_decision == second.run.cache_decision
    assert runs[first.run.id].cache_decision == first.run.cache_decision


def test_decision_is_a_json_column_in_duckdb(tracker: Tracker) -> None:
    import sqlalchemy

    run(tracker, config={"scenario": {"growth": 1}})
    second = run(tracker, config={"scenario": {"growth": 2}})
    with tracker.engine.connect() as conn:
        row = conn.execute(
            sqlalchemy.text(
                "SELECT cache_decision->>'outcome', cache_decision->'changes'->0->>'component', "
                "cache_decision->'changes'->0->'changed'->>0 FROM runs WHERE id = :id"
            ),
            {"id": second.run.id},
        ).one()
    assert tuple(row) == ("miss", "config", "scenario.growth")


def test_a_new_tracker_explains_against_runs_of_an_earlier_one(tmp_path: Path) -> None:
    def make() -> Tracker:
        return Tracker(run_dir=tmp_path / "runs", db_path=None, code_identity="callable_module")

    with make() as writer:
        first = run(writer, year=2020, config={"a": 1})
        run(writer, year=2030, config={"a": 1})
    with make() as reader:
        again = run(reader, year=2020, config={"a": 2})
        assert miss_against(again, first).components == (C.CONFIG,)
        assert reader.explain(again.run.id) == again.cache_reason
        assert reason(run(reader, year=2040, config={"a": 2})).compared_run_id == again.run.id


def test_trace_records_a_decision_and_is_cached_is_unchanged(any_tracker: Tracker) -> None:
    seen = []
    for _ in range(2):
        with any_tracker.trace("inline", config={"k": 1}):
            seen.append(any_tracker.is_cached)
    assert seen == [False, True]
    latest = any_tracker.last_run
    assert latest is not None
    decision = any_tracker.explain(latest.run.id)
    assert decision.hit and decision.matched_run_id is not None
