"""tracker.map: a sweep in this process, and on a Dask LocalCluster of process workers
recording through a shared PostgreSQL store (issue 17)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from consist import Tracker


def sweep_step(config: dict[str, int]) -> int:
    """Records every real execution (one line in $SWEEP_LOG), then fails on bad points."""
    with open(os.environ["SWEEP_LOG"], "a") as handle:
        handle.write(json.dumps(config) + "\n")
    if config.get("fail"):
        raise ValueError(f"point {config['x']} is bad")
    return config["x"] * 10


def _set_log(path: str) -> None:
    os.environ["SWEEP_LOG"] = path


def _executed(log: Path) -> list[int]:
    if not log.exists():
        return []
    return sorted(json.loads(line)["x"] for line in log.read_text().splitlines())


@pytest.fixture
def sweep_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "executed.log"
    monkeypatch.setenv("SWEEP_LOG", str(log))  # process workers inherit the environment
    return log


def test_map_in_process_keeps_order_and_isolates_failures(tmp_path: Path, sweep_log: Path) -> None:
    configs = [{"x": 1}, {"x": 2, "fail": 1}, {"x": 3}]
    with Tracker(run_dir=tmp_path / "runs", db_path=None, code_identity="callable_module") as t:
        results = t.map(sweep_step, configs, name="sweep")
        assert [r.value for r in results] == [10, None, 30]
        assert [r.run.status for r in results] == ["completed", "failed", "completed"]
        assert "point 2 is bad" in (results[1].run.error or "")
        again = t.map(sweep_step, configs, name="sweep")
    assert [r.cache_hit for r in again] == [True, False, True]
    assert _executed(sweep_log) == [1, 2, 2, 3]  # the failed point ran again; hits did not


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    distributed = pytest.importorskip("distributed")  # installed by the dev extra
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_a_dask_sweep_of_40_configs_half_cached(
    tmp_path: Path, sweep_log: Path, pg_url: str, dask_client: object
) -> None:
    dask_client.run(_set_log, str(sweep_log))  # type: ignore[attr-defined]
    run_dir = tmp_path / "runs"
    configs = [{"x": x} for x in range(40)]
    with Tracker(run_dir=run_dir, db_path=pg_url, code_identity="callable_module") as t:
        first = t.map(sweep_step, configs[::2], name="sweep")  # half cached beforehand
        assert not any(r.cache_hit for r in first)
        sweep_log.unlink()

        results = t.map(sweep_step, configs, name="sweep", client=dask_client)
        assert [r.value for r in results[1::2]] == [x * 10 for x in range(1, 40, 2)]
        assert all(r.cache_hit for r in results[::2])
        assert not any(r.cache_hit for r in results[1::2])
        # The cached half never executed (nor was shipped); the other half ran on workers.
        assert _executed(sweep_log) == list(range(1, 40, 2))
        runs = t.find_runs(model="sweep", limit=None)
        assert len(runs) == 20 + 40  # every point of both sweeps is recorded
        assert {r.run.id for r in results} <= {r.id for r in runs}
        owners = {r.owner["pid"] for r in runs if not r.cache_hit and r.owner}
        assert len(owners - {os.getpid()}) >= 1  # misses were recorded by worker processes


def test_a_failing_point_on_dask_is_a_failed_run_and_others_complete(
    tmp_path: Path, sweep_log: Path, pg_url: str, dask_client: object
) -> None:
    dask_client.run(_set_log, str(sweep_log))  # type: ignore[attr-defined]
    configs = [{"x": 1}, {"x": 2, "fail": 1}, {"x": 3}]
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        results = t.map(sweep_step, configs, name="sweep", client=dask_client)
        assert [r.run.status for r in results] == ["completed", "failed", "completed"]
        assert "point 2 is bad" in (results[1].run.error or "")
        [stored] = t.find_runs(status="failed")  # recorded in the store by the worker
        assert stored.id == results[1].run.id and "point 2 is bad" in (stored.error or "")


def _advisory_locks(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
    return int(row[0]) if row else -1


def test_points_per_task_runs_chunks_and_keeps_every_contract(
    tmp_path: Path, sweep_log: Path, pg_url: str, dask_client: object
) -> None:
    """Chunks of 4: order kept, a failing point isolated, an identical point inside a
    chunk executed once, every record in the store, no signature lock left held."""
    dask_client.run(_set_log, str(sweep_log))  # type: ignore[attr-defined]
    configs = [{"x": x} for x in range(10)]
    configs[3] = {"x": 3, "fail": 1}
    configs.insert(2, {"x": 1})  # the same point as configs[1], in the same chunk
    with Tracker(run_dir=tmp_path / "runs", db_path=pg_url, code_identity="callable_module") as t:
        results = t.map(sweep_step, configs, name="sweep", client=dask_client, points_per_task=4)
        assert len(results) == len(configs)
        assert [r.value for r in results if not r.cache_hit] == [
            x * 10 if x != 3 else None for x in range(10)
        ]
        assert results[2].cache_hit and results[2].run.reused_run_id == results[1].run.id
        assert results[4].run.status == "failed" and "point 3 is bad" in (
            results[4].run.error or ""
        )
        assert _executed(sweep_log) == list(range(10))  # the duplicate did not execute
        stored = {r.id: r for r in t.find_runs(model="sweep", limit=None)}
        assert {r.run.id for r in results} <= set(stored)
        assert stored[results[4].run.id].status == "failed"
        assert _advisory_locks(pg_url) == 0  # each chunk's message released its locks
        again = t.map(sweep_step, configs, name="sweep", client=dask_client, points_per_task=4)
        assert [r.cache_hit for r in again] == [r.run.status == "completed" for r in results]


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "4"])
def test_points_per_task_must_be_a_positive_integer(tmp_path: Path, bad: object) -> None:
    from consist.errors import ConfigError

    with Tracker(run_dir=tmp_path / "runs", db_path=None) as t:
        with pytest.raises(ConfigError, match="points_per_task") as caught:
            t.map(sweep_step, [{"x": 1}], client=object(), points_per_task=bad)  # type: ignore[arg-type]
    assert caught.value.context["value"] == repr(bad)
