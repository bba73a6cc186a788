"""Schema migrations of the DuckDB store: an older file opens and upgrades, a newer
one is refused, and upgrading is idempotent and safe with two openers at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import duckdb
import pytest

from consist.errors import StoreError
from consist.fs.layout import RunLayout
from consist.store.base import RunQuery
from consist.store.duckdb import migrate, schema
from consist.store.duckdb.store import DuckDBStore
from consist.store.edges import walk_key
from consist.store.sql_tables import SCHEMA_VERSION

# Schema version 1, exactly as Consist 0.x created it (pinned: never edit).
V1_DDL = (
    "CREATE TABLE IF NOT EXISTS consist_schema (version INTEGER)",
    'CREATE TABLE IF NOT EXISTS runs ("id" VARCHAR, "name" VARCHAR, "model_name" VARCHAR, '
    '"description" VARCHAR, "status" VARCHAR, "parent_run_id" VARCHAR, "year" INTEGER, '
    '"iteration" INTEGER, "stage" VARCHAR, "phase" VARCHAR, "tags" VARCHAR[], '
    '"signature" VARCHAR, "config_hash" VARCHAR, "input_hash" VARCHAR, "git_hash" VARCHAR, '
    '"code_identity_mode" VARCHAR, "cache_hit" BOOLEAN, "reused_run_id" VARCHAR, '
    '"error" VARCHAR, "artifact_dir" VARCHAR, "created_at" TIMESTAMP, '
    '"started_at" TIMESTAMP, "ended_at" TIMESTAMP, "duration_seconds" DOUBLE, '
    '"meta" JSON, "config" JSON, PRIMARY KEY (id))',
    'CREATE TABLE IF NOT EXISTS artifacts ("id" VARCHAR, "key" VARCHAR, "uri" VARCHAR, '
    '"driver" VARCHAR, "hash" VARCHAR, "size" BIGINT, "run_id" VARCHAR, '
    '"producer_signature" VARCHAR, "created_at" TIMESTAMP, "meta" JSON, PRIMARY KEY (id))',
    'CREATE TABLE IF NOT EXISTS run_artifacts ("run_id" VARCHAR, "artifact_id" VARCHAR, '
    '"direction" VARCHAR, "key" VARCHAR, PRIMARY KEY (run_id, artifact_id, direction))',
    "CREATE TABLE IF NOT EXISTS consist_journal (file VARCHAR PRIMARY KEY, consumed BIGINT)",
)
V1_RUN = (
    "INSERT INTO runs (id, name, model_name, status, tags, signature, created_at, meta, config) "
    "VALUES ('old-1', 'step', 'model_a', 'completed', ['kept'], 'sig-old', "
    "TIMESTAMP '2023-05-01 10:00:00', '{\"seed\": 7}', '{\"n\": 1}')"
)


def make_v1_db(path: Path, *, version_row: bool = True) -> None:
    conn = duckdb.connect(str(path))
    try:
        for statement in V1_DDL:
            conn.execute(statement)
        conn.execute(V1_RUN)
        if version_row:
            conn.execute("INSERT INTO consist_schema VALUES (1)")
    finally:
        conn.close()


def columns(path: Path) -> dict[str, dict[str, str]]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
        ).fetchall()
    finally:
        conn.close()
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        found.setdefault(table, {})[column] = kind
    return found


def versions(path: Path) -> list[int]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return [
            row[0]
            for row in conn.execute("SELECT version FROM consist_schema ORDER BY 1").fetchall()
        ]
    finally:
        conn.close()


def store(path: Path, *, read_only: bool = False) -> DuckDBStore:
    layout = RunLayout(path.parent / "runs")
    if not read_only:
        layout.ensure()
    return DuckDBStore(str(path), layout=layout, lock_timeout=30, read_only=read_only)


def test_the_pinned_v1_ddl_plus_the_steps_is_the_current_schema(tmp_path: Path) -> None:
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    make_v1_db(old)
    store(old).record_runs([])
    store(new).record_runs([])
    # Same tables, same column names and types (the order of added columns may differ).
    assert columns(old) == columns(new)
    assert columns(new)["runs"] == schema.RUN_COLUMNS
    assert versions(new) == [SCHEMA_VERSION]


@pytest.mark.parametrize("opener", ["write", "read-from-writer"])
def test_an_older_database_opens_and_upgrades(tmp_path: Path, opener: str) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_db(path)
    assert "cache_decision" not in columns(path)["runs"]
    db = store(path)
    if opener == "write":
        db.record_runs([])
    # A writer's read finds the old version and upgrades before reading.
    run = db.get_run("old-1")
    assert run is not None and run.tags == ["kept"] and run.meta == {"seed": 7}
    assert [r.id for r in db.query_runs(RunQuery())] == ["old-1"]
    assert "cache_decision" in columns(path)["runs"] and "owner" in columns(path)["runs"]
    assert "consist_generation" in columns(path)  # version 4
    assert "run_config_kv" in columns(path) and "config_facets" in columns(path)  # version 5
    assert "producer_edges" in columns(path)  # version 6
    assert {"run_key", "producer_key"} <= set(columns(path)["producer_edges"])  # version 7
    assert versions(path) == [1, 2, 3, 4, 5, 6, 7]


def test_upgrading_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_db(path)
    for _ in range(3):
        store(path).record_runs([])
    conn = duckdb.connect(str(path))
    try:
        migrate.ensure_schema(conn, str(path))
        migrate.ensure_schema(conn, str(path))
    finally:
        conn.close()
    assert versions(path) == [1, 2, 3, 4, 5, 6, 7]
    assert store(path).count_runs() == 1


def test_a_v1_database_without_its_version_row_is_taken_as_v1(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_db(path, version_row=False)  # a v1 creator stopped before its last INSERT
    store(path).record_runs([])
    assert versions(path) == [2, 3, 4, 5, 6, 7]  # the steps applied are recorded; 1 never was
    assert "cache_decision" in columns(path)["runs"]
    assert store(path).get_run("old-1") is not None


def test_a_newer_database_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    store(path).record_runs([])
    conn = duckdb.connect(str(path))
    conn.execute("INSERT INTO consist_schema VALUES (99)")
    conn.close()
    for db in (store(path), store(path, read_only=True)):
        with pytest.raises(StoreError, match="schema version 99.*up to 7") as info:
            db.count_runs()
        assert info.value.context["found_version"] == 99
        assert info.value.context["supported_version"] == SCHEMA_VERSION
    with pytest.raises(StoreError, match="schema version 99"):
        store(path).record_runs([])
    assert versions(path) == [7, 99]


def test_a_reader_does_not_upgrade_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_db(path)
    with pytest.raises(StoreError, match="schema version 1.*access_mode='write'"):
        store(path, read_only=True).query_runs(RunQuery())
    assert versions(path) == [1]


def test_two_connections_of_one_process_upgrade_at_once(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_db(path)
    # Two connectors (two trackers of one process) share DuckDB's database instance,
    # so their upgrade transactions really overlap; one must retry and find it done.
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_and_write() -> None:
        try:
            barrier.wait()
            store(path).record_runs([])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions(path) == [1, 2, 3, 4, 5, 6, 7]


OPENER = textwrap.dedent(
    """
    import sys
    from consist.fs.layout import RunLayout
    from consist.store.duckdb.store import DuckDBStore

    layout = RunLayout(sys.argv[2])
    layout.ensure()
    store = DuckDBStore(sys.argv[1], layout=layout, lock_timeout=60)
    print(store.get_run("old-1").id)
    """
)


def test_two_processes_open_an_old_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_db(path)
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), str(tmp_path / f"runs{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "old-1"
    assert versions(path) == [1, 2, 3, 4, 5, 6, 7]
    assert "cache_decision" in columns(path)["runs"]


V4_LINKS = (
    "INSERT INTO runs (id, name, model_name, status, signature, created_at) VALUES "
    "('up', 'a', 'm', 'completed', 's-up', TIMESTAMP '2023-05-01 10:00:00'), "
    "('down', 'b', 'm', 'completed', 's-down', TIMESTAMP '2023-05-01 10:00:01')",
    "INSERT INTO artifacts (id, key, uri, run_id, producer_signature, created_at) VALUES "
    "('made', 'made', './made.csv', 'up', 's-up', TIMESTAMP '2023-05-01 10:00:00'), "
    "('raw', 'raw', '/raw.csv', 'down', NULL, TIMESTAMP '2023-05-01 10:00:01')",
    "INSERT INTO run_artifacts VALUES ('up', 'made', 'output', 'made'), "
    "('down', 'made', 'input', 'made'), ('down', 'raw', 'input', 'raw')",
)


def test_version_5_backfills_the_producer_edges_of_existing_links(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_v1_db(path)
    conn = duckdb.connect(str(path))
    for statement in V4_LINKS:
        conn.execute(statement)
    conn.close()
    db = store(path)
    db.record_runs([])
    conn = duckdb.connect(str(path), read_only=True)
    edges = conn.execute("SELECT * FROM producer_edges").fetchall()
    conn.close()
    # the raw input names its reader: no edge; version 7 filled the walk keys
    assert edges == [("down", "up", walk_key("down"), walk_key("up"))]
    graph = db.get_lineage("made", direction="downstream", max_depth=None)
    assert graph.steps == {"made": ("down",)}
    graph = db.get_lineage("made", direction="upstream", max_depth=None)
    assert graph.steps == {"made": ("up",)} and set(graph.runs) == {"up"}


def test_version_7_fills_the_walk_keys_of_a_version_6_database(tmp_path: Path) -> None:
    path = tmp_path / "v6.duckdb"
    make_v1_db(path)
    conn = duckdb.connect(str(path))
    for version in range(2, 7):  # the database as version 6 left it
        for statement in migrate.STEPS[version]:
            conn.execute(statement)
        conn.execute("INSERT INTO consist_schema VALUES (?)", [version])
    for statement in V4_LINKS:
        conn.execute(statement)
    conn.execute("INSERT INTO producer_edges VALUES ('down', 'up')")
    assert conn.execute("SELECT * FROM producer_edges").fetchall() == [("down", "up")]
    conn.close()
    db = store(path)
    graph = db.get_lineage("raw", direction="upstream", max_depth=None)  # a read upgrades
    assert graph is not None and graph.steps == {}
    assert versions(path) == [1, 2, 3, 4, 5, 6, 7]
    conn = duckdb.connect(str(path), read_only=True)
    edges = conn.execute("SELECT * FROM producer_edges").fetchall()
    conn.close()
    assert edges == [("down", "up", walk_key("down"), walk_key("up"))]
    # The upstream walk runs over the keys the upgrade filled.
    conn = duckdb.connect(str(path))
    conn.execute("INSERT INTO run_artifacts VALUES ('down', 'result', 'output', 'result')")
    conn.execute(
        "INSERT INTO artifacts (id, key, uri, run_id, producer_signature) "
        "VALUES ('result', 'result', './r.csv', 'down', 's-down')"
    )
    conn.close()
    graph = db.get_lineage("result", direction="upstream", max_depth=None)
    assert graph.steps == {"result": ("down",), "made": ("up",)}
    assert graph.depths == {"result": 0, "made": 1, "raw": 1}
    db.close()
