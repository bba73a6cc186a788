"""Query speed on a large store: find_runs, find_latest_run, get_run, lineage, open, size.

Usage::

    python benchmarks/bench_queries.py [--runs 100000] [--chain 50] [--repeat 200]
                                       [--work-dir /tmp] [--out FILE] [--mlflow]
                                       [--only lineage] [--store DIR]
                                       [--mlflow-store DIR]

``--only lineage`` times the two lineage calls alone (no open / find_runs / mlflow).
``--store DIR`` keeps the populated store in DIR and reuses it on the next call with
the same DIR, ``--runs`` and ``--chain`` (populating 100,000 runs takes ~30 s).

Populating: runs are not executed. The benchmark builds ``ConsistRecord`` objects
directly (the shape the recorder writes: run, config, input and output artifacts) and
hands them to the store's bulk ingest path (``DuckDBStore.record_runs``, the same
``read_json`` bulk upsert the journal sync uses) in batches of 5,000, and writes the
snapshot files of the last chain: the run ``get_run`` reads and the 50 runs both lineage
walks meet. A real run always has its snapshot, and the tracker reads these runs from it
(``get_run``, and lineage since it takes the runs met from their snapshots, asking the
store only for runs without one); the other runs have none, which only matters to
calls this benchmark does not make. A reused ``--store`` gets the missing snapshots of
that chain written before timing. The tracker is then opened on that run_dir and db.

Shape: ``runs / chain`` chains of ``chain`` runs. Run ``i`` of a chain reads output
0 of run ``i - 1`` (run 0 reads a raw file) and a shared raw file, and writes four
outputs: 4 artifacts per run (400,000 for 100,000 runs). Runs carry model (5 models),
year (2020-2049), iteration (chain position), stage/phase, tags and meta, so every
filter has work to do.

Measured (median and p90 over ``--repeat`` calls, after one warm-up):
find_runs (model + year + tags, limit 100), find_latest_run (model + year),
get_run, get_artifact_lineage of the last output of a chain (depth ``chain``),
downstream lineage of a chain's first raw input, find_artifacts(key=...),
opening a Tracker on the populated store plus its first query (the "open" cost),
the store's size per 1,000 runs, and the sync check before a query when nothing is
pending. With ``--mlflow``, MLflow's ``search_runs`` with the filters equivalent to
find_runs and find_latest_run is timed the same way on MLflow's SQLite tracking store
holding the same runs (bench_queries_mlflow.py: how to install MLflow beside Consist, how
the store is filled and checked). ``--mlflow-store DIR`` keeps that store and reuses it
like ``--store``. The JSON ends with the load average.

One JSON object goes to stdout. Targets (docs/performance.md): find_runs /
find_latest_run / get_run <= 5 ms, lineage depth 50 <= 20 ms, open <= 100 ms,
<= 2 MB per 1,000 runs, sync check not measurable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import duckdb

from consist import Tracker
from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.persist.snapshot import write_snapshot
from consist.store.base import RunQuery
from consist.store.duckdb.store import DuckDBStore

MODELS = ("households", "traffic", "land_use", "energy", "emissions")
BATCH = 5_000


def _ts(n: int) -> str:
    seconds = 1_700_000_000 + n
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{n % 999_999 + 1:06d}+00:00"
    )


def _artifact(aid: str, key: str, run_id: str, n: int, producer: str | None) -> Artifact:
    return Artifact(
        id=aid,
        key=key,
        uri=f"./outputs/{run_id}/{key}.parquet",
        driver="parquet",
        hash="h" + aid[:20],
        size=1024 + n % 100,
        run_id=run_id,
        producer_signature=producer,
        created_at=_ts(n),
        meta={},
    )


def make_records(runs: int, chain: int) -> list[ConsistRecord]:
    records = []
    shared = _artifact("raw-shared", "zones", "c0-0", 0, None)
    for n in range(runs):
        c, i = divmod(n, chain)
        run_id = f"c{c}-{i}"
        model = MODELS[c % len(MODELS)]
        signature = f"sig{n:012d}"
        if i == 0:
            upstream = _artifact(f"raw-{c}", "seed", run_id, n, None)
        else:
            upstream = records[-1].outputs[0]
        outputs = [_artifact(f"a{n:08d}-{k}", f"out{k}", run_id, n, signature) for k in range(4)]
        run = Run(
            id=run_id,
            name=f"{model}_step",
            model_name=model,
            status="completed" if n % 50 else "failed",
            year=2020 + c % 30,
            iteration=i,
            stage="sim" if i % 2 else "prep",
            phase="main",
            tags=["sweep", f"group{c % 20}"] + (["calibration"] if c % 7 == 0 else []),
            signature=signature,
            config_hash=f"cfg{n}",
            input_hash=f"inp{n}",
            git_hash="code1",
            code_identity_mode="callable_module",
            artifact_dir=f"./outputs/{run_id}",
            created_at=_ts(n),
            started_at=_ts(n),
            ended_at=_ts(n),
            duration_seconds=0.5,
            meta={"seed": n % 1000, "scenario": f"s{c % 10}"},
        )
        records.append(
            ConsistRecord(
                run=run,
                config={"seed": n % 1000, "chain": c, "step": i},
                inputs=[upstream, shared],
                outputs=outputs,
                identity={"signature": signature},
            )
        )
    return records


def populate(work: str, runs: int, chain: int) -> tuple[str, str, list[ConsistRecord]]:
    run_dir = os.path.join(work, "runs")
    db_path = os.path.join(work, "provenance.duckdb")
    # A tracker creates the run_dir layout, the generation marker and an empty store.
    with Tracker(run_dir=run_dir, db_path=db_path) as tracker:
        tracker.find_runs(limit=1)
    layout = RunLayout(run_dir)
    store = DuckDBStore(db_path, layout=layout, lock_timeout=60)
    records = make_records(runs, chain)
    started = time.perf_counter()
    with store.session():
        for start in range(0, len(records), BATCH):
            store.record_runs(records[start : start + BATCH])
    store.close()
    print(f"populated {runs} runs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    write_chain_snapshots(layout, records, chain)
    # A store is read in sessions that end, so the WAL is checkpointed like a real one.
    conn = duckdb.connect(db_path)
    conn.execute("CHECKPOINT")
    conn.close()
    return run_dir, db_path, records


def write_chain_snapshots(layout: RunLayout, records: list[ConsistRecord], chain: int) -> None:
    """Snapshots of the last chain (the runs get_run reads and both lineage walks meet)."""
    for record in records[-chain:]:
        if not os.path.exists(layout.snapshot_path(record.run.id)):
            write_snapshot(layout, record, update_latest=False)


def populate_or_reuse(
    store_dir: str | None, work: str, runs: int, chain: int
) -> tuple[str, str, list[ConsistRecord]]:
    """``populate`` into ``store_dir`` once; later calls rebuild only the records."""
    if store_dir is None:
        return populate(work, runs, chain)
    marker = os.path.join(store_dir, f"populated-{runs}-{chain}")
    if os.path.exists(marker):
        run_dir = os.path.join(store_dir, "runs")
        records = make_records(runs, chain)
        write_chain_snapshots(RunLayout(run_dir), records, chain)
        return run_dir, os.path.join(store_dir, "provenance.duckdb"), records
    if os.path.exists(store_dir) and os.listdir(store_dir):
        sys.exit(f"--store {store_dir}: not empty and not a store this benchmark populated")
    os.makedirs(store_dir, exist_ok=True)
    found = populate(store_dir, runs, chain)
    open(marker, "w").close()
    return found


def bench_lineage(
    tracker: Tracker, last: ConsistRecord, head: ConsistRecord, repeat: int
) -> dict[str, Any]:
    return {
        "lineage_upstream": timed(lambda: tracker.get_artifact_lineage(last.outputs[0].id), repeat),
        "lineage_downstream": timed(
            lambda: tracker.get_artifact_lineage(head.inputs[0].id, direction="downstream"),
            repeat,
        ),
    }


def timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 3),
    }


def bench_open(run_dir: str, db_path: str, repeat: int) -> dict[str, float]:
    def open_and_query() -> None:
        with Tracker(run_dir=run_dir, db_path=db_path, access_mode="read") as tracker:
            tracker.find_latest_run(model="traffic")

    return timed(open_and_query, max(5, repeat // 20))


def _bare(store: Any, query: RunQuery) -> None:
    with store.read_session():
        store.query_runs(query)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--chain", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--mlflow", action="store_true")
    parser.add_argument(
        "--mlflow-store", default=None, help="keep and reuse the filled MLflow store here"
    )
    parser.add_argument("--only", choices=["lineage"], default=None)
    parser.add_argument("--store", default=None, help="keep and reuse the populated store here")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="consist-bench-queries-", dir=args.work_dir)
    try:
        run_dir, db_path, records = populate_or_reuse(args.store, work, args.runs, args.chain)
        last = records[-1]
        head = records[-args.chain]
        if args.only == "lineage":
            with Tracker(run_dir=run_dir, db_path=db_path) as tracker:
                lineage = bench_lineage(tracker, last, head, args.repeat)
            print(json.dumps({"runs": args.runs, "chain": args.chain, **lineage}, indent=2))
            return
        results: dict[str, Any] = {
            "runs": args.runs,
            "artifacts": 4 * args.runs + args.runs // args.chain + 1,
            "chain": args.chain,
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "store_mb_per_1000_runs": round(os.path.getsize(db_path) / 1e6 / (args.runs / 1000), 3),
            "open_and_first_query": bench_open(run_dir, db_path, args.repeat),
        }
        with Tracker(run_dir=run_dir, db_path=db_path) as tracker:
            repeat = args.repeat
            results["find_runs"] = timed(
                lambda: tracker.find_runs(model="traffic", year=2031, tags=["sweep"]), repeat
            )
            results["find_latest_run"] = timed(
                lambda: tracker.find_latest_run(model="traffic", year=2031), repeat
            )
            latest = tracker.find_latest_run(model="traffic", year=2031)
            results["get_run"] = timed(lambda: tracker.get_run(last.run.id), repeat)
            results.update(bench_lineage(tracker, last, head, repeat))
            results["find_artifacts_key"] = timed(
                lambda: tracker.find_artifacts(key="out3", limit=100), repeat
            )
            # What a query pays before it asks the store when nothing is pending: the
            # journal check, then the whole read policy compared with the bare store call.
            services = tracker._services
            query = RunQuery(model="traffic", year=2031, limit=100)
            results["sync_check_nothing_pending"] = {
                "journal_check": timed(services.sync._journal.has_unconsumed, repeat * 10),
                "find_runs_via_sync": timed(lambda: services.sync.query_runs(query), repeat),
                "find_runs_bare_store": timed(lambda: _bare(services.store, query), repeat),
            }
        if args.mlflow:
            import bench_queries_mlflow

            results["mlflow"] = bench_queries_mlflow.bench(
                args.mlflow_store or os.path.join(work, "mlflow"),
                records,
                args.chain,
                args.repeat,
                timed,
                latest.id if latest else None,
            )
        results["load_average"] = [round(x, 2) for x in os.getloadavg()]
        text = json.dumps(results, indent=2)
        print(text)
        if args.out:
            with open(args.out, "w") as handle:
                handle.write(text + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
