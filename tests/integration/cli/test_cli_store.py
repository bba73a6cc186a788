"""`consist views / query / db check / db rebuild`, the progress bar and the entry point."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from cli_store import Store, build_store
from typer.testing import CliRunner, Result

from consist.cli import main as entry
from consist.cli.app import app


def invoke(store: Store, *command: str) -> Result:
    return CliRunner().invoke(app, store.args(*command))


@pytest.fixture
def scratch(tmp_path: Path) -> Store:
    """A store of its own, for tests that damage or rebuild it."""
    return build_store(tmp_path)


def _sql(store: Store, statement: str) -> None:
    conn = duckdb.connect(str(store.db_path))
    try:
        conn.execute(statement)
    finally:
        conn.close()


# --- views / query -------------------------------------------------------------------


def test_views_lists_relations_with_columns(store: Store) -> None:
    result = invoke(store, "views", "--json")
    assert result.exit_code == 0, result.stderr
    views = {view["qualified_name"]: view for view in json.loads(result.stdout)}
    kv = views["global_tables.run_config_kv"]
    assert kv["schema"] == "global_tables" and "key" in kv["columns"]
    table = invoke(store, "views")
    assert "global_tables.run_config_kv" in table.stdout


def test_views_show_a_created_view(scratch: Store) -> None:
    _sql(
        scratch, "CREATE VIEW demand_runs AS SELECT id, year FROM runs WHERE model_name = 'demand'"
    )
    views = json.loads(invoke(scratch, "views", "--json").stdout)
    [mine] = [v for v in views if v["name"] == "demand_runs"]
    assert mine == {
        "name": "demand_runs", "schema": "main", "qualified_name": "demand_runs",
        "kind": "view", "columns": ["id", "year"],
    }  # fmt: skip
    rows = json.loads(
        invoke(scratch, "query", "SELECT count(*) AS n FROM demand_runs", "--json").stdout
    )
    assert rows == [{"n": 3}]


def test_query_table_json_and_csv(store: Store) -> None:
    sql = "SELECT id, year FROM runs WHERE model_name = 'traffic' ORDER BY id"
    rows = json.loads(invoke(store, "query", sql, "--json").stdout)
    assert rows == [{"id": i, "year": 2030} for i in sorted([store.assign, store.assign_alt])]
    text = invoke(store, "query", sql, "--csv").stdout
    assert list(csv.reader(io.StringIO(text))) == [["id", "year"]] + [
        [r["id"], "2030"] for r in rows
    ]
    table = invoke(store, "query", sql)
    assert store.assign in table.stdout and "2 row(s)" in table.stdout


def test_query_colons_are_sql_not_parameters(store: Store) -> None:
    rows = json.loads(
        invoke(store, "query", "SELECT '12:30' AS t, 2::VARCHAR AS s", "--json").stdout
    )
    assert rows == [{"t": "12:30", "s": "2"}]


def test_query_errors(store: Store) -> None:
    bad = invoke(store, "query", "SELEC 1")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: The SQL failed")
    assert "Hint:" in bad.stderr and "Traceback" not in bad.stderr
    write = invoke(store, "query", "DELETE FROM runs")
    assert write.exit_code == 1 and "read-only" in write.stderr
    assert len(json.loads(invoke(store, "runs", "--json").stdout)) == 5  # nothing deleted
    assert invoke(store, "query", "SELECT 1", "--json", "--csv").exit_code == 2


# --- db check / rebuild ------------------------------------------------------------------


def test_db_check_of_a_healthy_store(store: Store) -> None:
    result = invoke(store, "db", "check", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["snapshots"] == report["stored"] == 5
    assert invoke(store, "db", "check").stdout.startswith("ok: 5 snapshot(s)")


def test_db_check_finds_missing_extra_and_mismatched_rows(scratch: Store) -> None:
    _sql(scratch, f"DELETE FROM runs WHERE id = '{scratch.prepare}'")
    _sql(scratch, f"UPDATE runs SET status = 'failed' WHERE id = '{scratch.assign}'")
    _sql(
        scratch,
        f"DELETE FROM run_artifacts WHERE run_id = '{scratch.assign_alt}' AND direction = 'input'",
    )
    (scratch.run_dir / "consist_runs" / f"{scratch.prepare_alt}.json").unlink()
    result = invoke(scratch, "db", "check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["missing"] == [scratch.prepare]
    assert report["extra"] == [scratch.prepare_alt]
    mismatched = {item["run_id"]: item["fields"] for item in report["mismatched"]}
    assert mismatched == {scratch.assign: ["status"], scratch.assign_alt: ["inputs"]}
    text = invoke(scratch, "db", "check")
    assert text.exit_code == 1 and "NOT ok" in text.stdout and "db rebuild" in text.stderr


def test_db_rebuild_restores_a_lost_store(scratch: Store) -> None:
    scratch.db_path.unlink()
    result = invoke(scratch, "db", "rebuild")
    assert result.exit_code == 0, result.stderr
    assert "from 5 snapshot(s)" in result.stdout
    assert "Rebuilding" not in result.stderr  # no terminal: no progress bar
    assert json.loads(invoke(scratch, "db", "check", "--json").stdout)["ok"] is True
    rows = json.loads(invoke(scratch, "query", "SELECT count(*) AS n FROM runs", "--json").stdout)
    assert rows == [{"n": 5}]


def test_db_rebuild_without_a_run_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--run-dir", str(tmp_path / "none"), "db", "rebuild"])
    assert result.exit_code == 1 and "Error: No run directory" in result.stderr
    assert not (tmp_path / "none").exists()


def _console_script(args: list[str], *, terminal: bool) -> tuple[int, str]:
    """Run ``consist`` in a subprocess with stderr on a pseudo-terminal (or a pipe)."""
    command = [sys.executable, "-c", "from consist.cli.main import main; main()", *args]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal(scratch: Store) -> None:
    args = scratch.args("db", "rebuild")
    code, err = _console_script(args, terminal=True)
    assert code == 0 and "Rebuilding" in err
    code, err = _console_script(args, terminal=False)
    assert code == 0 and err == ""


# --- the console script --------------------------------------------------------------------


def test_console_script_is_installed_and_runs(store: Store) -> None:
    script = shutil.which("consist", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, *store.args("runs", "--json")], capture_output=True, text=True)
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 5
    missing = subprocess.run([script, *store.args("show", "x")], capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.startswith("Error:")
    assert "Traceback" not in missing.stderr


def test_without_the_cli_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "typer", None)
    with pytest.raises(SystemExit) as exit_:
        entry.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error:") and "pip install 'consist[cli]'" in err
