"""A Tracker on a shared PostgreSQL store (issue 17), on a server tests/conftest.py starts.

The same API as on DuckDB; no DuckDB file is created; another machine's completed run
is a hit (asked of the store); many processes with their own run_dirs record every
run, and identical steps started together run once; bad URLs and an unreachable server
fail fast with a ConsistError naming db_path.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from consist import Tracker
from consist.errors import ConfigError, ConsistError, StoreError


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def step(value: int) -> int:
    return value * 2


def test_runs_hits_queries_and_engine_on_postgres(tmp_path: Path, pg_url: str) -> None:
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        assert t.db_path == pg_url
        first = t.run(step, name="double", config={"value": 3}, runtime_kwargs={"value": 3})
        again = t.run(step, name="double", config={"value": 3}, runtime_kwargs={"value": 3})
        assert not first.cache_hit and again.cache_hit and first.value == 6
        runs = t.find_runs(model="double")
        assert {r.id for r in runs} == {first.run.id, again.run.id}
        from sqlalchemy import text

        with t.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, status, cache_hit FROM runs ORDER BY id"))
            assert sorted(rows.fetchall()) == sorted(
                [(first.run.id, "completed", False), (again.run.id, "completed", True)]
            )
    assert not any(name.endswith((".duckdb", ".wal")) for name in _files(tmp_path))


def test_a_signature_this_machine_has_not_seen_is_asked_of_the_store(
    tmp_path: Path, pg_url: str
) -> None:
    with Tracker(run_dir=tmp_path / "a", db_path=pg_url, code_identity="callable_module") as t:
        first = t.run(step, name="double", config={"value": 5}, runtime_kwargs={"value": 5})
    # Another machine: its own run_dir, nothing in its cache index; the store knows.
    with Tracker(run_dir=tmp_path / "b", db_path=pg_url, code_identity="callable_module") as t:
        other = t.run(step, name="double", config={"value": 5}, runtime_kwargs={"value": 5})
        assert other.cache_hit and other.run.reused_run_id == first.run.id
        fresh = t.run(step, name="double", config={"value": 6}, runtime_kwargs={"value": 6})
        assert not fresh.cache_hit
        assert t.get_run(first.run.id) is not None  # the other run_dir's run is visible


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://", "no database"),
        ("postgresql://host:notaport/db", "port"),
        ("postgresql:/db", "no '//'"),
        ("postgresql+psycopg:///db", "no host"),
    ],
)
def test_bad_postgres_urls_are_config_errors_naming_db_path(
    tmp_path: Path, url: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        Tracker(run_dir=tmp_path / "runs", db_path=url)
    assert caught.value.context["parameter"] == "db_path" and url in str(caught.value)
    assert not (tmp_path / "runs").exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_fails_fast_naming_db_path(tmp_path: Path) -> None:
    url = f"postgresql://someone:secret@127.0.0.1:{_closed_port()}/db"
    began = time.monotonic()
    with pytest.raises(StoreError) as caught:
        Tracker(run_dir=tmp_path / "runs", db_path=url)
    assert time.monotonic() - began < 30  # bounded: refused at once, never a hang
    text = str(caught.value)
    assert "db_path=" in text and "127.0.0.1" in text and "secret" not in text


def test_a_server_that_never_answers_is_bounded_by_the_connect_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A listening socket that never speaks: the client waits for the server's greeting.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    import consist.services as services

    monkeypatch.setattr(services, "POSTGRES_CONNECT_TIMEOUT_SECONDS", 2)
    try:
        began = time.monotonic()
        with pytest.raises(ConsistError, match="db_path"):
            Tracker(run_dir=tmp_path / "runs", db_path=f"postgresql://u@127.0.0.1:{port}/db")
        assert time.monotonic() - began < 20
    finally:
        silent.close()


def test_a_wrong_database_name_names_db_path(tmp_path: Path, pg_url: str) -> None:
    url = pg_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StoreError, match="db_path") as caught:
        Tracker(run_dir=tmp_path / "runs", db_path=url)
    assert "no_such_database" in str(caught.value)


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from consist import Tracker

    url, run_dir, counter, start_at, worker = sys.argv[1:6]

    def step(value):
        with open(counter, "a") as handle:  # one line per real execution
            handle.write(json.dumps(value) + "\\n")
        if value.get("shared") is not None:
            time.sleep(0.2)  # long enough that the identical steps overlap
        return value

    tracker = Tracker(run_dir=run_dir, db_path=url, code_identity="callable_module")
    while time.time() < float(start_at):  # every worker starts together
        time.sleep(0.001)
    hits = 0
    configs = [{"shared": i} for i in range(10)]
    configs += [{"worker": int(worker), "i": i} for i in range(40)]
    for config in configs:
        result = tracker.run(step, name="step", config=config, runtime_kwargs={"value": config})
        hits += result.cache_hit
    tracker.close()
    print(json.dumps(hits))
    """
)


def test_four_processes_fifty_runs_each_identical_steps_run_once(
    tmp_path: Path, pg_url: str
) -> None:
    """4 processes x 50 runs on one PostgreSQL store, each with its own run_dir (as on
    four machines); the first 10 steps are identical in every process and start together."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    counter = tmp_path / "count.log"
    start_at = time.time() + 3.0  # past every worker's start-up
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                pg_url,
                str(tmp_path / f"runs{n}"),
                str(counter),
                str(start_at),
                str(n),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for n in range(4)
    ]
    hits = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
        hits.append(json.loads(out))
    executed = [json.loads(line) for line in counter.read_text().splitlines()]
    shared = [value["shared"] for value in executed if "shared" in value]
    assert sorted(shared) == list(range(10))  # each identical step executed once
    assert len(executed) == 10 + 4 * 40
    assert sum(hits) == 30
    with Tracker(run_dir=tmp_path / "reader", db_path=pg_url, access_mode="read") as reader:
        runs = reader.find_runs(limit=None)
        assert len(runs) == 200 and all(run.status == "completed" for run in runs)
        assert sum(run.cache_hit for run in runs) == 30
    shutil.rmtree(tmp_path / "runs0")
