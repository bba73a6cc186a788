"""Connections to the PostgreSQL store (issue 17): a sweep wider than the server's
max_connections finishes; idle connections are closed, a step's lock pins one; a
connection lost mid-step is detected when the step ends and the outcome stays sound;
a running record waits briefly, but this process always reads it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import consist.store.postgres.connect as connect
from consist import Tracker


@pytest.fixture(scope="module")
def small_server() -> Iterator[object]:
    """A server of its own that accepts only 10 connections."""
    from pg_server import PgServer

    server = PgServer(max_connections=10)
    server.start()
    yield server
    server.stop()


def _connections(url: str) -> int:
    """Client connections to the database of ``url``, other than this one."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchone()
    return int(row[0]) if row else -1


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from consist import Tracker

    url, run_dir, counter, worker = sys.argv[1:5]

    def step(value):
        with open(counter, "a") as handle:  # one line per real execution
            handle.write(json.dumps(value) + "\\n")
        time.sleep(0.1)
        return value

    tracker = Tracker(run_dir=run_dir, db_path=url, code_identity="callable_module")
    configs = [{"shared": 0}] + [{"worker": int(worker), "i": i} for i in range(3)]
    for config in configs:
        tracker.run(step, name="step", config=config, runtime_kwargs={"value": config})
        time.sleep(0.3)  # idle between steps: the connection is closed meanwhile
    tracker.close()
    """
)


def test_a_sweep_wider_than_max_connections_finishes(tmp_path: Path, small_server) -> None:
    url = small_server.create_database("wide")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    counter = tmp_path / "count.log"
    env = {**os.environ, "CONSIST_POSTGRES_IDLE_SECONDS": "0.1"}
    processes = 14  # more than the server's 10 connections
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), url, str(tmp_path / f"runs{n}"), str(counter), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(processes)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err
    executed = [json.loads(line) for line in counter.read_text().splitlines()]
    assert [v for v in executed if "shared" in v] == [{"shared": 0}]  # locks still hold
    assert len(executed) == 1 + 3 * processes
    with Tracker(run_dir=tmp_path / "reader", db_path=url, access_mode="read") as reader:
        runs = reader.find_runs(limit=None)
    assert len(runs) == 4 * processes and all(r.status == "completed" for r in runs)


def test_idle_connections_close_and_a_steps_lock_pins_one(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connect, "IDLE_SECONDS", 0.2)
    seen: list[int] = []

    def long_step() -> None:
        time.sleep(0.6)  # longer than the idle time: the lock keeps the connection
        seen.append(_connections(pg_url))

    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        t.run(long_step, name="long")
        assert seen == [1]
        deadline = time.monotonic() + 10
        while _connections(pg_url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _connections(pg_url) == 0  # idle: no connection held
        again = t.run(long_step, name="long")  # reconnects on demand
        assert again.cache_hit and len(t.find_runs(name="long")) == 2


def _terminate_others(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_a_connection_lost_mid_step_is_detected_and_the_outcome_is_sound(
    tmp_path: Path, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    executed: list[str] = []
    other: dict[str, str] = {}

    def step(config: dict[str, int]) -> None:
        executed.append("run")
        if len(executed) == 1:
            _terminate_others(pg_url)  # our session (and its lock) is gone
            # Another machine starts the same step meanwhile: nothing stops it now.
            with Tracker(
                run_dir=tmp_path / "b", db_path=pg_url, code_identity="callable_module"
            ) as b:
                other["id"] = b.run(step, name="s", config=config).run.id

    caplog.set_level(logging.WARNING, logger="consist")
    with Tracker(run_dir=tmp_path / "a", db_path=pg_url, code_identity="callable_module") as a:
        mine = a.run(step, name="s", config={"k": 1})
        assert not mine.cache_hit and mine.run.status == "completed"
        assert len(executed) == 2  # the step ran twice: the cost of the lost lock
        runs = {r.id: r for r in a.find_runs(name="s", limit=None)}
        assert {mine.run.id, other["id"]} <= set(runs)  # both recorded, both completed
        assert all(r.status == "completed" for r in runs.values())
        assert a.run(step, name="s", config={"k": 1}).cache_hit  # and the cache is sound
    text = caplog.text
    assert "lost its signature lock" in text and other["id"] in text and mine.run.id in text


def _statuses(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT status FROM runs ORDER BY id")]


def test_a_running_record_waits_but_this_process_reads_it(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import consist.store.postgres.store as pg_store

    monkeypatch.setattr(pg_store, "RUNNING_DELAY_SECONDS", 30.0)
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        t.begin_run("manual", model="m")
        assert _statuses(pg_url) == []  # waiting: a short step would send only its end
        assert [r.status for r in t.find_runs(model="m")] == ["running"]  # sent first
        assert _statuses(pg_url) == ["running"]
        t.end_run()
        assert _statuses(pg_url) == ["completed"]


def test_a_longer_step_is_visible_as_running_after_the_delay(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import consist.store.postgres.store as pg_store

    monkeypatch.setattr(pg_store, "RUNNING_DELAY_SECONDS", 0.05)
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        t.begin_run("slow", model="m")
        deadline = time.monotonic() + 20
        while not _statuses(pg_url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _statuses(pg_url) == ["running"]  # sent by the timer, no read needed
        t.end_run()
    assert _statuses(pg_url) == ["completed"]
