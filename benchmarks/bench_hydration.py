"""Benchmark: what strict validation of a cache hit costs when its output is large.

Usage::

    python benchmarks/bench_hydration.py [--work-dir DIR] [--sparse] [--calls N] [--keep]

A run records a 1 GiB output (``output_paths``); it is hashed once, when the run ends.
Then the same run is repeated as cache hits with ``validate_cached_outputs`` = ``lazy``,
``strict`` and ``none`` (interleaved in blocks, so machine load drifts equally), and
once more with ``strict`` from a *fresh* tracker (a new FileDigester: the digest comes
from the on-disk memo, ``run_dir/.consist/digests``). Target (issue 12): strict validation
of an unchanged 1 GiB output costs <= 2 ms.

The file is written with real random bytes by default (about 1-3 s on a local disk);
``--sparse`` makes a sparse file instead (instant; reads as zeros, same hashing cost).
Prints ONE JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consist import CacheOptions, Tracker

GIB = 1 << 30
CHUNK = 64 << 20
TARGET_MS = 2.0


def record_big(target: str) -> None:
    """The step: its 1 GiB output already exists (written outside the timed region)."""
    del target


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_file(path: Path, sparse: bool) -> None:
    with open(path, "wb") as handle:
        if sparse:
            handle.truncate(GIB)
            return
        written = 0
        while written < GIB:
            handle.write(os.urandom(CHUNK))
            written += CHUNK


def call(tracker: Tracker, big: Path, mode: str) -> Any:
    return tracker.run(
        fn=record_big,
        runtime_kwargs={"target": str(big)},
        output_paths={"big": big},
        cache_options=CacheOptions(validate_cached_outputs=mode),
    )


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work-dir", default=tempfile.gettempdir())
    parser.add_argument("--sparse", action="store_true", help="sparse 1 GiB file")
    parser.add_argument("--calls", type=int, default=200, help="hits per mode")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="consist-hydration-", dir=args.work_dir))
    try:
        big = work / "big.bin"
        log(f"writing 1 GiB ({'sparse' if args.sparse else 'random bytes'}) to {big}")
        write_ms = timed(lambda: make_file(big, args.sparse))
        tracker = Tracker(run_dir=work / "runs", code_identity="callable_module")
        log("first run: the output is hashed once")
        first_ms = timed(lambda: call(tracker, big, "lazy"))
        times: dict[str, list[float]] = {"lazy": [], "strict": [], "none": []}
        gc.collect()
        for _ in range(max(1, args.calls // 25)):
            for mode, values in times.items():
                for _ in range(25):
                    t0 = time.perf_counter()
                    result = call(tracker, big, mode)
                    values.append((time.perf_counter() - t0) * 1e3)
                    assert result.cache_hit, mode
        tracker.close()
        log("fresh tracker: the digest comes from the on-disk memo")
        fresh: list[float] = []
        for _ in range(20):
            again = Tracker(run_dir=work / "runs", code_identity="callable_module")
            t0 = time.perf_counter()
            result = call(again, big, "strict")
            fresh.append((time.perf_counter() - t0) * 1e3)
            assert result.cache_hit
            again.close()
        hit = {mode: median_ms(values) for mode, values in times.items()}
        strict_cost = round(hit["strict"] - hit["lazy"], 4)
        out = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "file": {"bytes": GIB, "sparse": args.sparse, "write_ms": round(write_ms, 1)},
            "first_run_ms": round(first_ms, 1),
            "hit_median_ms": hit,
            "hit_p90_ms": {
                mode: round(statistics.quantiles(v, n=10)[-1], 4) for mode, v in times.items()
            },
            "strict_minus_lazy_ms": strict_cost,
            "strict_hit_fresh_tracker_median_ms": median_ms(fresh),
            "target_ms": TARGET_MS,
            "met": hit["strict"] <= TARGET_MS,
            "met_fresh_tracker": median_ms(fresh) <= TARGET_MS,
        }
        print(json.dumps(out, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
