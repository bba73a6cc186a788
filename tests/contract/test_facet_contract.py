"""One facet contract (store/facets.py) for MemoryStore, DuckDBStore and PostgresStore.

Records with facets are built directly (no Tracker): a failure here is a store bug.
Every test runs on every store with the same data and expects the same answer.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from consist.fs.layout import RunLayout
from consist.model.facet import ConfigFacet, facet_id, json_text
from consist.model.run import ConsistRecord, Run
from consist.store.duckdb.store import DuckDBStore
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery, FacetStore
from consist.store.memory import MemoryStore

KINDS = ["memory", "duckdb", "postgres"]


def make_store(kind: str, tmp_path: Path, request=None):
    if kind == "memory":
        return MemoryStore()
    layout = RunLayout(tmp_path / "runs")
    layout.ensure()
    if kind == "postgres":
        from consist.store.postgres.store import PostgresStore

        url = request.getfixturevalue("pg_url")
        return PostgresStore(url, layout=layout, connect_timeout=5, retry_seconds=5)
    return DuckDBStore(str(tmp_path / "store.duckdb"), layout=layout, lock_timeout=10)


def facet(namespace: str, payload: dict, *, index: bool = True, schema_name=None, version=None):
    return ConfigFacet(
        id=facet_id(namespace, payload, schema_name, version),
        namespace=namespace,
        payload=payload,
        schema_name=schema_name,
        schema_version=version,
        index=index,
    )


def record(run_id: str, n: int, model: str, payload: dict | None, **kw) -> ConsistRecord:
    run = Run(id=run_id, name=run_id, model_name=model, created_at=f"2026-01-01T00:00:0{n}")
    return ConsistRecord(run=run, facet=facet(model, payload, **kw) if payload else None)


BIG = 2**60 + 1

RECORDS = [
    record("r1", 1, "sim", {"rmse": 0.5, "year": 2030, "scenario": {"name": "base"}}),
    record("r2", 2, "sim", {"rmse": 0.25, "year": 2030.0, "flag": True, "big": BIG}),
    record("r3", 3, "sim", {"rmse": 1, "year": 2040, "list": [1, 2], "empty": {}, "none": None}),
    record("r4", 4, "cal", {"a%b": "x_y", "a_b": "it's", "dot.key": {"in.ner": 1}}),
    record("r5", 5, "cal", {"hidden": 1}, index=False, schema_name="Knobs", version=2),
    record("r6", 6, "sim", None),
    record("r7", 7, "sim", {"nan": math.nan, "inf": math.inf}),
]


@pytest.fixture(params=KINDS)
def filled(request, tmp_path: Path):
    store = make_store(request.param, tmp_path, request)
    store.record_runs(RECORDS)
    return store


def kv(store, **filters) -> list[tuple[str, str, object]]:
    return [(r.run_id, r.key, r.value) for r in store.query_config_kv(ConfigKVQuery(**filters))]


def test_both_stores_implement_the_facet_protocol(filled) -> None:
    assert isinstance(filled, FacetStore)


def test_rows_of_a_run_are_its_flattened_facet_by_key(filled) -> None:
    assert kv(filled, run_ids=("r1",)) == [
        ("r1", "rmse", 0.5),
        ("r1", "scenario.name", "base"),
        ("r1", "year", 2030),
    ]
    rows = filled.query_config_kv(ConfigKVQuery(run_ids=("r3",)))
    assert [(r.key, r.value_type, r.value) for r in rows] == [
        ("empty", "json", {}),
        ("list", "json", [1, 2]),
        ("none", "null", None),
        ("rmse", "int", 1),
        ("year", "int", 2040),
    ]
    assert all(r.namespace == "sim" and r.facet_id == RECORDS[2].facet.id for r in rows)


def test_values_keep_their_types_and_exact_integers(filled) -> None:
    rows = {r.key: r for r in filled.query_config_kv(ConfigKVQuery(run_ids=("r2",)))}
    assert rows["big"].value == BIG and rows["big"].value_type == "int"
    assert rows["flag"].value is True and rows["flag"].value_bool is True
    assert rows["flag"].value_num is None
    assert rows["year"].value_type == "float" and rows["year"].value_num == 2030.0
    assert rows["rmse"].value_num == 0.25 and rows["rmse"].value_str is None
    nan_rows = {r.key: r.value for r in filled.query_config_kv(ConfigKVQuery(run_ids=("r7",)))}
    assert math.isnan(nan_rows["nan"]) and nan_rows["inf"] == math.inf


def test_dots_in_keys_are_escaped(filled) -> None:
    keys = [key for _, key, _ in kv(filled, run_ids=("r4",))]
    assert keys == ["a%b", "a_b", "dot\\.key.in\\.ner"]


def test_prefix_and_keys_match_literally(filled) -> None:
    assert kv(filled, prefix="a%") == [("r4", "a%b", "x_y")]
    assert kv(filled, prefix="a_") == [("r4", "a_b", "it's")]
    assert kv(filled, prefix="%") == []
    assert kv(filled, keys=("it's", "a_b")) == [("r4", "a_b", "it's")]
    assert kv(filled, prefix="scenario.") == [("r1", "scenario.name", "base")]


def test_namespace_and_limit(filled) -> None:
    assert {run for run, _, _ in kv(filled, namespace="cal")} == {"r4"}
    assert kv(filled, keys=("rmse",), limit=2) == [("r1", "rmse", 0.5), ("r2", "rmse", 0.25)]
    assert kv(filled, keys=("rmse",), limit=0) == []


def test_an_unindexed_facet_has_no_rows_but_is_listed(filled) -> None:
    assert kv(filled, run_ids=("r5",)) == []
    [found] = filled.query_facets(FacetQuery(schema_name="Knobs"))
    assert found == RECORDS[4].facet
    assert found.schema_version == 2 and found.index is False


def test_find_runs_by_value(filled) -> None:
    def ids(**kw) -> list[str]:
        return [run.id for run in filled.find_runs_by_facet_kv(FacetMatch(**kw))]

    assert ids(namespace="sim", key="year", value_num=2030) == ["r2", "r1"]  # 2030 == 2030.0
    assert ids(namespace="sim", key="year", value_num=2030, value_type="int") == ["r1"]
    assert ids(namespace="sim", key="flag", value_bool=True) == ["r2"]
    assert ids(namespace="sim", key="flag", value_num=1) == []  # True is not 1
    assert ids(namespace="sim", key="scenario.name", value_str="base") == ["r1"]
    assert ids(namespace="cal", key="a_b", value_str="it's") == ["r4"]
    assert ids(namespace="cal", key="a_b", value_str="it%") == []
    assert ids(namespace="cal", key="year", value_num=2030) == []  # other namespace
    assert ids(namespace="sim", key="rmse") == ["r3", "r2", "r1"]
    assert ids(namespace="sim", key="rmse", limit=1) == ["r3"]


def test_query_facets(filled) -> None:
    def same(items) -> list[tuple]:  # NaN != NaN, so payloads compare as JSON text
        return [(f.id, f.namespace, json_text(f.payload), f.schema_version) for f in items]

    facets = filled.query_facets(FacetQuery())
    expected = sorted(
        (r.facet for r in RECORDS if r.facet is not None), key=lambda f: (f.namespace, f.id)
    )
    assert same(facets) == same(expected)
    assert filled.query_facets(FacetQuery(facet_id=RECORDS[0].facet.id)) == [RECORDS[0].facet]
    assert [f.namespace for f in filled.query_facets(FacetQuery(namespace="cal"))] == [
        "cal",
        "cal",
    ]
    assert len(filled.query_facets(FacetQuery(limit=2))) == 2


def test_replaying_records_changes_nothing(filled) -> None:
    before = repr(filled.query_config_kv(ConfigKVQuery(limit=None)))  # repr: NaN != NaN
    filled.record_runs(RECORDS)
    assert repr(filled.query_config_kv(ConfigKVQuery(limit=None))) == before
    assert len(filled.query_facets(FacetQuery())) == 6


def test_identical_facets_are_stored_once(tmp_path: Path, request) -> None:
    for kind in KINDS:
        store = make_store(kind, tmp_path / kind, request)
        store.record_runs([record("a", 1, "m", {"k": 1}), record("b", 2, "m", {"k": 1})])
        assert len(store.query_facets(FacetQuery())) == 1
        assert kv(store) == [("a", "k", 1), ("b", "k", 1)]


def test_every_store_agrees(tmp_path: Path, request) -> None:
    stores = [make_store(kind, tmp_path / kind, request) for kind in KINDS]
    answers = []
    for store in stores:
        store.record_runs(RECORDS)
        answers.append(
            (
                [
                    (repr(r.to_dict()), repr(r.value))  # repr: NaN != NaN
                    for r in store.query_config_kv(ConfigKVQuery(limit=None))
                ],
                [
                    (f.id, f.namespace, f.schema_name, f.schema_version, json_text(f.payload))
                    for f in store.query_facets(FacetQuery(limit=None))
                ],
                [
                    r.id
                    for r in store.find_runs_by_facet_kv(FacetMatch(namespace="sim", key="rmse"))
                ],
            )
        )
    assert answers[0] == answers[1] == answers[2]


def test_artifact_facets_are_listed_with_run_facets(tmp_path: Path, request) -> None:
    art = facet("sim", {"rows": 3}, schema_name="TableFacet")
    for kind in KINDS:
        store = make_store(kind, tmp_path / kind, request)
        rec = record("a", 1, "sim", {"k": 1})
        rec.artifact_facets["art-1"] = art
        store.record_runs([rec])
        assert store.query_facets(FacetQuery(schema_name="TableFacet")) == [art]
        assert kv(store) == [("a", "k", 1)]  # artifact leaves are not run rows
