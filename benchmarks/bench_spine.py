"""Benchmark of Consist's run spine: import cost, hit/miss cost, flatness, 1 GiB input.

Usage::

    python benchmarks/bench_spine.py [--quick] [--out FILE] [--profile] [--skip-big]

Prints ONE JSON object on stdout (progress goes to stderr). Every timing is a
wall-clock ``time.perf_counter`` measurement of single calls; figures are in
milliseconds unless the key says otherwise. See docs/performance.md for what each
section measures and the targets it is compared with.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import consist

CALLS = 200
IMPORT_REPEATS = 15
HEAVY_MODULES = ("pandas", "pyarrow", "duckdb", "sqlalchemy", "numpy", "pydantic")
FLAT_SIZES_FULL = (0, 1_000, 10_000, 100_000)
FLAT_SIZES_QUICK = (0, 1_000, 10_000)
GIB = 1 << 30
WRITE_CHUNK = 64 << 20
READ_CHUNK = 8 << 20
BIG_RERUNS = 20
PROFILE_CALLS = 2000
CODE_IDENTITY = "callable_module"


# --- the benchmarked functions (module level: stable code identity across processes) ----


def step(config: dict[str, Any]) -> Any:
    """Trivial step: write a tiny file through consist.output_path and return it."""
    out = consist.output_path("out", ext="txt")
    out.write_text(json.dumps(config))
    return out


def big_step(config: dict[str, Any]) -> Any:
    """Step with a (large) declared input; the body only writes a tiny output."""
    out = consist.output_path("out", ext="txt")
    out.write_text(json.dumps(config))
    return out


def joblib_step(x: int, out_dir: str) -> str:
    """Same semantics as ``step`` for joblib.Memory: write a tiny file, return its path."""
    path = os.path.join(out_dir, f"{x}.txt")
    with open(path, "w") as handle:
        handle.write(json.dumps({"x": x}))
    return path


# --- helpers ----------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stats(values_ms: Sequence[float]) -> dict[str, float | int]:
    """Median, p90, mean and max of per-call times (ms)."""
    values = sorted(values_ms)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else 0.0
    return {
        "median": round(statistics.median(values), 4),
        "p90": round(p90, 4),
        "mean": round(statistics.fmean(values), 4),
        "max": round(values[-1], 4),
        "n": len(values),
    }


def timed_calls(fn: Callable[[Any], Any], args: Iterable[Any]) -> tuple[list[float], list[Any]]:
    """Call ``fn(arg)`` for each arg; return per-call times (ms) and the results."""
    gc.collect()
    times: list[float] = []
    results: list[Any] = []
    clock = time.perf_counter
    for arg in args:
        t0 = clock()
        result = fn(arg)
        times.append((clock() - t0) * 1e3)
        results.append(result)
    return times, results


def check_hits(results: Sequence[Any], expected: bool, what: str) -> None:
    wrong = sum(1 for r in results if r.cache_hit is not expected)
    if wrong:
        raise RuntimeError(f"{what}: {wrong}/{len(results)} calls had cache_hit != {expected}")


def new_tracker(run_dir: str, **settings: Any) -> consist.Tracker:
    config = consist.TrackerConfig(
        run_dir=run_dir,
        db_path=os.path.join(run_dir, "provenance.duckdb"),
        code_identity=CODE_IDENTITY,
        **settings,
    )
    return consist.Tracker(config=config)


def run_step(tracker: consist.Tracker, config: dict[str, Any]) -> Any:
    return tracker.run(fn=step, config=config, outputs=["out"])


def timed_runs(
    tracker: consist.Tracker, configs: Iterable[dict[str, Any]]
) -> tuple[list[float], list[Any]]:
    """``timed_calls`` of ``run_step(tracker, config)`` for each config."""
    return timed_calls(lambda config: run_step(tracker, config), configs)


def ms_since(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1e3, 3)


def _version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - informational only
        return None


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as handle:
            mem_kb = int(handle.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "mem_gib": round(mem_kb / (1 << 20), 1) if mem_kb else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "versions": {
            name: _version(name)
            for name in ("consist", "duckdb", "joblib", "blake3", "pandas", "pyarrow")
        },
    }


# --- 1. import --------------------------------------------------------------------------


def _subprocess_ms(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - t0) * 1e3


def _heavy_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def bench_import() -> dict[str, Any]:
    log("import: timing fresh interpreters")
    variants = {
        "pass": "pass",
        "import_consist": "import consist",
        "import_consist_Tracker": "import consist; consist.Tracker",
    }
    for code in variants.values():  # warm-up: byte-compile, fill the page cache
        _subprocess_ms(code)
    samples: dict[str, list[float]] = {key: [] for key in variants}
    for _ in range(IMPORT_REPEATS):
        for key, code in variants.items():  # interleaved, so drift hits all variants alike
            samples[key].append(_subprocess_ms(code))
    base = statistics.median(samples["pass"])
    return {
        "repeats": IMPORT_REPEATS,
        "interpreter_ms": {key: stats(values) for key, values in samples.items()},
        "import_consist_cost_ms": round(statistics.median(samples["import_consist"]) - base, 3),
        "import_consist_Tracker_cost_ms": round(
            statistics.median(samples["import_consist_Tracker"]) - base, 3
        ),
        "heavy_modules_after_import_consist": _heavy_after("import consist"),
        "heavy_modules_after_consist_Tracker": _heavy_after("import consist; consist.Tracker"),
    }


# --- 2. tracker.run vs joblib.Memory ----------------------------------------------------


def bench_run_vs_joblib(work: str) -> dict[str, Any]:
    log("run vs joblib: consist")
    run_dir = os.path.join(work, "spine")
    tracker = new_tracker(run_dir)
    warm, _ = timed_calls(lambda i: run_step(tracker, {"warmup": i}), range(20))
    timed_calls(lambda i: run_step(tracker, {"warmup": i}), range(20))
    miss, miss_results = timed_calls(lambda i: run_step(tracker, {"x": i}), range(CALLS))
    check_hits(miss_results, False, "consist miss")
    hit, hit_results = timed_calls(lambda i: run_step(tracker, {"x": i}), range(CALLS))
    check_hits(hit_results, True, "consist hit")
    tracker.close()
    # A fresh tracker (as a new process would be): the first lookup of each signature
    # reads its index entry from disk instead of the in-process memo.
    fresh = new_tracker(run_dir)
    run_step(fresh, {"warmup": 0})
    cold, cold_results = timed_calls(lambda i: run_step(fresh, {"x": i}), range(CALLS))
    check_hits(cold_results, True, "consist cold hit")
    fresh.close()

    log("run vs joblib: joblib.Memory")
    import joblib

    out_dir = os.path.join(work, "joblib-out")
    os.makedirs(out_dir)
    memory = joblib.Memory(location=os.path.join(work, "joblib-cache"), verbose=0)
    cached = memory.cache(joblib_step)
    for i in range(20):  # warm-up, like consist
        cached(-1 - i, out_dir)
        cached(-1 - i, out_dir)
    jl_miss, _ = timed_calls(lambda i: cached(i, out_dir), range(CALLS))
    jl_hit, _ = timed_calls(lambda i: cached(i, out_dir), range(CALLS))

    consist_s = {"miss_ms": stats(miss), "hit_ms": stats(hit), "hit_fresh_tracker_ms": stats(cold)}
    joblib_s = {"miss_ms": stats(jl_miss), "hit_ms": stats(jl_hit)}
    return {
        "calls": CALLS,
        "code_identity": CODE_IDENTITY,
        "first_call_ms": round(warm[0], 3),
        "consist": consist_s,
        "joblib": joblib_s,
        "ratio_consist_over_joblib_median": {
            "miss": round(consist_s["miss_ms"]["median"] / joblib_s["miss_ms"]["median"], 2),
            "hit": round(consist_s["hit_ms"]["median"] / joblib_s["hit_ms"]["median"], 2),
        },
    }


# --- 3. flatness ------------------------------------------------------------------------


def bench_flatness(work: str, sizes: Sequence[int]) -> dict[str, Any]:
    run_dir = os.path.join(work, "flat")
    populator = new_tracker(run_dir)  # default sync thresholds: a DuckDB batch per 500 runs
    populated = 0
    rows: list[dict[str, Any]] = []
    rng = random.Random(1234)
    for size in sizes:
        row: dict[str, Any] = {"n_runs": size}
        if size > populated:
            log(f"flatness: populating {populated} -> {size} runs with tracker.run")
            t0 = time.perf_counter()
            for i in range(populated, size):
                run_step(populator, {"pop": i})
            seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            row["populate_final_sync_runs"] = populator.sync_store()
            row["populate_final_sync_ms"] = ms_since(t0)
            row["populate_seconds"] = round(seconds, 2)
            row["populate_per_run_ms"] = round(seconds * 1e3 / (size - populated), 4)
            populated = size
        log(f"flatness: measuring at {size} runs")
        probe = new_tracker(run_dir)
        run_step(probe, {"warmup-flat": size})
        miss, results = timed_runs(probe, [{"probe": size, "i": i} for i in range(CALLS)])
        check_hits(results, False, f"flat miss @{size}")
        probe.close()
        if size:
            targets = [{"pop": i} for i in rng.sample(range(size), min(CALLS, size))]
        else:
            targets = [{"probe": size, "i": i} for i in range(CALLS)]
        reader = new_tracker(run_dir)
        run_step(reader, {"warmup-flat": size})
        cold, results = timed_runs(reader, targets)
        check_hits(results, True, f"flat cold hit @{size}")
        warm, results = timed_runs(reader, targets)
        check_hits(results, True, f"flat warm hit @{size}")
        row["miss_ms"] = stats(miss)
        row["hit_cold_ms"] = stats(cold)
        row["hit_warm_ms"] = stats(warm)
        t0 = time.perf_counter()
        row["sync_store_pending_runs"] = reader.sync_store()
        row["sync_store_pending_ms"] = ms_since(t0)
        t0 = time.perf_counter()
        reader.sync_store()
        row["sync_store_empty_ms"] = ms_since(t0)
        t0 = time.perf_counter()
        found = reader.find_runs(limit=100)
        row["find_runs_limit100_ms"] = ms_since(t0)
        t0 = time.perf_counter()
        reader.find_latest_run(model="step")
        row["find_latest_run_ms"] = ms_since(t0)
        row["find_runs_returned"] = len(found)
        row["store_rows"] = reader._services.store.count_runs()
        reader.close()
        rows.append(row)
        log(f"flatness @{size}: {json.dumps({k: row[k] for k in row if k.endswith('_ms')})}")
    populator.close()
    return {"calls": CALLS, "sizes": list(sizes), "results": rows}


# --- 4. 1 GiB input ---------------------------------------------------------------------


def _write_random(path: str, size: int) -> None:
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            chunk = min(WRITE_CHUNK, remaining)
            handle.write(os.urandom(chunk))
            remaining -= chunk


def _blake3_ms(path: str, threads: int) -> float:
    import blake3

    t0 = time.perf_counter()
    hasher = blake3.blake3(max_threads=threads)
    hasher.update_mmap(path)
    hasher.hexdigest()
    return (time.perf_counter() - t0) * 1e3


def _sha256_ms(path: str) -> float:
    t0 = time.perf_counter()
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            hasher.update(chunk)
    hasher.hexdigest()
    return (time.perf_counter() - t0) * 1e3


def _gbps(ms: float, size: int) -> float:
    return round(size / (ms / 1e3) / 1e9, 2)


def run_big(tracker: consist.Tracker, path: str) -> Any:
    return tracker.run(fn=big_step, config={"big": 1}, inputs={"big": path}, outputs=["out"])


def bench_big_input(size: int) -> dict[str, Any]:
    import blake3

    tmp = tempfile.mkdtemp(prefix="consist-bench-big-", dir="/tmp")
    try:
        path = os.path.join(tmp, "big.bin")
        log(f"big input: writing {size / GIB:.2f} GiB of random bytes")
        t0 = time.perf_counter()
        _write_random(path, size)
        write_ms = ms_since(t0)
        log("big input: raw blake3 / sha256")
        b3_auto = [_blake3_ms(path, blake3.blake3.AUTO) for _ in range(3)]
        b3_one = _blake3_ms(path, 1)
        sha = _sha256_ms(path)

        log("big input: consist first run (hashing)")
        run_dir = os.path.join(tmp, "runs")
        tracker = new_tracker(run_dir)
        run_step(tracker, {"warmup-big": 0})  # module loading, code digest, store schema
        t0 = time.perf_counter()
        first = run_big(tracker, path)
        first_ms = ms_since(t0)
        check_hits([first], False, "big first run")
        rerun, results = timed_calls(lambda _: run_big(tracker, path), range(BIG_RERUNS))
        check_hits(results, True, "big in-process re-run")
        tracker.close()

        log("big input: re-run in a new process")
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child-rerun", run_dir, path],
            check=True,
            capture_output=True,
            text=True,
        )
        child_wall_ms = ms_since(t0)
        child = json.loads(out.stdout)
        b3_median = statistics.median(b3_auto)
        return {
            "size_bytes": size,
            "note": "file freshly written, so it is in the page cache: hashing is CPU-bound",
            "write_ms": write_ms,
            "blake3_auto_mmap_ms": stats(b3_auto),
            "blake3_auto_mmap_GBps": _gbps(b3_median, size),
            "blake3_1thread_mmap_ms": round(b3_one, 3),
            "blake3_1thread_mmap_GBps": _gbps(b3_one, size),
            "sha256_1thread_ms": round(sha, 3),
            "sha256_1thread_GBps": _gbps(sha, size),
            "consist_first_run_ms": first_ms,
            "consist_first_run_GBps": _gbps(first_ms, size),
            "consist_first_run_over_blake3": round(first_ms / b3_median, 3),
            "consist_rerun_same_process_ms": stats(rerun),
            "consist_rerun_new_process": child,
            "child_process_wall_ms": child_wall_ms,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def child_rerun(run_dir: str, path: str) -> None:
    """Run in a new process: re-run the 1 GiB step against an existing run_dir."""
    t0 = time.perf_counter()
    tracker = new_tracker(run_dir)
    construct_ms = ms_since(t0)
    io_before = _read_chars()
    t0 = time.perf_counter()
    first = run_big(tracker, path)
    first_ms = ms_since(t0)
    io_after = _read_chars()
    again, results = timed_calls(lambda _: run_big(tracker, path), range(BIG_RERUNS))
    check_hits([first, *results], True, "big new-process re-run")
    tracker.close()
    print(
        json.dumps(
            {
                "tracker_construct_ms": construct_ms,
                "first_call_ms": first_ms,
                "first_call_read_bytes": None if io_before is None else io_after - io_before,
                "later_calls_ms": stats(again),
            }
        )
    )


def _read_chars() -> int | None:
    """Bytes this process read through read() so far (Linux /proc/self/io rchar)."""
    try:
        with open("/proc/self/io") as handle:
            for line in handle:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# --- profile ----------------------------------------------------------------------------


def _profile_rows(prof: cProfile.Profile, calls: int, *, only_consist: bool, key: str) -> list:
    st = pstats.Stats(prof)
    rows = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _) in st.stats.items():  # type: ignore[attr-defined]
        if only_consist and "/consist/" not in filename.replace(os.sep, "/"):
            continue
        short = filename.replace(os.sep, "/")
        if "/consist/" in short:
            short = "consist/" + short.split("/consist/", 1)[1]
        rows.append(
            {
                "function": f"{short}:{line}({name})",
                "calls_per_run": round(ncalls / calls, 2),
                "cum_ms_per_run": round(cumtime * 1e3 / calls, 4),
                "self_ms_per_run": round(tottime * 1e3 / calls, 4),
            }
        )
    rows.sort(key=lambda r: r[key], reverse=True)
    return rows[:20]


def bench_profile(work: str) -> dict[str, Any]:
    log(f"profile: cProfile of {PROFILE_CALLS} misses and {PROFILE_CALLS} hits")
    tracker = new_tracker(os.path.join(work, "profile"))
    for i in range(20):
        run_step(tracker, {"warmup": i})
    out: dict[str, Any] = {"calls": PROFILE_CALLS, "note": "cProfile inflates absolute times"}
    for label in ("miss", "hit"):
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for i in range(PROFILE_CALLS):
            run_step(tracker, {"x": i})
        prof.disable()
        out[label] = {
            "profiled_ms_per_run": round((time.perf_counter() - t0) * 1e3 / PROFILE_CALLS, 4),
            "consist_by_cumulative": _profile_rows(
                prof, PROFILE_CALLS, only_consist=True, key="cum_ms_per_run"
            ),
            "all_by_self": _profile_rows(
                prof, PROFILE_CALLS, only_consist=False, key="self_ms_per_run"
            ),
        }
    tracker.close()
    return out


# --- main -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="flatness only up to 10k runs")
    parser.add_argument("--out", help="also write the JSON result to this file")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of hit/miss")
    parser.add_argument("--skip-big", action="store_true", help="skip the 1 GiB input section")
    parser.add_argument("--big-size", type=int, default=GIB, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)  # e.g. "0,1000" for debugging
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--child-rerun", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_rerun:
        child_rerun(*args.child_rerun)
        return 0

    sizes = FLAT_SIZES_QUICK if args.quick else FLAT_SIZES_FULL
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    work = tempfile.mkdtemp(prefix="consist-bench-", dir="/tmp")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "consist spine",
        "mode": "quick" if args.quick else "full",
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
    }
    try:
        result["import"] = bench_import()
        result["run_vs_joblib"] = bench_run_vs_joblib(work)
        result["flatness"] = bench_flatness(work, sizes)
        if not args.skip_big:
            result["big_input"] = bench_big_input(args.big_size)
        if args.profile:
            result["profile"] = bench_profile(work)
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
