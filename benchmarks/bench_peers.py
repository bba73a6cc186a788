"""Per-call overhead of Consist's ``tracker.run`` next to the tools a modeler could pick instead.

Usage::

    python benchmarks/bench_peers.py [--out FILE] [--work-dir DIR] [--no-tmpfs]
                                     [--calls N] [--dvc-calls N] [--dvc PATH] [--skip NAMES]

The peers are optional dependencies; run it from a venv that has them, e.g.::

    python3 -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install -e '.[peers]'   # joblib redun apache-hamilton mlflow-skinny
    python3 -m venv /tmp/dvc-venv && /tmp/dvc-venv/bin/pip install dvc   # optional, a CLI
    /tmp/peers-venv/bin/python benchmarks/bench_peers.py --dvc /tmp/dvc-venv/bin/dvc

A peer whose package is missing is skipped and listed under ``skipped``. Every tool runs
the same trivial step, writing a tiny JSON file and returning its path: ``--calls``
distinct arguments (misses), then the same arguments again (hits). All tools alternate in
blocks of 25 calls within one process, so load drift on the machine hits them alike. The
whole comparison runs on --work-dir (default /tmp, a disk) and again on /dev/shm (tmpfs).
Prints ONE JSON object on stdout (progress on stderr); times are milliseconds per call.
Beside the medians, ``amortised_ms`` is the mean of every timed call plus the tool's
``close`` spread over the calls: the work a median leaves out (for Consist, the store
syncs that copy the journal into DuckDB and write the snapshots, in the background and
at close).
See docs/performance.md, section "Peers".
"""

import argparse
import gc
import importlib.util
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from bench_spine import contention, fs_probe, log, machine_info, source_info, stats

import consist

# Set before any peer is imported (they are imported lazily): no telemetry, and MLflow's
# file store (now in "maintenance mode") is allowed, since the comparison asks for one.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

CALLS = 200
BLOCK = 25
WARMUP = 20
DVC_CALLS = 24
IMPORT_REPEATS = 3
PEERS = ("consist", "joblib", "hamilton", "redun", "mlflow_file", "mlflow_sqlite", "dvc")

# How many times each tool actually ran the step body; hits must leave it unchanged.
EXECUTED: Counter[str] = Counter()

RECORDS_ON_HIT = {
    "consist": "a run of its own: snapshot file + journal line (config, code identity, "
    "reused outputs), synced to DuckDB in the background",
    "joblib": "nothing (reads the pickled return value)",
    "hamilton": "a run-id row in its SQLite metadata store; reads the pickled result",
    "redun": "an execution, a job and tags in SQLite (a call-graph entry per run); "
    "re-hashes the returned File (stat-based) to check it is still valid",
    "mlflow_file": "no cache: every call records a new run (params, tags, artifact copy)",
    "mlflow_sqlite": "no cache: every call records a new run (params, tags, artifact copy)",
    "dvc": "nothing new: compares dvc.lock with the output's (memoized) hash and skips",
}


def write_tiny(path: str, x: int) -> str:
    with open(path, "w") as handle:
        handle.write(json.dumps({"x": x}))
    return path


# --- the step, once per tool (module level: stable code identity) -----------------------


def consist_step(config: dict[str, Any]) -> Any:
    EXECUTED["consist"] += 1
    out = consist.output_path("out", ext="txt")
    write_tiny(str(out), config["x"])
    return out


def joblib_step(x: int, out_dir: str) -> str:
    EXECUTED["joblib"] += 1
    return write_tiny(os.path.join(out_dir, f"{x}.txt"), x)


def hamilton_step(x: int, out_dir: str) -> str:
    EXECUTED["hamilton"] += 1
    return write_tiny(os.path.join(out_dir, f"{x}.txt"), x)


def redun_body(x: int, out_dir: str) -> Any:
    from redun import File

    EXECUTED["redun"] += 1
    return File(write_tiny(os.path.join(out_dir, f"{x}.txt"), x))


