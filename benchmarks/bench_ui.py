"""Speed of ``consist ui`` on a large store: the runs page, a run page, a lineage graph.

Usage::

    python benchmarks/bench_ui.py [--runs 100000] [--repeat 30] [--work-dir /tmp]
                                  [--browser] [--out FILE]

Populating: runs are not executed. ``ConsistRecord`` objects are built directly and
handed to the DuckDB store's bulk ingest (``DuckDBStore.record_runs``, the path the
journal sync uses) in batches of 5,000; the snapshots of the runs the run page and
the graph read are written too (those pages read snapshots, as every tracker does).
The last 250 runs are the steps of one scenario, each reading the outputs of one or
two earlier steps, so its lineage graph has 502 nodes (header, 250 runs, 250 outputs, 1 raw file).

Measured in-process through Starlette's TestClient (each request opens its own
read-only Tracker, queries, renders and closes it, as the served app does): the
runs page (first page; page 1,000; filtered by model and year), a run page, the
scenario's lineage graph (server side: the elements). With ``--browser`` (Debian's
chromium + chromium-driver), the 500-node graph's client-side layout is timed in
headless Chromium. One JSON object goes to stdout.

Targets (docs/performance.md): runs page of 100,000 runs < 300 ms; a 500-node graph
laid out without freezing the page (< 1 s).
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
from pathlib import Path
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.persist.snapshot import write_snapshot
from consist.store.duckdb.store import DuckDBStore

MODELS = ("households", "traffic", "land_use", "energy", "emissions")
BATCH = 5_000
SCENARIO_STEPS = 250


def _ts(n: int) -> str:
    clock = time.gmtime(1_700_000_000 + n)
    return time.strftime("%Y-%m-%dT%H:%M:%S", clock) + f".{n % 999_999:06d}+00:00"


def _artifact(n: int, key: str, run_id: str, signature: str | None) -> Artifact:
    return Artifact(
        id=f"art{n:09d}{key}",
        key=key,
        uri=f"./outputs/{run_id}/{key}.parquet",
        driver="parquet",
        hash=f"h{n:020d}",
        size=4096 + n % 977,
        run_id=run_id,
        producer_signature=signature,
        created_at=_ts(n),
    )


def make_records(count: int) -> tuple[list[ConsistRecord], str]:
    """``count`` runs; the last SCENARIO_STEPS are steps of a scenario header."""
    records: list[ConsistRecord] = []
    header_n = count - SCENARIO_STEPS - 1
    header_id = f"run-{header_n:07d}"
    for n in range(count):
        run_id = f"run-{n:07d}"
        signature = f"sig{n:012d}"
        step = n - header_n - 1  # >= 0 for the scenario's steps
        # Steps read earlier steps' outputs; other runs (and the first step) a raw file.
        inputs = [_artifact(n, "raw", run_id, None)] if step <= 0 else []
        if step > 0:
            for earlier in {step - 1, step // 2}:
                producer = records[header_n + 1 + earlier]
                inputs.append(producer.outputs[0])
        run = Run(
            id=run_id,
            name="sweep" if n == header_n else f"{MODELS[n % 5]}_step",
            model_name=MODELS[n % 5],
            status="completed" if n % 40 else "failed",
            parent_run_id=header_id if step >= 0 else None,
            year=2020 + n % 30,
            iteration=n % 7,
            tags=["sweep", f"group{n % 20}"],
            signature=signature,
            config_hash=f"cfg{n}",
            input_hash=f"inp{n}",
            git_hash="code1",
            cache_hit=n % 3 == 0,
            created_at=_ts(n),
            started_at=_ts(n),
            ended_at=_ts(n),
            duration_seconds=1.5,
            cache_decision={"outcome": "miss", "summary": "miss: config changed (changed: k)"},
        )
        record = ConsistRecord(
            run=run,
            config={"k": n % 11, "scenario": {"growth": (n % 5) / 100}},
            inputs=inputs,
            outputs=[_artifact(n, "out", run_id, signature)],
        )
        records.append(record)
    return records, header_id


def populate(root: Path, count: int) -> tuple[Path, Path, str, str]:
    run_dir, db_path = root / "runs", root / "ui.duckdb"
    layout = RunLayout(run_dir)
    store = DuckDBStore(str(db_path), layout=layout, lock_timeout=60)
    records, header = make_records(count)
    for start in range(0, count, BATCH):
        store.record_runs(records[start : start + BATCH])
    # Snapshots of what the run page and the graph read (the scenario and its steps).
    for record in records[-(SCENARIO_STEPS + 1) :]:
        write_snapshot(layout, record, update_latest=False)
    return run_dir, db_path, header, records[-1].run.id


def timed(call: Callable[[], Any], repeat: int) -> dict[str, float]:
    call()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 1),
        "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 1),
    }


def bench_pages(run_dir: Path, db_path: Path, header: str, last: str, repeat: int) -> dict:
    from starlette.testclient import TestClient

    from consist.web.app import create_app

    client = TestClient(create_app(run_dir, db_path))

    def get(url: str, expect: str) -> Callable[[], None]:
        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200 and expect in response.text, url

        return call

    return {
        "runs_page_first": timed(get("/runs", last), repeat),
        "runs_page_1000": timed(get("/runs?page=1000", "page 1000"), repeat),
        "runs_page_filtered": timed(get("/runs?model=traffic&year=2031", "traffic"), repeat),
        "run_page": timed(get(f"/runs/{last}", last), repeat),
        "lineage_502_nodes_server": timed(get(f"/lineage/run/{header}.json", header), 5),
    }


def bench_browser_layout(run_dir: Path, db_path: Path, header: str) -> dict:
    """Time the 502-node graph's client-side layout in headless Chromium."""
    import socket
    import threading

    import uvicorn
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from consist.web.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(run_dir, db_path), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    profile = tempfile.mkdtemp()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(
        options=options, service=Service(shutil.which("chromedriver") or "chromedriver")
    )
    try:
        samples = []
        for _ in range(5):
            driver.get(f"http://127.0.0.1:{port}/lineage/run/{header}")
            WebDriverWait(driver, 60).until(
                lambda d: d.find_element(By.ID, "graph").get_attribute("data-ready") == "true"
            )
            info = driver.execute_script(
                "return {n: window.consistLineage.nodes, ms: window.consistLineage.layoutMs};"
            )
            samples.append(info["ms"])
        return {"nodes": info["n"], "layout_median_ms": round(statistics.median(samples), 1)}
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(10)
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-ui-", dir=args.work_dir))
    try:
        start = time.perf_counter()
        run_dir, db_path, header, last = populate(root, args.runs)
        report: dict[str, Any] = {
            "runs": args.runs,
            "populate_s": round(time.perf_counter() - start, 1),
            "python": sys.version.split()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        }
        report.update(bench_pages(run_dir, db_path, header, last, args.repeat))
        if args.browser:
            report["lineage_502_nodes_browser"] = bench_browser_layout(run_dir, db_path, header)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
