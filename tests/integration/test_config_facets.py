"""Config facets through the Tracker: recording, querying, errors, rebuild, run_query."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import column, select, table, text

import consist
from consist import ConfigError, Tracker
from consist.errors import NoDatabaseError, QueryError


def step() -> None:
    pass


def run(tracker: Tracker, name: str, **kwargs):
    kwargs.setdefault("model", "sim")
    return tracker.run(fn=step, name=name, **kwargs).run


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request, tracker: Tracker, json_tracker: Tracker) -> Tracker:
    return tracker if request.param == "duckdb" else json_tracker


def test_facet_and_facet_from_are_flattened_and_queryable(any_tracker: Tracker) -> None:
    config = {"sample_rate": 0.1, "zones": {"n": 3, "file.name": "z.csv"}, "seed": 7}
    r = run(
        any_tracker,
        "a",
        config=config,
        facet={"rmse": 0.5, "seed": 8},
        facet_from=["zones", "seed"],
    )
    assert any_tracker.get_config_values(r.id) == {
        "rmse": 0.5,
        "seed": 8,  # the explicit facet wins over the copied config key
        "zones.file\\.name": "z.csv",
        "zones.n": 3,
    }
    assert any_tracker.get_config_values(r.id, prefix="zones.") == {
        "zones.file\\.name": "z.csv",
        "zones.n": 3,
    }
    assert any_tracker.get_config_values(r.id, keys=["rmse", "missing"]) == {"rmse": 0.5}
    assert any_tracker.get_config_value(r.id, "zones.n") == 3
    assert any_tracker.get_config_value(r.id, "nope", default="d") == "d"
    assert any_tracker.get_config_values(r.id, namespace="other") == {}
    rows = any_tracker.get_run_config_kv(r.id)
    assert [row.key for row in rows] == sorted(row.key for row in rows)
    assert {row.namespace for row in rows} == {"sim"}
    record = any_tracker.get_run_record(r.id)
    assert record is not None and record.facet is not None
    assert record.facet.payload["zones"] == {"n": 3, "file.name": "z.csv"}


def test_a_facet_is_not_part_of_the_identity(any_tracker: Tracker) -> None:
    first = any_tracker.run(fn=step, name="s", config={"k": 1}, facet={"tag": "one"})
    second = any_tracker.run(fn=step, name="s", config={"k": 1}, facet={"tag": "two"})
    assert second.cache_hit and second.run.signature == first.run.signature
    assert any_tracker.get_config_value(first.run.id, "tag") == "one"
    assert any_tracker.get_config_value(second.run.id, "tag") == "two"


def test_runs_without_facets_have_none(any_tracker: Tracker) -> None:
    r = run(any_tracker, "plain", config={"k": 1})
    assert any_tracker.get_run_config_kv(r.id) == []
    assert any_tracker.get_config_facets() == []
    snapshot = json.loads((any_tracker.run_dir / "consist_runs" / f"{r.id}.json").read_text())
    assert "facet" not in snapshot  # the record's shape is unchanged without a facet


def test_facet_index_false_persists_without_rows(any_tracker: Tracker) -> None:
    r = run(any_tracker, "quiet", facet={"k": 1}, facet_index=False, facet_schema_version="v2")
    assert any_tracker.get_run_config_kv(r.id) == []
    [facet] = any_tracker.get_config_facets(namespace="sim")
    assert facet.payload == {"k": 1} and facet.index is False and facet.schema_version == "v2"
    assert any_tracker.get_config_facet(facet.id) == facet
    assert any_tracker.get_config_facet("no-such-id") is None


def test_pydantic_facets_record_their_schema_name(any_tracker: Tracker) -> None:
    pydantic = pytest.importorskip("pydantic")

    class Knobs(pydantic.BaseModel):
        alpha: float = 0.5
        mode: str = "car"

    r = run(any_tracker, "p", facet=Knobs(), facet_schema_version=3)
    [facet] = any_tracker.get_config_facets(schema_name="Knobs")
    assert facet.schema_version == 3 and facet.payload == {"alpha": 0.5, "mode": "car"}
    assert any_tracker.get_config_values(r.id) == {"alpha": 0.5, "mode": "car"}
    assert any_tracker.get_config_facets(schema_name="Other") == []


def test_begin_run_and_trace_take_facets(any_tracker: Tracker) -> None:
    any_tracker.begin_run("imperative", "sim", config={"a": 1}, facet_from=["a"])
    any_tracker.end_run()
    with any_tracker.trace("traced", model="sim", facet={"b": True}):
        pass
    traced = any_tracker.find_runs(name="traced")[0]
    assert any_tracker.get_config_values("imperative") == {"a": 1}
    assert any_tracker.get_config_values(traced.id) == {"b": True}


def test_find_runs_by_facet_kv_and_index_by_facet(any_tracker: Tracker) -> None:
    ids = [
        run(any_tracker, f"r{i}", config={"i": i}, facet={"year": year, "label": label}).id
        for i, (year, label) in enumerate([(2030, "a%"), (2040.0, "b_"), (2040, "it's")])
    ]
    found = any_tracker.find_runs_by_facet_kv(namespace="sim", key="year", value_num=2040)
    assert [r.id for r in found] == [ids[2], ids[1]]
    found = any_tracker.find_runs_by_facet_kv(namespace="sim", key="label", value_str="it's")
    assert [r.id for r in found] == [ids[2]]
    assert any_tracker.find_runs_by_facet_kv(namespace="sim", key="label", value_str="%") == []
    indexed = any_tracker.find_runs(index_by="facet.label")
    assert {key: r.id for key, r in indexed.items()} == {"a%": ids[0], "b_": ids[1], "it's": ids[2]}
    plain = run(any_tracker, "plain", config={"i": 9})
    assert any_tracker.find_runs(index_by="facet.label")[None].id == plain.id


def test_diff_runs(any_tracker: Tracker) -> None:
    a = run(any_tracker, "a", config={"i": 1}, facet={"x": 1, "y": {"z": "p"}, "gone": True})
    b = run(any_tracker, "b", config={"i": 2}, facet={"x": 2, "y": {"z": "p"}, "new": [1]})
    diff = any_tracker.diff_runs(a.id, b.id)
    assert diff["changed"] == {"x": (1, 2)}
    assert diff["added"] == {"new": [1]} and diff["removed"] == {"gone": True}
    assert "equal" not in diff and diff["run_id_a"] == a.id and diff["run_id_b"] == b.id
    assert any_tracker.diff_runs(a.id, b.id, include_equal=True)["equal"] == {"y.z": "p"}
    only_y = any_tracker.diff_runs(a.id, b.id, prefix="y.", include_equal=True)
    assert only_y == {**only_y, "changed": {}, "added": {}, "removed": {}, "equal": {"y.z": "p"}}
    assert any_tracker.diff_runs(a.id, b.id, keys=["x"])["changed"] == {"x": (1, 2)}


def test_bool_and_number_never_compare_equal_in_diff(any_tracker: Tracker) -> None:
    a = run(any_tracker, "a", config={"i": 1}, facet={"f": True, "n": 1})
    b = run(any_tracker, "b", config={"i": 2}, facet={"f": 1, "n": 1.0})
    assert any_tracker.diff_runs(a.id, b.id)["changed"] == {"f": (True, 1)}


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"facet": ["not", "a", "dict"]}, "facet"),
        ({"facet": {1: "int key"}}, "facet"),
        ({"facet": {"": 1}}, "facet"),
        ({"facet": {"obj": object()}}, "facet"),
        ({"facet": {"a": 1}, "facet_index": "yes"}, "facet_index"),
        ({"facet": {"a": 1}, "facet_schema_version": 1.5}, "facet_schema_version"),
        ({"facet": {"a": 1}, "facet_schema_version": True}, "facet_schema_version"),
        ({"facet_from": "sample_rate"}, "facet_from"),
        ({"facet_from": ["missing"]}, "facet_from"),
        ({"facet_from": [3]}, "facet_from"),
        ({"facet": {"big": "x" * 2_000_000}}, "facet"),
    ],
)
def test_malformed_facets_are_refused(tracker: Tracker, kwargs: dict, parameter: str) -> None:
    with pytest.raises(ConfigError) as info:
        tracker.run(fn=step, name="bad", config={"sample_rate": 0.1}, **kwargs)
    assert info.value.context["parameter"] == parameter
    assert tracker.find_runs() == []  # nothing was recorded


def test_facet_from_without_config_is_refused(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="no config"):
        tracker.run(fn=step, name="bad", facet_from=["a"])


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda t: t.get_config_values(3), "run_id"),
        (lambda t: t.get_config_values("r", keys="a"), "keys"),
        (lambda t: t.get_config_values("r", limit=-1), "limit"),
        (lambda t: t.get_run_config_kv("r", prefix=1), "prefix"),
        (lambda t: t.get_config_value("r", ""), "key"),
        (lambda t: t.find_runs_by_facet_kv(namespace="m", key="k", value_num="1"), "value_num"),
        (lambda t: t.find_runs_by_facet_kv(namespace="m", key="k", value_num=True), "value_num"),
        (lambda t: t.find_runs_by_facet_kv(namespace="m", key="k", value_bool=1), "value_bool"),
        (lambda t: t.find_runs_by_facet_kv(namespace="m", key="k", value_type="x"), "value_type"),
        (lambda t: t.find_runs_by_facet_kv(namespace=None, key="k"), "namespace"),
        (lambda t: t.get_config_facets(limit="3"), "limit"),
        (lambda t: t.get_config_facet(None), "facet_id"),
        (lambda t: t.find_runs(index_by="facet."), "index_by"),
    ],
)
def test_bad_query_arguments_name_the_parameter(tracker: Tracker, call, parameter: str) -> None:
    with pytest.raises(ConfigError) as info:
        call(tracker)
    assert info.value.context["parameter"] == parameter


def test_unknown_keywords_are_refused(tracker: Tracker) -> None:
    with pytest.raises(TypeError, match="prefix"):
        tracker.get_config_values("r", prefx="a")


def test_rebuild_restores_run_config_kv(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "db.duckdb"
    with Tracker(run_dir="runs", db_path=db, code_identity="callable_module") as first:
        r = run(first, "a", facet={"rmse": 0.5, "n": {"k": "v"}})
        before = first.get_run_config_kv(r.id)
    db.unlink()
    with Tracker(run_dir="runs", db_path=db, code_identity="callable_module") as again:
        assert again.get_run_config_kv(r.id) == before
        rows = again.run_query(text("SELECT count(*) FROM global_tables.run_config_kv"))
        assert rows[0][0] == 2


def test_numpy_scalars_are_plain_numbers(any_tracker: Tracker) -> None:
    config = {"n": np.int64(3), "x": np.float32(0.1), "ok": np.bool_(True)}
    r = any_tracker.run(
        fn=step,
        name="np",
        config=config,
        facet={"n": np.int64(3), "x": np.float32(0.1), "ok": np.bool_(True), "v": np.arange(2)},
    ).run
    assert any_tracker.get_config_values(r.id) == {"n": 3, "ok": True, "v": [0, 1], "x": 0.1}
    values = any_tracker.get_config_values(r.id)
    assert type(values["n"]) is int and type(values["ok"]) is bool
    with any_tracker.trace("meta", model="sim"):
        consist.log_meta(count=np.int64(5), flag=np.bool_(False), share=np.float64(0.25))
    traced = any_tracker.find_runs(name="meta")[0]
    assert traced.meta["count"] == 5 and type(traced.meta["count"]) is int
    assert traced.meta["flag"] is False and traced.meta["share"] == 0.25
    record = any_tracker.get_run_record(r.id)
    assert record is not None
    assert record.config["n"] == 3 and record.config["ok"] is True
    text_snapshot = (any_tracker.run_dir / "consist_runs" / f"{traced.id}.json").read_text()
    assert "np." not in text_snapshot and "numpy" not in text_snapshot


def test_numpy_metadata_filters_match_plain_numbers(tracker: Tracker) -> None:
    with tracker.trace("meta", model="sim"):
        consist.log_meta(count=np.int64(5))
    assert len(tracker.find_runs(metadata={"count": 5})) == 1


# --- run_query --------------------------------------------------------------------------


def test_run_query_the_guides_sql(tracker: Tracker) -> None:
    for i, rmse in enumerate([0.3, 0.1, 0.2]):
        run(tracker, f"r{i}", config={"i": i}, facet={"rmse": rmse})
    query = text(
        "SELECT run_id, value_num FROM global_tables.run_config_kv "
        "WHERE key = :metric ORDER BY value_num DESC LIMIT :k"
    )
    rows = tracker.run_query(query.params(metric="rmse", k=2))
    assert [row.value_num for row in rows] == [0.3, 0.2]
    assert all(row.run_id.startswith("r") for row in rows)
    assert tracker.run_query(query.params(metric="x' OR '1'='1", k=5)) == []


def test_run_query_core_select_and_helper(tracker: Tracker) -> None:
    r = run(tracker, "a", facet={"k": "v"})
    kv = table("run_config_kv", column("run_id"), column("value_str"), schema="global_tables")
    rows = tracker.run_query(select(kv.c.run_id, kv.c.value_str))
    assert [tuple(row) for row in rows] == [(r.id, "v")]
    with consist.use_tracker(tracker):
        assert consist.run_query(text("SELECT id FROM runs"))[0][0] == r.id


def test_run_query_does_not_change_the_store(tracker: Tracker) -> None:
    run(tracker, "a")
    tracker.run_query(text("DELETE FROM runs"))  # rolled back, never committed
    assert len(tracker.find_runs()) == 1


def test_run_query_refuses_a_string(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="text"):
        tracker.run_query("SELECT 1")


def test_run_query_without_a_database(json_tracker: Tracker) -> None:
    with pytest.raises(NoDatabaseError, match="db_path") as info:
        json_tracker.run_query(text("SELECT 1"))
    assert isinstance(info.value, RuntimeError)


def test_run_query_on_a_reader_before_any_database(tmp_path: Path) -> None:
    reader = Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb", access_mode="read")
    with pytest.raises(NoDatabaseError):
        reader.run_query(text("SELECT 1"))
    assert not (tmp_path / "db.duckdb").exists()


def test_a_reader_sees_facets_synced_by_the_writer(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "db.duckdb"
    with Tracker(run_dir="runs", db_path=db, code_identity="callable_module") as writer:
        r = run(writer, "a", facet={"k": 1})
    reader = Tracker(run_dir="runs", db_path=db, access_mode="read")
    assert reader.get_config_values(r.id) == {"k": 1}
    rows = reader.run_query(text("SELECT key FROM global_tables.run_config_kv"))
    assert [row.key for row in rows] == ["k"]


def test_query_errors_are_query_errors() -> None:
    assert issubclass(NoDatabaseError, consist.StoreError)
    assert not issubclass(NoDatabaseError, QueryError)


# --- artifact facets --------------------------------------------------------------------


def test_artifact_facets_are_persisted_and_indexed(tracker: Tracker, tmp_path: Path) -> None:
    data = tmp_path / "table.csv"
    data.write_text("a\n1\n")
    other = tmp_path / "other.csv"
    other.write_text("b\n2\n")
    with tracker.trace("produce", model="sim"):
        art = tracker.log_output(
            data, "table", facet={"rows": np.int64(1), "kind": "csv"}, facet_index=True
        )
        quiet = tracker.log_artifact(other, "other", facet={"rows": 1})  # facet_index=False
        tracker.log_artifacts(
            {"x": data, "y": other},
            facets_by_key={"x": {"part": "x"}},
            facet_schema_versions_by_key={"x": 2},
            facet_index=True,
        )
    assert art.meta["facet_id"] and quiet.meta["facet_id"]
    facet = tracker.get_config_facet(art.meta["facet_id"])
    assert facet is not None and facet.payload == {"rows": 1, "kind": "csv"}
    assert facet.namespace == "sim"
    rows = tracker.run_query(
        text(
            "SELECT artifact_id, key, value_type, value_num, value_str "
            "FROM global_tables.artifact_kv ORDER BY artifact_id, key"
        )
    )
    by_artifact: dict[str, list[tuple]] = {}
    for row in rows:
        by_artifact.setdefault(row.artifact_id, []).append(tuple(row)[1:])
    assert by_artifact[art.id] == [("kind", "str", None, "csv"), ("rows", "int", 1.0, None)]
    assert quiet.id not in by_artifact  # facet_index=False: persisted, not flattened
    record = tracker.last_run
    assert record is not None and set(record.artifact_facets) >= {art.id, quiet.id}
    assert len(by_artifact) == 2  # table and x; y had no facet


def test_bad_artifact_facets_log_nothing(tracker: Tracker, tmp_path: Path) -> None:
    data = tmp_path / "table.csv"
    data.write_text("a\n1\n")
    with tracker.trace("produce", model="sim"):
        with pytest.raises(ConfigError) as info:
            tracker.log_output(data, "table", facet="rows=3")
        assert info.value.context["parameter"] == "facet"
        with pytest.raises(ConfigError) as info:
            tracker.log_output(data, "table", facet={"a": 1}, facet_index="yes")
        assert info.value.context["parameter"] == "facet_index"
        with pytest.raises(ConfigError) as info:
            tracker.log_artifacts({"t": data}, facets_by_key={"u": {"a": 1}})
        assert info.value.context["parameter"] == "facets_by_key"
        assert tracker.current_run is not None
    record = tracker.last_run
    assert record is not None and record.outputs == [] and record.artifact_facets == {}
