"""MLflow's ``search_runs`` on its SQLite tracking store, beside bench_queries.py's Consist store.

Used by ``bench_queries.py --mlflow [--mlflow-store DIR]``; not run on its own. MLflow is a
peer, not a dependency of Consist: run the benchmark from a venv that has it, e.g.::

    python3 -m venv /tmp/mlf-venv
    /tmp/mlf-venv/bin/pip install -e . mlflow-skinny alembic sqlalchemy

(``mlflow-skinny`` alone only has the file store; its SQL store needs ``alembic`` and
``sqlalchemy``, which the full ``mlflow`` package would pull in.)

Store: ``sqlite:///DIR/mlflow.db``, the SQL tracking store MLflow recommends over its file
store (in maintenance mode since MLflow 3). MLflow creates its own schema: opening the store
runs its alembic migrations, and the experiment is made through ``MlflowClient``.

Fill: creating a run through the client (``create_run`` + ``log_batch``) costs ~55 ms on this
VM (one SQLite transaction each), ~90 minutes for 100,000 runs, and MLflow has no API that
creates many runs at once. So the runs are bulk-inserted into the tables MLflow created, with
its own table definitions (``mlflow.store.tracking.dbmodels.models``: ``runs``, ``tags``,
``params``, ``metrics``, ``latest_metrics``) through its store's SQLAlchemy engine: one
``executemany`` per table, all in one transaction. Each row holds what ``create_run`` +
``log_batch`` would write, from the same ``Run`` objects the Consist store holds:

- runs: a uuid (uuid5 of the Consist run id), name = the Consist run id, FINISHED/FAILED,
  start/end time in ms from the run's timestamps, artifact_uri under the experiment's.
- tags: model, stage, phase; each Consist tag as ``<tag> = 'true'`` (MLflow tags are
  key/value); the system tags a fluent ``start_run`` sets (mlflow.runName, mlflow.user,
  mlflow.source.name, mlflow.source.type): ~10 per run.
- params: year, iteration, seed (from config), chain.
- metrics (and latest_metrics, as ``log_batch`` keeps both): loss, duration_seconds.

No ANALYZE or extra index is added: the store is as MLflow leaves it. After the fill the runs
are checked through ``MlflowClient``: one run's params/tags/metrics, the number of runs
matching the find_latest_run filter (paged ``search_runs``) against the count in the records,
and the total number of active runs (paged ``search_runs`` over the experiment).

Measured (median and p90 over the same repeats as Consist's, after one warm-up):

- find_runs equivalent: ``search_runs(filter="tags.model = 'traffic' and params.year = '2031'
  and tags.sweep = 'true'", max_results=100)`` (MLflow orders by start_time DESC by default).
- find_latest_run equivalent: the same filter without the tag,
  ``order_by=["attributes.start_time DESC"], max_results=1``; ``same_latest`` says whether
  it names the run Consist's ``find_latest_run`` returns.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from consist.model.run import ConsistRecord

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

FIND_RUNS = "tags.model = 'traffic' and params.year = '2031' and tags.sweep = 'true'"
FIND_LATEST = "tags.model = 'traffic' and params.year = '2031'"
EXPERIMENT = "bench-queries"
DB_NAME = "mlflow.db"
_NAMESPACE = uuid.UUID("6f1c1f0e-58a4-4f3c-9a43-2a3d6b9e0c11")
PAGE = 50_000  # search_runs' largest page


def _millis(iso: str | None) -> int | None:
    if iso is None:
        return None
    from datetime import datetime

    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def run_uuid(run_id: str) -> str:
    return uuid.uuid5(_NAMESPACE, run_id).hex


def rows_for(records: Sequence[ConsistRecord], experiment_id: str, artifact_root: str) -> dict:
    """The rows ``create_run`` + ``log_batch`` would write for each record, per table."""
    runs, tags, params, metrics = [], [], [], []
    for record in records:
        run = record.run
        rid = run_uuid(run.id)
        start = _millis(run.started_at)
        runs.append(
            {
                "run_uuid": rid,
                "name": run.id,
                "source_type": "LOCAL",
                "source_name": "bench_queries.py",
                "entry_point_name": "",
                "user_id": "bench",
                "status": "FINISHED" if run.status == "completed" else "FAILED",
                "start_time": start,
                "end_time": _millis(run.ended_at),
                "source_version": run.git_hash or "",
                "lifecycle_stage": "active",
                "artifact_uri": f"{artifact_root}/{rid}/artifacts",
                "experiment_id": int(experiment_id),
            }
        )
        run_tags = {
            "model": run.model_name,
            "stage": run.stage,
            "phase": run.phase,
            "mlflow.runName": run.id,
            "mlflow.user": "bench",
            "mlflow.source.name": "bench_queries.py",
            "mlflow.source.type": "LOCAL",
            **{tag: "true" for tag in run.tags},
        }
        tags.extend({"key": k, "value": str(v), "run_uuid": rid} for k, v in run_tags.items())
        run_params = {
            "year": run.year,
            "iteration": run.iteration,
            "seed": record.config["seed"],
            "chain": record.config["chain"],
        }
        params.extend({"key": k, "value": str(v), "run_uuid": rid} for k, v in run_params.items())
        for key, value in (("loss", float(record.config["seed"] % 100)), ("duration_seconds", 0.5)):
            metrics.append(
                {
                    "key": key,
                    "value": value,
                    "timestamp": start,
                    "step": 0,
                    "is_nan": False,
                    "run_uuid": rid,
                }
            )
    return {"runs": runs, "tags": tags, "params": params, "metrics": metrics}


def _all_pages(client: Any, experiment_id: str, filter_string: str) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string, max_results=PAGE, page_token=token
        )
        yield from page
        token = page.token
        if not token:
            return


def fill(db_path: str, records: Sequence[ConsistRecord]) -> dict[str, Any]:
    """Create the store through MLflow, bulk-insert the runs, check them through the client."""
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{db_path}"
    artifact_root = "file://" + os.path.join(os.path.dirname(db_path), "artifacts")
    started = time.perf_counter()
    store = SqlAlchemyStore(uri, artifact_root)  # MLflow's schema and migrations
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment(EXPERIMENT, artifact_location=artifact_root)
    schema_s = time.perf_counter() - started
    rows = rows_for(records, experiment_id, artifact_root)
    started = time.perf_counter()
    with store.engine.begin() as conn:  # one transaction
        conn.execute(SqlRun.__table__.insert(), rows["runs"])
        conn.execute(SqlTag.__table__.insert(), rows["tags"])
        conn.execute(SqlParam.__table__.insert(), rows["params"])
        conn.execute(SqlMetric.__table__.insert(), rows["metrics"])
        conn.execute(SqlLatestMetric.__table__.insert(), rows["metrics"])
    insert_s = time.perf_counter() - started
    print(
        f"mlflow: schema {schema_s:.1f} s, {len(records)} runs inserted in {insert_s:.1f} s",
        file=sys.stderr,
    )
    started = time.perf_counter()
    checks = verify(client, experiment_id, records)
    checks["verify_s"] = round(time.perf_counter() - started, 1)
    store.engine.dispose()
    return {
        "schema_and_experiment_s": round(schema_s, 1),
        "insert_s": round(insert_s, 1),
        "rows": {table: len(found) for table, found in rows.items()},
        "checks": checks,
    }


def verify(client: Any, experiment_id: str, records: Sequence[ConsistRecord]) -> dict[str, Any]:
    """The runs are visible through MLflow's client, with the values they were given."""
    last = records[-1]
    got = client.get_run(run_uuid(last.run.id)).data
    expected_params = {
        "year": str(last.run.year),
        "iteration": str(last.run.iteration),
        "seed": str(last.config["seed"]),
        "chain": str(last.config["chain"]),
    }
    if got.params != expected_params or got.tags.get("model") != last.run.model_name:
        sys.exit(f"mlflow: run {last.run.id} reads back as {got.params} {got.tags}")
    if any(got.tags.get(tag) != "true" for tag in last.run.tags) or "loss" not in got.metrics:
        sys.exit(f"mlflow: run {last.run.id} lost tags or metrics: {got.tags} {got.metrics}")
    wanted = sum(1 for r in records if r.run.model_name == "traffic" and r.run.year == 2031)
    matching = sum(1 for _ in _all_pages(client, experiment_id, FIND_LATEST))
    total = sum(1 for _ in _all_pages(client, experiment_id, ""))
    if matching != wanted or total != len(records):
        sys.exit(f"mlflow: {total} runs ({matching} matching) visible, expected {len(records)}")
    return {"runs_visible": total, "find_latest_filter_matches": matching, "one_run": "ok"}