_redun_tasks: dict[str, Any] = {}


def redun_tasks() -> dict[str, Any]:
    """The redun tasks, registered once per process (redun keeps a global task registry)."""
    if not _redun_tasks:
        from redun import task

        step = task(namespace="bench_peers")(redun_body)

        def redun_fan_out(xs: list[int], out_dir: str) -> list[Any]:
            return [step(x, out_dir) for x in xs]

        _redun_tasks["step"] = step
        _redun_tasks["fan_out"] = task(namespace="bench_peers")(redun_fan_out)
    return _redun_tasks


# --- one adapter per tool ---------------------------------------------------------------


@dataclass
class Peer:
    name: str
    call: Callable[[int], Any]  # the same x twice: miss, then hit
    calls: int = CALLS
    block: int = BLOCK
    has_hit: bool = True
    close: Callable[[], None] = lambda: None
    extra: Callable[[], dict[str, Any]] | None = None  # run after the hit phase


def make_consist(work: str) -> Peer:
    run_dir = os.path.join(work, "consist")
    tracker = consist.Tracker(
        config=consist.TrackerConfig(
            run_dir=run_dir,
            db_path=os.path.join(run_dir, "provenance.duckdb"),
            code_identity="callable_module",
        )
    )

    def call(x: int) -> Any:
        return tracker.run(fn=consist_step, config={"x": x}, outputs=["out"])

    return Peer("consist", call, close=tracker.close)


def make_joblib(work: str) -> Peer:
    import joblib

    out_dir = os.path.join(work, "joblib-out")
    os.makedirs(out_dir)
    cached = joblib.Memory(location=os.path.join(work, "joblib"), verbose=0).cache(joblib_step)
    return Peer("joblib", lambda x: cached(x, out_dir))


_hamilton_dag: dict[str, Any] = {}


def make_hamilton(work: str) -> Peer:
    from hamilton import ad_hoc_utils, driver

    out_dir = os.path.join(work, "hamilton-out")
    os.makedirs(out_dir)
    if "module" not in _hamilton_dag:  # one module per process: Hamilton refuses a duplicate
        _hamilton_dag["module"] = ad_hoc_utils.create_temporary_module(
            hamilton_step, module_name="bench_peers_dag"
        )
    module = _hamilton_dag["module"]
    dr = (
        driver.Builder()
        .with_modules(module)
        .with_cache(path=os.path.join(work, "hamilton-cache"))
        .build()
    )

    def call(x: int) -> Any:
        return dr.execute(["hamilton_step"], inputs={"x": x, "out_dir": out_dir})

    return Peer("hamilton", call)


def make_redun(work: str, steps: int) -> Peer:
    import logging

    from redun import Scheduler
    from redun.config import Config

    logging.getLogger("redun").setLevel(logging.WARNING)  # no per-execution INFO lines
    tasks = redun_tasks()
    out_dir = os.path.join(work, "redun-out")
    os.makedirs(out_dir)
    config = Config(
        {
            "backend": {"db_uri": f"sqlite:///{os.path.join(work, 'redun.db')}"},
            "scheduler": {"job_status_interval": "0"},  # no periodic status thread
        }
    )
    scheduler = Scheduler(config=config)
    scheduler.load()

    def one_execution() -> dict[str, Any]:
        # Informational: the same number of distinct steps inside ONE scheduler.run, so
        # the per-execution records are paid once (a redun workflow's usual shape).
        xs = list(range(10_000, 10_000 + steps))
        before = EXECUTED["redun"]
        t0 = time.perf_counter()
        scheduler.run(tasks["fan_out"](xs, out_dir))
        total = (time.perf_counter() - t0) * 1e3
        if EXECUTED["redun"] - before != len(xs):
            raise RuntimeError("redun fan-out did not run every step")
        return {"steps": len(xs), "total_ms": round(total, 2), "per_step_ms": total / len(xs)}

    return Peer("redun", lambda x: scheduler.run(tasks["step"](x, out_dir)), extra=one_execution)


