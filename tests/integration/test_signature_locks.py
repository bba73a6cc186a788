"""Two processes (or threads) that start the same signature run it once; the other hits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from consist import Tracker
from consist.settings import TrackerConfig

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    import consist
    from consist import Tracker
    from consist.settings import TrackerConfig

    run_dir, counter, start_at, configs, locks, seconds = sys.argv[1:7]

    def step(config):
        with open(counter, "a") as handle:  # one line per real execution
            handle.write(json.dumps(config) + "\\n")
        time.sleep(float(seconds))
        out = consist.output_path("out", ext="json")
        out.write_text(json.dumps(config))
        return out

    tracker = Tracker(config=TrackerConfig(run_dir=run_dir, db_path=None,
                      code_identity="callable_module", signature_locks=locks == "1"))
    while time.time() < float(start_at):  # every worker starts its first run together
        time.sleep(0.001)
    hits = []
    for value in json.loads(configs):
        result = tracker.run(fn=step, name="step", config={"v": value}, outputs=["out"])
        hits.append(result.cache_hit)
    tracker.close()
    print(json.dumps(hits))
    """
)


def start_workers(
    tmp_path: Path, configs: list[list[int]], *, locks: bool = True, seconds: float = 0.5
) -> list[subprocess.Popen[str]]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    start_at = time.time() + 1.5  # past interpreter start-up of every worker
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(tmp_path / "runs"),
                str(tmp_path / "count.log"),
                str(start_at),
                json.dumps(values),
                "1" if locks else "0",
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for values in configs
    ]


def finish(workers: list[subprocess.Popen[str]]) -> list[list[bool]]:
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    return results


def executions(tmp_path: Path) -> list[dict[str, int]]:
    return [json.loads(line) for line in (tmp_path / "count.log").read_text().splitlines()]


def test_the_same_signature_at_the_same_moment_runs_once(tmp_path: Path) -> None:
    results = finish(start_workers(tmp_path, [[1], [1]]))
    assert executions(tmp_path) == [{"v": 1}]
    assert sorted(hit for hits in results for hit in hits) == [False, True]


def test_a_sweep_with_duplicate_points_runs_each_point_once(tmp_path: Path) -> None:
    points = [0, 1, 2, 3, 0, 1]
    orders = [points, points[::-1], points[2:] + points[:2], points[1:] + points[:1]]
    results = finish(start_workers(tmp_path, orders, seconds=0.1))
    done = sorted(item["v"] for item in executions(tmp_path))
    assert done == [0, 1, 2, 3]
    assert sum(not hit for hits in results for hit in hits) == 4


def test_without_locks_both_run(tmp_path: Path) -> None:
    # The opt-out really turns the lock off: both lookups miss before either finishes.
    finish(start_workers(tmp_path, [[1], [1]], locks=False))
    assert executions(tmp_path) == [{"v": 1}, {"v": 1}]


def test_a_killed_holder_does_not_block_the_next_process(tmp_path: Path) -> None:
    (holder,) = start_workers(tmp_path, [[7]], seconds=60)
    deadline = time.time() + 30
    while not (tmp_path / "count.log").exists() and time.time() < deadline:
        time.sleep(0.05)  # the holder is inside its step, holding the lock
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    tracker = Tracker(run_dir=tmp_path / "runs", db_path=None, code_identity="callable_module")
    (killed,) = tracker.find_runs()  # visible, and marked abandoned: its owner is gone
    assert killed.status == "failed" and killed.error.startswith("abandoned")
    (late,) = start_workers(tmp_path, [[7]], seconds=0)
    assert finish([late]) == [[False]]  # it ran, promptly: the OS dropped the dead lock
    assert [item["v"] for item in executions(tmp_path)] == [7, 7]


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    calls: list[int] = []

    def step(config: dict[str, int]) -> None:
        calls.append(config["v"])
        time.sleep(0.3)

    results: list[bool] = []

    def worker() -> None:
        tracker = Tracker(config=TrackerConfig(run_dir=tmp_path / "runs", db_path=None,
                                               code_identity="callable_module"))  # fmt: skip
        results.append(tracker.run(fn=step, name="t", config={"v": 1}).cache_hit)
        tracker.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert sorted(results) == [False, True]
