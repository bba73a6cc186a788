"""One contract for the artifact selection of views (store/selection.py): the reference
over records and the DuckDB twin (store/duckdb/selection.py) must answer alike.

Records are built directly (no Tracker), fed to the DuckDB store, and the same records
answer through the reference: a difference is a bug in one of the two.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.facet import ConfigFacet, facet_id
from consist.model.run import ConsistRecord, Run
from consist.store.duckdb import selection as sql
from consist.store.duckdb.store import DuckDBStore
from consist.store.selection import (
    ArtifactFilter,
    FacetCondition,
    facet_rows_in,
    keep_matching,
    scope_keys,
    select_in_records,
)


def _facet(namespace: str, payload: dict) -> ConfigFacet:
    return ConfigFacet(facet_id(namespace, payload, None, None), namespace, payload)


def _artifact(aid: str, run_id: str, key: str, n: int, **meta) -> Artifact:
    return Artifact(
        id=aid, key=key, uri=f"/data/{aid}.parquet", driver=meta.pop("driver", "parquet"),
        hash="h" + aid, run_id=run_id, created_at=f"2026-01-01T00:00:0{n}", meta=meta,
    )  # fmt: skip


def _record(run_id, n, model, outputs, *, facet=None, artifact_facets=None, **run) -> ConsistRecord:
    return ConsistRecord(
        run=Run(id=run_id, name=run_id, model_name=model, created_at=f"2026-01-0{n}T00:00:00",
                status="completed", **run),
        outputs=outputs,
        facet=_facet(model, facet) if facet else None,
        artifact_facets={a: _facet(model, f) for a, f in (artifact_facets or {}).items()},
    )  # fmt: skip


A1 = _artifact("a1", "r1", "trips", 1, schema_id="s1", schema_name="Trip")
A2 = _artifact("a2", "r2", "trips", 2, schema_id="s1")
A3 = _artifact("a3", "r3", "trips", 3, schema_id="s2", schema_name="Trip", driver="csv")
A4 = _artifact("a4", "r3", "skims", 4, schema_id="s3")
RECORDS = [
    _record("r1", 1, "demand", [A1], facet={"growth": 1.1, "fleet": "ev"}, year=2030,
            artifact_facets={"a1": {"fleet": "diesel", "share": 0.5}}),
    _record("r2", 2, "demand", [A2], facet={"growth": 2, "flag": True}, year=2040,
            parent_run_id="p"),
    _record("r3", 3, "assign", [A3, A4], facet={"growth": 3.5}, iteration=2,
            artifact_facets={"a3": {"fleet": "ev", "dot": {"ted": 1}}}),
    # a cache hit links a2 again as its output: it must not be selected twice
    _record("r4", 4, "demand", [A2], facet={"growth": 9}),
]  # fmt: skip

FILTERS = [
    ArtifactFilter(),
    ArtifactFilter(key="trips"),
    ArtifactFilter(schema_ids=["s1"]),
    ArtifactFilter(schema_names=["Trip"]),
    ArtifactFilter(schema_ids=["s3"], schema_names=["Trip"]),
    ArtifactFilter(drivers=["csv"]),
    ArtifactFilter(model="demand", year=2040),
    ArtifactFilter(parent_run_id="p"),
    ArtifactFilter(iteration=2, key="skims"),
    ArtifactFilter(run_id="r4"),
    ArtifactFilter(status="running"),
]

CONDITIONS = [
    [FacetCondition(((None, "fleet"),), "=", "ev")],  # a1 diesel by its own facet
    [FacetCondition(((None, "growth"),), ">=", 2)],
    [FacetCondition((("demand", "growth"),), "<", 2.0)],
    [FacetCondition(((None, "flag"),), "=", True)],
    [FacetCondition(((None, "share"),), "!=", 0.5)],
    [FacetCondition(((None, "fleet"),), "!=", "diesel"), FacetCondition(((None, "growth"),), ">", 1)],
    [FacetCondition((("dot", "ted"), (None, "dot.ted")), "=", 1)],
    [FacetCondition(((None, "missing"),), "=", None)],
    [FacetCondition(((None, "growth"),), "=", "2")],  # a string never equals a number
]  # fmt: skip


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("sel")
    layout = RunLayout(root / "runs")
    layout.ensure()
    store = DuckDBStore(str(root / "s.duckdb"), layout=layout, lock_timeout=10)
    store.record_runs(RECORDS)
    yield store
    store.close()


def _ids(selected) -> list[str]:
    return [s.artifact.id for s in selected]


@pytest.mark.parametrize("selection", FILTERS)
def test_selection_matches_the_reference(duck, selection: ArtifactFilter) -> None:
    with duck.write_connection() as conn:
        got = sql.select_artifacts(conn, selection, None)
    expected = select_in_records(RECORDS, selection)
    assert _ids(got) == _ids(expected)
    assert [(s.year, s.iteration, s.parent_run_id) for s in got] == [
        (s.year, s.iteration, s.parent_run_id) for s in expected
    ]


def test_an_output_reused_by_a_cache_hit_is_selected_once(duck) -> None:
    with duck.write_connection() as conn:
        assert _ids(sql.select_artifacts(conn, ArtifactFilter(key="trips"), None)) == [
            "a1", "a2", "a3",
        ]  # fmt: skip


@pytest.mark.parametrize("conditions", CONDITIONS)
def test_facet_predicates_match_the_reference(duck, conditions) -> None:
    keys = scope_keys(scope for c in conditions for scope in c.scopes)
    with duck.write_connection() as conn:
        selected = sql.select_artifacts(conn, ArtifactFilter(), None)
        got = keep_matching(selected, sql.facet_rows(conn, selected, keys), conditions)
    reference = select_in_records(RECORDS, ArtifactFilter())
    expected = keep_matching(reference, facet_rows_in(RECORDS, reference, keys), conditions)
    assert _ids(got) == _ids(expected)


def test_facet_lookup_prefers_the_artifacts_own_facet(duck) -> None:
    keys = ["fleet", "growth"]
    with duck.write_connection() as conn:
        selected = sql.select_artifacts(conn, ArtifactFilter(), None)
        rows = sql.facet_rows(conn, selected, keys)
    reference = facet_rows_in(RECORDS, select_in_records(RECORDS, ArtifactFilter()), keys)
    for source in (rows, reference):
        fleet = {s.artifact.id: source.lookup(s, ((None, "fleet"),)) for s in selected}
        assert {a: (r.value if r else None) for a, r in fleet.items()} == {
            "a1": "diesel", "a2": None, "a3": "ev", "a4": None,
        }  # fmt: skip
        growth = source.lookup(selected[1], ((None, "growth"),))
        assert growth is not None and growth.value == 2  # r2's facet, not r4's