def open_or_fill(store_dir: str, records: Sequence[ConsistRecord], chain: int) -> dict[str, Any]:
    """Fill ``store_dir`` once; later calls with the same run count and chain reuse it."""
    marker = os.path.join(store_dir, f"populated-{len(records)}-{chain}")
    if os.path.exists(marker):
        return {"reused": store_dir}
    if os.path.exists(store_dir) and os.listdir(store_dir):
        sys.exit(f"--mlflow-store {store_dir}: not empty and not a store this benchmark filled")
    os.makedirs(store_dir, exist_ok=True)
    filled = fill(os.path.join(store_dir, DB_NAME), records)
    open(marker, "w").close()
    return filled


def bench(
    store_dir: str,
    records: Sequence[ConsistRecord],
    chain: int,
    repeat: int,
    timed: Callable[[Callable[[], Any], int], dict[str, float]],
    consist_latest: str | None,
) -> dict[str, Any]:
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError:
        return {"skipped": "mlflow is not installed (pip install mlflow-skinny alembic sqlalchemy)"}
    try:
        import alembic  # noqa: F401  (the SQL store's migrations)
        import sqlalchemy
    except ImportError:
        return {"skipped": "MLflow's SQL store needs alembic and sqlalchemy (pip install them)"}
    filled = open_or_fill(store_dir, records, chain)
    client = MlflowClient(tracking_uri=f"sqlite:///{os.path.join(store_dir, DB_NAME)}")
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id

    def find_runs() -> Any:
        return client.search_runs([experiment_id], FIND_RUNS, max_results=100)

    def find_latest() -> Any:
        return client.search_runs(
            [experiment_id], FIND_LATEST, order_by=["attributes.start_time DESC"], max_results=1
        )

    latest = find_latest()
    found = find_runs()
    return {
        "store": "sqlite",
        "runs": len(records),
        "mlflow": mlflow.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "fill": filled,
        "search_runs_find_runs": timed(find_runs, repeat),
        "search_runs_find_latest_run": timed(find_latest, repeat),
        "find_runs_returned": len(found),
        "same_latest": bool(latest) and latest[0].info.run_name == consist_latest,
    }