def make_mlflow(work: str, backend: str) -> Peer:
    import mlflow

    out_dir = os.path.join(work, f"mlflow-{backend}-out")
    os.makedirs(out_dir)
    if backend == "file":
        uri = "file://" + os.path.join(work, "mlruns")
        artifacts = None  # the file store keeps artifacts beside the runs
    else:
        uri = f"sqlite:///{os.path.join(work, 'mlflow.db')}"
        artifacts = "file://" + os.path.join(work, "mlflow-artifacts")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment(f"bench-{backend}", artifact_location=artifacts)
    name = f"mlflow_{backend}"

    def call(x: int) -> str:
        mlflow.set_tracking_uri(uri)  # both backends alternate; stores are cached per URI
        EXECUTED[name] += 1
        path = write_tiny(os.path.join(out_dir, f"{x}.txt"), x)
        with mlflow.start_run(experiment_id=experiment):
            mlflow.log_params({"x": x})
            mlflow.log_artifact(path)
        return path

    return Peer(name, call, has_hit=False)


def dvc_env(work: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DVC_SITE_CACHE_DIR"] = os.path.join(work, "dvc-site-cache")  # not ~/.cache
    return env


def make_dvc(work: str, dvc: str, calls: int, block: int) -> Peer:
    repo = os.path.join(work, "dvc-repo")
    os.makedirs(repo)
    env = dvc_env(work)

    def run(*args: str) -> str:
        done = subprocess.run(
            [dvc, *args], cwd=repo, env=env, check=True, capture_output=True, text=True
        )
        return done.stdout

    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    run("init", "-q")
    made: set[int] = set()

    def call(x: int) -> str:
        stage, out = f"s{x}".replace("-", "m"), f"out{x}.txt"
        if x not in made:  # miss: the DVC 3 spelling of `dvc run`
            made.add(x)
            cmd = f"echo '{json.dumps({'x': x})}' > {out}"
            run("stage", "add", "--run", "-q", "-n", stage, "-o", out, cmd)
            if not os.path.exists(os.path.join(repo, out)):
                raise RuntimeError(f"dvc stage {stage} produced no output")
            EXECUTED["dvc"] += 1
            return out
        text = run("repro", stage)  # hit: nothing changed, the stage is skipped
        if "didn't change" not in text:
            EXECUTED["dvc"] += 1
        return out

    return Peer("dvc", call, calls=calls, block=block)


# --- measurement ------------------------------------------------------------------------


def interleaved(peers: Sequence[Peer], args: dict[str, Sequence[int]]) -> dict[str, list[float]]:
    """Time every call, alternating between peers block by block (each peer its own block)."""
    times: dict[str, list[float]] = {p.name: [] for p in peers}
    rounds = max(math.ceil(len(args[p.name]) / p.block) for p in peers)
    clock = time.perf_counter
    for r in range(rounds):
        for peer in peers:
            chunk = args[peer.name][r * peer.block : (r + 1) * peer.block]
            gc.collect()
            for x in chunk:
                t0 = clock()
                peer.call(x)
                times[peer.name].append((clock() - t0) * 1e3)
    return times


def check_executed(peers: Sequence[Peer], before: Counter[str], expect_run: bool, what: str):
    for peer in peers:
        ran = EXECUTED[peer.name] - before[peer.name]
        expected = peer.calls if expect_run else 0
        if ran != expected:
            raise RuntimeError(f"{peer.name} {what}: the step body ran {ran}x, expected {expected}")


def build_peers(work: str, args: argparse.Namespace, skipped: dict[str, str]) -> list[Peer]:
    makers: dict[str, Callable[[], Peer]] = {
        "consist": lambda: make_consist(work),
        "joblib": lambda: make_joblib(work),
        "hamilton": lambda: make_hamilton(work),
        "redun": lambda: make_redun(work, args.calls),
        "mlflow_file": lambda: make_mlflow(work, "file"),
        "mlflow_sqlite": lambda: make_mlflow(work, "sqlite"),
    }
    if args.dvc:
        block = max(1, math.ceil(args.dvc_calls / math.ceil(args.calls / BLOCK)))
        makers["dvc"] = lambda: make_dvc(work, args.dvc, args.dvc_calls, block)
    else:
        skipped["dvc"] = "--skip" if "dvc" in args.skip else "no dvc executable (--dvc PATH)"
    peers = []
    for name, make in makers.items():
        if name in args.skip:
            skipped[name] = "--skip"
            continue
        try:
            peer = make()
        except ImportError as exc:
            skipped[name] = f"not installed: {exc}"
            continue
        if name != "dvc":
            peer.calls = args.calls
        peers.append(peer)
    return peers


def bench_work_dir(work: str, args: argparse.Namespace, skipped: dict[str, str]) -> dict:
    log(f"work dir {work}: setting up peers")
    peers = build_peers(work, args, skipped)
    try:
        log("warm-up")
        for peer in peers:
            warm = range(-1, -1 - (2 if peer.name == "dvc" else WARMUP), -1)
            t0 = time.perf_counter()
            peer.call(warm[0])
            first = (time.perf_counter() - t0) * 1e3
            for x in warm:
                peer.call(x)
                peer.call(x)
            log(f"  {peer.name}: first call {first:.1f} ms")
        xs = {p.name: list(range(p.calls)) for p in peers}
        before = contention()
        t0 = time.perf_counter()
        log("misses (tools interleaved in blocks)")
        counts = Counter(EXECUTED)
        miss = interleaved(peers, xs)
        check_executed(peers, counts, True, "miss")
        log("hits (tools interleaved in blocks)")
        cached = [p for p in peers if p.has_hit]
        counts = Counter(EXECUTED)
        hit = interleaved(cached, xs)
        check_executed(cached, counts, False, "hit")
        seconds = time.perf_counter() - t0
        after = contention()
        extras = {p.name: p.extra() for p in peers if p.extra}
    finally:
        closed: dict[str, float] = {}
        for peer in peers:
            t_close = time.perf_counter()
            peer.close()  # Consist: the last store sync (materialises pending snapshots)
            closed[peer.name] = (time.perf_counter() - t_close) * 1e3
    out: dict[str, Any] = {
        "work_dir": work,
        "fs_probe": fs_probe(work),
        "contention": {"before": before, "after": after, "seconds": round(seconds, 1)},
        "peers": {},
    }
    for peer in peers:
        out["peers"][peer.name] = {
            "calls": peer.calls,
            "block": peer.block,
            "miss_ms": stats(miss[peer.name]),
            "hit_ms": stats(hit[peer.name]) if peer.has_hit else None,
            # Work a median leaves out: the mean of every timed call plus the tool's close
            # (for Consist, background syncs land in the calls, the last one in close).
            "close_ms": round(closed[peer.name], 2),
            "amortised_ms": round(
                (sum(miss[peer.name]) + sum(hit.get(peer.name, [])) + closed[peer.name])
                / (len(miss[peer.name]) + len(hit.get(peer.name, []))),
                4,
            ),
            "records_on_hit": RECORDS_ON_HIT[peer.name],
            **({"extra": extras[peer.name]} if peer.name in extras else {}),
        }
    base = out["peers"].get("consist")
    if base:
        out["median_over_consist"] = {
            name: {
                "miss": round(row["miss_ms"]["median"] / base["miss_ms"]["median"], 2),
                "hit": round(row["hit_ms"]["median"] / base["hit_ms"]["median"], 2)
                if row["hit_ms"]
                else None,
            }
            for name, row in out["peers"].items()
        }
    return out


def import_costs(work: str, dvc: str | None) -> dict[str, Any]:
    """Fresh-interpreter import time of each tool, minus a bare interpreter (ms, median)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(work, "pycache")
    modules = {
        "pass": "pass",
        "consist": "import consist; consist.Tracker",
        "joblib": "import joblib",
        "hamilton": "from hamilton import driver",
        "redun": "import redun",
        "mlflow": "import mlflow",
    }
    modules = {k: v for k, v in modules.items() if k == "pass" or importlib.util.find_spec(k)}

    def once(argv: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, env=env, capture_output=True)
        return (time.perf_counter() - t0) * 1e3

    commands = {k: [sys.executable, "-c", code] for k, code in modules.items()}
    if dvc:
        commands["dvc --version (CLI floor)"] = [dvc, "--version"]
    for argv in commands.values():  # warm-up: byte-compile, fill the page cache
        once(argv)
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(IMPORT_REPEATS):
        for key, argv in commands.items():
            samples[key].append(once(argv))
    base = statistics.median(samples.pop("pass"))
    out: dict[str, Any] = {"repeats": IMPORT_REPEATS, "bare_interpreter_ms": round(base, 1)}
    for key, values in samples.items():
        floor = 0.0 if key.startswith("dvc") else base  # dvc runs in its own interpreter
        out[key] = round(statistics.median(values) - floor, 1)
    return out


def versions(dvc: str | None) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("consist", "duckdb", "joblib", "redun", "apache-hamilton", "sf-hamilton"):
        found[name] = _dist_version(name)
    found["mlflow"] = _dist_version("mlflow-skinny") or _dist_version("mlflow")
    found["sqlalchemy"] = _dist_version("sqlalchemy")
    if dvc:
        try:
            found["dvc"] = subprocess.run(
                [dvc, "--version"], check=True, capture_output=True, text=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            found["dvc"] = None
    return found


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """median (p90) per tool and work dir, the figures docs/performance.md tabulates."""
    table: dict[str, Any] = {}
    for key in ("disk", "tmpfs"):
        if key not in result:
            continue
        table[key] = {
            name: {
                "miss": [row["miss_ms"]["median"], row["miss_ms"]["p90"]],
                "hit": [row["hit_ms"]["median"], row["hit_ms"]["p90"]] if row["hit_ms"] else None,
            }
            for name, row in result[key]["peers"].items()
        }
    return table


def default_dvc() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "dvc")
    return beside if os.path.exists(beside) else shutil.which("dvc")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="also write the JSON to this file")
    parser.add_argument("--work-dir", default="/tmp", help="disk directory (default /tmp)")
    parser.add_argument("--no-tmpfs", action="store_true", help="skip the /dev/shm repeat")
    parser.add_argument("--calls", type=int, default=CALLS, help="misses and hits per tool")
    parser.add_argument("--dvc-calls", type=int, default=DVC_CALLS, help="calls for DVC")
    parser.add_argument("--dvc", default=default_dvc(), help="dvc executable (default: PATH)")
    parser.add_argument("--skip", default="", help=f"comma-separated, of {','.join(PEERS)}")
    args = parser.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    started = time.perf_counter()
    skipped: dict[str, str] = {}
    result: dict[str, Any] = {
        "benchmark": "consist peers",
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "source": source_info(),
        "versions": versions(args.dvc),
        "calls": args.calls,
        "block": BLOCK,
        "warmup_calls": WARMUP,
    }
    dirs = {"disk": tempfile.mkdtemp(prefix="consist-peers-", dir=args.work_dir)}
    if os.path.isdir("/dev/shm") and not args.no_tmpfs:
        dirs["tmpfs"] = tempfile.mkdtemp(prefix="consist-peers-", dir="/dev/shm")
    try:
        for key, work in dirs.items():
            result[key] = bench_work_dir(work, args, skipped)
        log("import costs (fresh interpreters)")
        result["import_ms"] = import_costs(dirs["disk"], args.dvc)
    finally:
        for work in dirs.values():
            shutil.rmtree(work, ignore_errors=True)
    result["skipped"] = skipped
    result["summary_median_p90_ms"] = summary(result)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
