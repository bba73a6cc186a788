"""maintenance.copy_store: a DuckDB store into PostgreSQL and back, verified by counts."""

from __future__ import annotations

from pathlib import Path

from consist import Tracker
from consist.fs.layout import RunLayout
from consist.maintenance.copy import copy_store
from consist.store.base import RunQuery
from consist.store.duckdb.store import DuckDBStore
from consist.store.facets import ConfigKVQuery, FacetMatch, FacetQuery
from consist.store.postgres.store import PostgresStore


def make_table(config: dict[str, int]) -> Path:
    import consist

    out = consist.output_path("table", ext="csv")
    out.write_text(f"x\n{config['x']}\n")
    return out


def test_duckdb_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    duck = tmp_path / "source.duckdb"
    with Tracker(run_dir=tmp_path / "runs", db_path=duck, code_identity="callable_module") as t:
        for x in range(5):
            t.run(make_table, name="table", config={"x": x}, outputs=["table"])
        t.run(make_table, name="table", config={"x": 0}, outputs=["table"])  # a hit
    report = copy_store(duck, pg_url)
    assert report.runs == 6 and report.artifact_links == 6 and report.dest_runs == 6

    back = tmp_path / "back.duckdb"
    assert copy_store(pg_url, back).dest_runs == 6

    layout = RunLayout(tmp_path / "runs")
    stores = [
        DuckDBStore(str(duck), layout=layout, lock_timeout=10, read_only=True),
        PostgresStore(pg_url, layout=layout, connect_timeout=5, retry_seconds=5),
        DuckDBStore(str(back), layout=layout, lock_timeout=10, read_only=True),
    ]
    answers = [s.query_runs(RunQuery(limit=None)) for s in stores]
    assert answers[0] == answers[1] == answers[2] and len(answers[0]) == 6
    for run in answers[0]:
        records = [s.get_record(run.id) for s in stores]
        assert records[0] == records[1] == records[2]
        assert records[0] is not None and records[0].config == {"x": records[0].config["x"]}
    for s in stores:
        s.close()

    # Copying again changes nothing: the same run ids are the same rows.
    assert copy_store(duck, pg_url).dest_runs == 6


def log_with_facets(config: dict[str, int]) -> Path:
    import consist

    out = consist.output_path("table", ext="csv")
    out.write_text(f"x\n{config['x']}\n")
    consist.log_artifact(out, key="table", facet={"rows": 1, "x": config["x"]}, facet_index=True)
    side = consist.output_path("side", ext="txt")
    side.write_text("side\n")
    consist.log_artifact(side, key="side", facet={"note": "quiet"})  # unindexed
    return out


def _kv_count(store: object, table: str) -> int:
    with store.read_connection() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_facets_are_copied_both_ways(tmp_path: Path, pg_url: str) -> None:
    duck = tmp_path / "source.duckdb"
    with Tracker(run_dir=tmp_path / "runs", db_path=duck, code_identity="callable_module") as t:
        for x in range(4):
            t.run(
                log_with_facets,
                name="faceted",
                config={"x": x},
                facet={"x": x, "scenario": {"label": f"s{x}", "ok": x % 2 == 0}},
            )
    report = copy_store(duck, pg_url, run_dir=tmp_path / "runs")
    # 4 run facets (3 leaves each), 4 indexed + 1 unindexed artifact facet.
    assert (report.runs, report.config_kv, report.facets) == (4, 12, 9)
    back = tmp_path / "back.duckdb"
    assert copy_store(pg_url, back).config_kv == 12

    layout = RunLayout(tmp_path / "runs")
    source = DuckDBStore(str(duck), layout=layout, lock_timeout=10, read_only=True)
    shared = PostgresStore(pg_url, layout=layout, connect_timeout=5, retry_seconds=5)
    returned = DuckDBStore(str(back), layout=layout, lock_timeout=10, read_only=True)
    stores = [source, shared, returned]
    everything = ConfigKVQuery(limit=None)
    kv = [s.query_config_kv(everything) for s in stores]
    assert len(kv[0]) == 12 and kv[0] == kv[1] == kv[2]
    facets = [s.query_facets(FacetQuery(limit=None)) for s in stores]
    assert len(facets[0]) == 9 and facets[0] == facets[1] == facets[2]
    for run in source.query_runs(RunQuery(limit=None)):
        records = [s.get_record(run.id) for s in stores]
        assert records[0] is not None and records[0].facet is not None
        assert records[0].facet.payload["scenario"]["label"] == f"s{records[0].config['x']}"
        # The indexed artifact facet (the unindexed one is in config_facets, checked above).
        assert [f.payload for f in records[0].artifact_facets.values()] == [
            {"rows": 1, "x": records[0].config["x"]}
        ]
        assert records[1] == records[2]
        assert records[1] is not None and records[1].facet == records[0].facet
        assert records[1].artifact_facets == records[0].artifact_facets
    assert _kv_count(source, "global_tables.artifact_kv") == 8
    assert _kv_count(returned, "global_tables.artifact_kv") == 8
    matched = shared.find_runs_by_facet_kv(FacetMatch("faceted", "scenario.label", value_str="s2"))
    assert [r.id for r in matched] == [
        r.id
        for r in source.find_runs_by_facet_kv(
            FacetMatch("faceted", "scenario.label", value_str="s2")
        )
    ]
    for s in stores:
        s.close()
