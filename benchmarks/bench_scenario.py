"""What a scenario adds to cache hits: 3 years x 10 steps through ``sc.run`` against the
same 30 hits through ``tracker.run``.

Usage::

    python benchmarks/bench_scenario.py [--repeats N] [--work-dir DIR] [--no-tmpfs] [--out FILE]

Both paths first run once (all misses), then alternate ``--repeats`` times (ABBA order):
a *plain* round (30 ``tracker.run`` calls, all hits) and a *scenario* round (one
``tracker.scenario`` block with the same 30 calls as steps, all hits, header begun and
ended included). Each round's wall time is one sample (ms). The verdict uses the
median of paired ratios (each scenario round over the plain round beside it). The opportunistic
background store sync is switched off and the journal synced (untimed) before each
round, so a sync started by one round is not billed to the next; the sync's own cost
grows with the number of runs recorded (31 per scenario round against 30). The target is
scenario / plain <= 1.2 on the medians. The comparison runs on --work-dir (a disk) and
on /dev/shm (tmpfs), with a DuckDB store (hits are one journal append) and without one.
Prints ONE JSON object on stdout (progress on stderr). See docs/performance.md,
section "Scenarios".
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench_spine import contention, log, machine_info, source_info, stats

import consist

YEARS = (2020, 2030, 2040)
STEPS = 10
REPEATS = 100
TARGET = 1.2


def step(config: dict[str, Any]) -> Any:
    """Trivial step: write a tiny file through consist.output_path and return it."""
    out = consist.output_path("out", ext="txt")
    out.write_text(json.dumps(config))
    return out


def _calls() -> list[tuple[str, int]]:
    return [(f"step{index}", year) for year in YEARS for index in range(STEPS)]


def plain_round(tracker: consist.Tracker) -> list[Any]:
    return [
        tracker.run(fn=step, name=name, year=year, config={"name": name}, outputs=["out"])
        for name, year in _calls()
    ]


def scenario_round(tracker: consist.Tracker) -> list[Any]:
    with tracker.scenario("bench") as sc:
        return [
            sc.run(fn=step, name=name, year=year, config={"name": name}, outputs=["out"])
            for name, year in _calls()
        ]


def _timed(fn: Callable[[consist.Tracker], list[Any]], tracker: consist.Tracker) -> float:
    t0 = time.perf_counter()
    results = fn(tracker)
    elapsed = (time.perf_counter() - t0) * 1000
    if not all(result.cache_hit for result in results):
        raise SystemExit(f"{fn.__name__}: expected every step to be a cache hit")
    return elapsed


def measure(base: str, db: bool, repeats: int) -> dict[str, Any]:
    run_dir = tempfile.mkdtemp(prefix="bench-scenario-", dir=base)
    try:
        # No opportunistic background sync inside a timed round (it would land on whichever
        # round happens to follow it); the journal is synced, untimed, between rounds.
        config = consist.TrackerConfig(
            run_dir=run_dir,
            db_path=os.path.join(run_dir, "p.duckdb") if db else None,
            code_identity="callable_module",
            sync_every_runs=1_000_000,
            sync_every_seconds=1e9,
        )
        tracker = consist.Tracker.from_config(config)
        plain_round(tracker)  # misses: fill the cache
        samples: dict[str, list[float]] = {"plain": [], "scenario": []}
        rounds = {"plain": plain_round, "scenario": scenario_round}
        gc.disable()
        try:
            for index in range(repeats):
                order = ("plain", "scenario") if index % 2 == 0 else ("scenario", "plain")
                for label in order:  # ABBA: drift on the machine hits both alike
                    if db:
                        tracker.sync_store()
                    samples[label].append(_timed(rounds[label], tracker))
        finally:
            gc.enable()
        plain, scenario = samples["plain"], samples["scenario"]
        tracker.close()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    ratio = statistics.median(scenario) / statistics.median(plain)
    # On a shared machine rounds are bimodal (quiet / preempted); the paired ratio (each
    # scenario round against the plain round next to it) and the minimums resist that.
    paired = statistics.median(s / p for s, p in zip(scenario, plain, strict=True))
    return {
        "plain_30_hits_ms": {**stats(plain), "min": round(min(plain), 4)},
        "scenario_30_hits_ms": {**stats(scenario), "min": round(min(scenario), 4)},
        "ratio_of_medians": round(ratio, 3),
        "median_paired_ratio": round(paired, 3),
        "ratio_of_minimums": round(min(scenario) / min(plain), 3),
        "meets_target": paired <= TARGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--work-dir", default=tempfile.gettempdir())
    parser.add_argument("--no-tmpfs", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    places = {"disk": args.work_dir}
    if not args.no_tmpfs and os.path.isdir("/dev/shm"):
        places["tmpfs"] = "/dev/shm"
    result: dict[str, Any] = {
        "source": source_info(),
        "machine": machine_info(),
        "contention_before": contention(),
        "target": f"scenario / plain <= {TARGET}",
    }
    for place, base in places.items():
        for db in (True, False):
            label = f"{place}_{'duckdb' if db else 'json_only'}"
            log(f"{label}: {args.repeats} x (30 plain hits, 30 scenario hits)")
            result[label] = measure(base, db, args.repeats)
    result["contention_after"] = contention()
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
