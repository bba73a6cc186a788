"""Query methods, run against both the DuckDB store and the JSON-only store."""

from __future__ import annotations

from pathlib import Path

import pytest

import consist
from consist import ConsistRecord, Run, Tracker


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request: pytest.FixtureRequest) -> Tracker:
    name = "tracker" if request.param == "duckdb" else "json_tracker"
    return request.getfixturevalue(name)


def step(meta=None) -> None:
    if meta:
        consist.log_meta(**meta)


def add_run(tracker: Tracker, run_id: str, **kwargs) -> Run:
    meta = kwargs.pop("meta", None)
    kwargs.setdefault("model", "alpha")
    kwargs.setdefault("config", {"id": run_id})
    return tracker.run(fn=step, run_id=run_id, runtime_kwargs={"meta": meta}, **kwargs).run


@pytest.fixture
def populated(any_tracker: Tracker) -> Tracker:
    add_run(any_tracker, "r1", tags=["a", "b"], year=2020, iteration=1, stage="s1", phase="p1")
    add_run(any_tracker, "r2", tags=["a"], year=2030, iteration=2, stage="s2", phase="p1")
    add_run(any_tracker, "r3", model="beta", tags=["c"], year=2020, parent_run_id="scen")
    add_run(any_tracker, "r4", model="beta", name="named", parent_run_id="scen", meta={"o": "x"})
    return any_tracker


def ids(runs) -> set[str]:
    return {r.id for r in runs}


def test_get_run(populated: Tracker) -> None:
    run = populated.get_run("r1")

    assert isinstance(run, Run)
    assert run.id == "r1" and run.model_name == "alpha" and run.tags == ["a", "b"]
    assert populated.get_run("does-not-exist") is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"r1", "r2", "r3", "r4"}),
        ({"tags": ["a"]}, {"r1", "r2"}),
        ({"tags": ["a", "b"]}, {"r1"}),
        ({"tags": ["a", "c"]}, set()),
        ({"year": 2020}, {"r1", "r3"}),
        ({"iteration": 2}, {"r2"}),
        ({"stage": "s1"}, {"r1"}),
        ({"phase": "p1"}, {"r1", "r2"}),
        ({"model": "beta"}, {"r3", "r4"}),
        ({"status": "completed"}, {"r1", "r2", "r3", "r4"}),
        ({"status": "failed"}, set()),
        ({"parent_id": "scen"}, {"r3", "r4"}),
        ({"name": "named"}, {"r4"}),
        ({"metadata": {"o": "x"}}, {"r4"}),
        ({"metadata": {"o": "y"}}, set()),
        ({"metadata": {"stage": "s2"}}, {"r2"}),
        ({"model": "alpha", "year": 2030}, {"r2"}),
    ],
)
def test_find_runs_filters(populated: Tracker, filters: dict, expected: set[str]) -> None:
    runs = populated.find_runs(**filters)

    assert isinstance(runs, list)
    assert ids(runs) == expected
    assert len(runs) == len(expected)


def test_find_runs_limit_returns_newest_first(populated: Tracker) -> None:
    runs = populated.find_runs(limit=2)

    assert [r.id for r in runs] == ["r4", "r3"]


def test_find_runs_status_failed(any_tracker: Tracker) -> None:
    def broken() -> None:
        raise RuntimeError("nope")

    add_run(any_tracker, "ok")
    with pytest.raises(RuntimeError):
        any_tracker.run(fn=broken, run_id="broken")

    assert ids(any_tracker.find_runs(status="failed")) == {"broken"}
    assert ids(any_tracker.find_runs(status="completed")) == {"ok"}


def test_find_run_requires_exactly_one(populated: Tracker) -> None:
    assert populated.find_run(name="named").id == "r4"
    assert populated.find_run(tags=["b"]).id == "r1"

    with pytest.raises(ValueError):
        populated.find_run(model="nobody")
    with pytest.raises(ValueError):
        populated.find_run(model="alpha")


def test_find_latest_run_prefers_highest_iteration(any_tracker: Tracker) -> None:
    add_run(any_tracker, "it3", iteration=3)
    add_run(any_tracker, "it1", iteration=1)
    add_run(any_tracker, "no-it")

    assert any_tracker.find_latest_run(model="alpha").id == "it3"


def test_find_latest_run_falls_back_to_newest(any_tracker: Tracker) -> None:
    add_run(any_tracker, "old", model="m", year=2020)
    add_run(any_tracker, "new", model="m", year=2020)
    add_run(any_tracker, "other-year", model="m", year=2030)

    assert any_tracker.find_latest_run(model="m", year=2020).id == "new"
    assert any_tracker.find_latest_run(model="m").id == "other-year"
    assert any_tracker.find_latest_run(model="nobody") is None


