"""Data-layer benchmark: a GROUP BY over a hybrid view, and ingestion of 1M rows.

Targets (docs/performance.md, "Data layer"):
* 50 runs x a 200k-row parquet output: the GROUP BY over the view created by
  ``create_view`` within 1.05x of the same query over ``read_parquet`` of the files;
* ingesting 1M rows (``tracker.ingest(artifact)``, the artifact's parquet file) at
  >= 0.5x the rate of DuckDB's own ``INSERT ... SELECT *, <provenance> FROM
  read_parquet`` of the same rows (the first ingest, where dlt creates the table, is
  printed apart).
Both sides are measured in this one run, interleaved, best of N (medians printed too); peak RSS is printed.

    python benchmarks/bench_data.py [--runs 50] [--rows 200000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from consist import Tracker


def _frame(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "zone": rng.integers(0, 1000, rows),
            "trips": rng.random(rows),
            "mode": rng.choice(np.array(["car", "bus", "walk"]), rows),
        }
    )


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_view(root: Path, runs: int, rows: int, repeat: int) -> tuple[float, float]:
    tracker = Tracker(root / "runs", root / "view.duckdb", code_identity="callable_module")
    paths = []
    for i in range(runs):
        path = root / "data" / f"trips_{i}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_frame(rows, i), path)
        with tracker.trace("demand", year=2000 + i, config={"i": i}):
            tracker.log_artifact(path, "trips")
        paths.append(str(path))
    tracker.create_view("trips_all", "trips")
    tracker.close()
    conn = duckdb.connect(str(root / "view.duckdb"), read_only=True)
    query = "SELECT mode, zone, sum(trips), count(*) FROM {} GROUP BY ALL"
    direct = query.format(f"read_parquet({paths!r})")
    through_view = query.format("trips_all")

    def rounded(sql: str) -> list[tuple]:  # float sums differ in the last bits by order
        return sorted((m, z, round(s, 6), n) for m, z, s, n in conn.execute(sql).fetchall())

    assert rounded(direct) == rounded(through_view)
    view_times: list[float] = []
    direct_times: list[float] = []
    cpu: dict[str, list[float]] = {"view": [], "direct": []}
    for i in range(repeat):  # interleaved, order alternating: both see the same load
        pair = [(view_times, through_view, "view"), (direct_times, direct, "direct")]
        for times, sql, name in pair if i % 2 == 0 else pair[::-1]:
            before = time.process_time()  # CPU of all DuckDB threads: less load-sensitive
            times.append(_best(lambda sql=sql: conn.execute(sql).fetchall(), 1))
            cpu[name].append(time.process_time() - before)
    view_cpu, direct_cpu = statistics.median(cpu["view"]), statistics.median(cpu["direct"])
    print(
        f"group by, median of {repeat}: view {statistics.median(view_times) * 1e3:.1f} ms, "
        f"read_parquet {statistics.median(direct_times) * 1e3:.1f} ms; CPU time (median) "
        f"view {view_cpu * 1e3:.1f} ms, read_parquet {direct_cpu * 1e3:.1f} ms, "
        f"ratio {view_cpu / direct_cpu:.3f}"
    )
    # Grouping by run uses the provenance columns: against grouping by file name.
    by_run = "SELECT consist_run_id, sum(trips), count(*) FROM trips_all GROUP BY ALL"
    by_file = (
        f"SELECT filename, sum(trips), count(*) FROM read_parquet({paths!r}, filename = true) "
        "GROUP BY ALL"
    )
    run_times, file_times = [], []
    for _ in range(repeat):
        run_times.append(_best(lambda: conn.execute(by_run).fetchall(), 1))
        file_times.append(_best(lambda: conn.execute(by_file).fetchall(), 1))
    print(
        f"group by run over the view {min(run_times) * 1e3:.1f} ms, group by filename over "
        f"read_parquet {min(file_times) * 1e3:.1f} ms"
    )
    conn.close()
    return min(view_times), min(direct_times)


def bench_ingest(root: Path, rows: int, repeat: int) -> dict[str, float]:
    """Seconds: Consist's first ingest (dlt creates the table), its best later ingest,
    and DuckDB's best INSERT of the same rows (the file plus the same five provenance
    columns, ids of the same length) into an existing table of its own."""
    path = root / "big.parquet"
    pq.write_table(_frame(rows, 99), path)
    tracker = Tracker(root / "ingest_runs", root / "ingest.duckdb", code_identity="callable_module")
    with tracker.trace("big", config={"rows": rows}):
        artifact = tracker.log_artifact(path, "big")
    start = time.perf_counter()
    tracker.ingest(artifact)
    first = time.perf_counter() - start
    ours, theirs = [], []
    ref = duckdb.connect(str(root / "ref.duckdb"))
    provenance = (
        f"'{artifact.run_id}' AS consist_run_id, '{artifact.id}' AS consist_artifact_id, "
        "CAST(NULL AS INTEGER) AS consist_year, CAST(NULL AS INTEGER) AS consist_iteration, "
        "CAST(NULL AS VARCHAR) AS consist_scenario_id"
    )
    select = f"SELECT *, {provenance} FROM read_parquet('{path}')"
    ref.execute(f"CREATE TABLE big AS {select} LIMIT 0")
    for _ in range(repeat):  # interleaved, so both see the same machine load
        ours.append(_best(lambda: tracker.ingest(artifact), 1))
        theirs.append(_best(lambda: ref.execute(f"INSERT INTO big {select}"), 1))
    ref.close()
    tracker.close()
    conn = duckdb.connect(str(root / "ingest.duckdb"), read_only=True)
    count = conn.execute("SELECT count(*) FROM global_tables.big").fetchone()[0]
    conn.close()
    assert count == rows * (repeat + 1), count
    return {"first": first, "ours": min(ours), "theirs": min(theirs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        view, direct = bench_view(root, args.runs, args.rows, args.repeat)
        print(
            f"group by over {args.runs}x{args.rows} rows: view {view * 1e3:.1f} ms, "
            f"read_parquet {direct * 1e3:.1f} ms, ratio {view / direct:.3f} (target <= 1.05)"
        )
        got = bench_ingest(root, args.ingest_rows, max(3, args.repeat // 2))
        ours, theirs = got["ours"], got["theirs"]
        rate = args.ingest_rows / ours
        print(
            f"ingest {args.ingest_rows} rows: consist {ours:.3f} s ({rate:,.0f} rows/s), "
            f"duckdb insert {theirs:.3f} s, relative rate {theirs / ours:.2f} (target >= 0.5); "
            f"first ingest (dlt creates the table) {got['first']:.3f} s, relative rate "
            f"{theirs / got['first']:.2f}"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
