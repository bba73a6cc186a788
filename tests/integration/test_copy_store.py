"""maintenance.copy_store: a DuckDB store into PostgreSQL and back, verified by counts."""

from __future__ import annotations

from pathlib import Path

from consist import Tracker
from consist.fs.layout import RunLayout
from consist.maintenance.copy import copy_store
from consist.store.base import RunQuery
from consist.store.duckdb.store import DuckDBStore
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