def test_get_latest_run_id(populated: Tracker) -> None:
    assert populated.get_latest_run_id(model="alpha") == "r2"
    assert populated.get_latest_run_id(tags=["c"]) == "r3"

    with pytest.raises(ValueError):
        populated.get_latest_run_id(model="nobody")


def test_find_matching_run(any_tracker: Tracker) -> None:
    run = add_run(any_tracker, "m1", config={"a": 1})
    add_run(any_tracker, "m2", config={"a": 2})

    found = any_tracker.find_matching_run(run.config_hash, run.input_hash, run.git_hash)

    assert found is not None and found.id == "m1"
    assert any_tracker.find_matching_run("0" * 64, run.input_hash, run.git_hash) is None
    assert any_tracker.find_matching_run(run.config_hash, run.input_hash, "0" * 64) is None


def test_get_run_record(any_tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("a\n1\n")

    def produce(src: Path) -> Path:
        out = consist.output_path("result", ext="txt")
        out.write_text(src.read_text())
        return out

    result = any_tracker.run(
        fn=produce,
        run_id="rec",
        config={"alpha": 0.5},
        inputs={"src": Path("in.csv")},
        outputs=["result"],
    )

    record = any_tracker.get_run_record("rec")
    assert isinstance(record, ConsistRecord)
    assert record.run.id == "rec"
    assert record.run.status == "completed"
    assert record.config == {"alpha": 0.5}
    assert set(record.inputs_by_key()) == {"src"}
    assert record.inputs_by_key()["src"].path == tmp_path / "in.csv"
    assert record.outputs_by_key()["result"].path == result.outputs["result"].path
    assert record.identity["signature"] == result.run.signature

    assert any_tracker.get_run_record("missing", allow_missing=True) is None
    with pytest.raises(ValueError):
        any_tracker.get_run_record("missing")


def test_records_survive_a_new_tracker_on_the_same_directories(
    any_tracker: Tracker, tmp_path: Path
) -> None:
    calls = []

    def persisted() -> None:
        calls.append(1)

    first = any_tracker.run(fn=persisted, run_id="p1", config={"a": 1})
    any_tracker.close()

    with Tracker(
        run_dir=any_tracker.run_dir,
        db_path=any_tracker.db_path,
        code_identity="callable_module",
    ) as reopened:
        assert ids(reopened.find_runs()) == {"p1"}
        hit = reopened.run(fn=persisted, run_id="p2", config={"a": 1})
        assert hit.cache_hit and hit.run.reused_run_id == first.run.id
        assert ids(reopened.find_runs()) == {"p1", "p2"}
    assert calls == [1]


@pytest.mark.parametrize("any_tracker", ["duckdb", "json"], indirect=True)
def test_metadata_filter_with_non_ascii_string(any_tracker: Tracker) -> None:
    add_run(any_tracker, "zurich", meta={"city": "Zürich"})

    assert ids(any_tracker.find_runs(metadata={"city": "Zürich"})) == {"zurich"}


@pytest.mark.parametrize("any_tracker", ["duckdb", "json"], indirect=True)
def test_metadata_filter_with_nested_dict_in_other_key_order(any_tracker: Tracker) -> None:
    add_run(any_tracker, "nested", meta={"grid": {"x": 1, "y": 2}})

    assert ids(any_tracker.find_runs(metadata={"grid": {"x": 1, "y": 2}})) == {"nested"}
    assert ids(any_tracker.find_runs(metadata={"grid": {"y": 2, "x": 1}})) == {"nested"}


@pytest.mark.parametrize("any_tracker", ["duckdb", "json"], indirect=True)
def test_metadata_filter_distinguishes_bool_from_int(any_tracker: Tracker) -> None:
    add_run(any_tracker, "as-bool", meta={"flag": True})
    add_run(any_tracker, "as-int", meta={"flag": 1})

    assert ids(any_tracker.find_runs(metadata={"flag": True})) == {"as-bool"}
    assert ids(any_tracker.find_runs(metadata={"flag": 1})) == {"as-int"}


@pytest.mark.parametrize("any_tracker", ["duckdb", "json"], indirect=True)
def test_metadata_filter_integral_float_equals_int(any_tracker: Tracker) -> None:
    add_run(any_tracker, "float-score", meta={"score": 1.0})

    assert ids(any_tracker.find_runs(metadata={"score": 1})) == {"float-score"}
