"""`consist db copy SRC DEST`: DuckDB -> PostgreSQL -> DuckDB, counts, --json, errors."""

from __future__ import annotations

import json
from pathlib import Path

from cli_store import Store, build_store
from typer.testing import CliRunner

from consist import Tracker
from consist.cli.app import app


def test_copy_duckdb_to_postgres_and_back(tmp_path: Path, pg_url: str) -> None:
    store: Store = build_store(tmp_path / "built")
    runner = CliRunner()
    to_pg = runner.invoke(app, store.args("db", "copy", str(store.db_path), pg_url, "--json"))
    assert to_pg.exit_code == 0, to_pg.stderr
    report = json.loads(to_pg.stdout)
    with Tracker(run_dir=store.run_dir, db_path=store.db_path, access_mode="read") as t:
        runs = t.find_runs(limit=None)
    assert report["src"] == str(store.db_path) and report["dest"] == pg_url
    assert report["runs"] == report["dest_runs"] == len(runs) > 0
    # prepare x3 (one output each), assign x2 (one input, one output each).
    assert report["artifact_links"] == 3 + 2 * 2

    back = tmp_path / "back.duckdb"
    home = runner.invoke(app, store.args("db", "copy", pg_url, str(back)))
    assert home.exit_code == 0, home.stderr
    assert f"Copied {len(runs)} run(s), 7 artifact link(s)" in home.stdout
    assert f"{back} now holds {len(runs)} run(s)" in home.stdout

    # The round trip holds the same runs: the CLI reads the copy like the original.
    listed = runner.invoke(app, ["--run-dir", str(store.run_dir), "--db-path", str(back),
                                 "runs", "--json", "--limit", "100"])  # fmt: skip
    assert listed.exit_code == 0, listed.stderr
    assert sorted(r["id"] for r in json.loads(listed.stdout)) == sorted(r.id for r in runs)


def test_copy_errors_are_user_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["db", "copy", str(tmp_path / "none.duckdb"), str(tmp_path / "x.duckdb")]
    )
    assert missing.exit_code == 1 and not (tmp_path / "x.duckdb").exists()
    assert missing.stderr.startswith("Error: There is no store to copy at ")
    assert "Hint: " in missing.stderr

    source = build_store(tmp_path / "built").db_path
    unreachable = runner.invoke(
        app, ["db", "copy", str(source), "postgresql://nobody@127.0.0.1:1/x"]
    )
    assert unreachable.exit_code == 1
    assert unreachable.stderr.startswith("Error: db_path='postgresql://nobody@127.0.0.1:1/x'")
    assert "Hint: " in unreachable.stderr and "Traceback" not in unreachable.stderr
