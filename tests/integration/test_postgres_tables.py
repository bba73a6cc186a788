"""The PostgreSQL store mirrors the DuckDB store's later tables (issue 17): config facets,
their flattened rows (the guide's run_query SQL runs verbatim) and producer_edges; an
older database is upgraded in place (new tables, edges backfilled from its links)."""

from __future__ import annotations

from pathlib import Path

import psycopg
from sqlalchemy import text

import consist
from consist import Tracker
from consist.store.edges import walk_key


def step() -> None:
    pass


def produce() -> Path:
    out = consist.output_path("table", ext="txt")
    out.write_text("rows")
    return out


def consume(table: Path) -> int:
    return len(table.read_text())


GUIDE_SQL = (
    "SELECT run_id, value_num FROM global_tables.run_config_kv "
    "WHERE key = :metric ORDER BY value_num DESC LIMIT :k"
)


def test_facets_and_the_guides_sql_on_postgres(tmp_path: Path, pg_url: str) -> None:
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        ids = [
            t.run(step, name=f"r{i}", model="sim", config={"i": i}, facet={"rmse": rmse}).run.id
            for i, rmse in enumerate([0.3, 0.1, 0.2])
        ]
        rows = t.run_query(text(GUIDE_SQL).params(metric="rmse", k=2))
        assert [(row.run_id, row.value_num) for row in rows] == [(ids[0], 0.3), (ids[2], 0.2)]
        assert t.run_query(text(GUIDE_SQL).params(metric="x' OR '1'='1", k=5)) == []
        assert t.get_config_values(ids[1]) == {"rmse": 0.1}
        [facet] = [f for f in t.get_config_facets(namespace="sim") if f.payload["rmse"] == 0.1]
        assert t.get_config_facet(facet.id) == facet
        found = t.find_runs_by_facet_kv(namespace="sim", key="rmse", value_num=0.2)
        assert [run.id for run in found] == [ids[2]]
    # Another machine (its own run_dir) reads the same rows from the shared store.
    with Tracker(run_dir=tmp_path / "other", db_path=pg_url, access_mode="read") as reader:
        assert reader.get_config_values(ids[0]) == {"rmse": 0.3}


def test_producer_edges_are_written_with_each_record(tmp_path: Path, pg_url: str) -> None:
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        made = t.run(produce, name="produce", outputs=["table"])
        used = t.run(consume, name="consume", inputs={"table": made.outputs["table"]})
        rows = t.run_query(text("SELECT run_id, producer_run_id FROM producer_edges"))
        assert [tuple(row) for row in rows] == [(used.run.id, made.run.id)]


def _downgrade_to_version_4(url: str) -> None:
    """Make the database look like one written before facets and producer_edges."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA global_tables CASCADE")
        conn.execute("DROP TABLE config_facets, producer_edges")
        conn.execute("UPDATE consist_schema SET version = 4")


def test_an_older_database_is_upgraded_and_its_edges_backfilled(
    tmp_path: Path, pg_url: str
) -> None:
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        made = t.run(produce, name="produce", outputs=["table"])
        used = t.run(consume, name="consume", inputs={"table": made.outputs["table"]})
    _downgrade_to_version_4(pg_url)
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        rows = t.run_query(text("SELECT * FROM producer_edges"))
        keys = (walk_key(used.run.id), walk_key(made.run.id))
        assert [tuple(row) for row in rows] == [(used.run.id, made.run.id, *keys)]
        r = t.run(step, name="after", model="sim", facet={"k": 1}).run
        assert t.get_config_values(r.id) == {"k": 1}
        assert t.run_query(text("SELECT max(version) FROM consist_schema"))[0][0] == 7


def test_a_version_6_database_gets_the_walk_keys_of_its_edges(tmp_path: Path, pg_url: str) -> None:
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        made = t.run(produce, name="produce", outputs=["table"])
        used = t.run(consume, name="consume", inputs={"table": made.outputs["table"]})
    with psycopg.connect(pg_url, autocommit=True) as conn:  # as version 6 left it
        conn.execute("ALTER TABLE producer_edges DROP COLUMN run_key, DROP COLUMN producer_key")
        conn.execute("UPDATE consist_schema SET version = 6")
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        rows = t.run_query(
            text("SELECT run_id, producer_run_id, run_key, producer_key FROM producer_edges")
        )
        keys = (walk_key(used.run.id), walk_key(made.run.id))
        assert [tuple(row) for row in rows] == [(used.run.id, made.run.id, *keys)]
        assert t.run_query(text("SELECT max(version) FROM consist_schema"))[0][0] == 7
