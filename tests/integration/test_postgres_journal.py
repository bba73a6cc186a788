"""On a PostgreSQL store, run_dir's records are journal lines first (as with DuckDB): a
miss writes its output, one journal line and its cache-index entry; the PostgreSQL row
goes straight to the server; the snapshot is materialised at the next sync, close or
exit, or by the next process on this host when this one died. Every record stays
readable meanwhile, and a process killed at any point loses no completed run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import consist
from consist import Tracker


def step(config: dict[str, int]) -> Path:
    out = consist.output_path("out", ext="json")
    out.write_text(json.dumps(config))
    return out


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def journal_files(run_dir: Path) -> list[Path]:
    pending = run_dir / ".consist" / "pending"
    return sorted(pending.glob("*.log")) if pending.exists() else []


def test_a_miss_writes_no_snapshot_yet_and_every_record_is_readable(
    tmp_path: Path, pg_url: str
) -> None:
    run_dir = tmp_path / "runs"
    tracker = Tracker(run_dir=run_dir, db_path=pg_url, code_identity="callable_module")
    tracker.run(step, name="step", config={"v": 0})  # directories, journal file
    before = all_files(run_dir)
    miss = tracker.run(step, name="step", config={"v": 1})
    signature = miss.run.signature
    assert signature is not None
    created = all_files(run_dir) - before
    assert created == {
        f"outputs/step/{miss.run.id}/out.json",
        f".consist/index/{signature[:2]}/{signature}.json",
    }
    snapshot = run_dir / "consist_runs" / f"{miss.run.id}.json"
    assert not snapshot.exists()
    # This process reads it from its journal; another machine (its own run_dir) from
    # the server, at once; a second tracker on this run_dir from the journal too.
    assert tracker.get_run_record(miss.run.id).run.status == "completed"
    with Tracker(run_dir=tmp_path / "elsewhere", db_path=pg_url) as other:
        found = other.get_run_record(miss.run.id)
        assert found.run.status == "completed" and found.outputs[0].key == "out"
    local = Tracker(run_dir=run_dir, db_path=pg_url, code_identity="callable_module")
    assert local.get_run_record(miss.run.id).run.status == "completed"
    hit = local.run(step, name="step", config={"v": 1})
    assert hit.cache_hit and hit.run.reused_run_id == miss.run.id
    local.close()
    tracker.close()
    # Closing materialised the snapshots (the index entry holds the same record),
    # pointed consist.json at this tracker's last run and removed its journal.
    entry = run_dir / ".consist" / "index" / signature[:2] / f"{signature}.json"
    assert json.loads(snapshot.read_bytes()) == json.loads(entry.read_bytes())
    latest = json.loads((run_dir / "consist.json").read_bytes())
    assert latest["run"]["id"] == miss.run.id
    assert journal_files(run_dir) == []


def test_a_long_step_is_visible_as_running_at_once(tmp_path: Path, pg_url: str) -> None:
    run_dir = tmp_path / "runs"
    seen: list[str] = []

    def watched(config: dict[str, int]) -> int:
        run = consist.current_run()
        assert run is not None
        run_id = run.id
        with Tracker(run_dir=run_dir, db_path=pg_url, access_mode="read") as reader:
            seen.append(reader.get_run_record(run_id).run.status)
        return config["v"]

    with Tracker(run_dir=run_dir, db_path=pg_url, code_identity="callable_module") as tracker:
        result = tracker.run(watched, name="watched", config={"v": 1})
    assert seen == ["running"]
    assert result.run.status == "completed"


KILLED = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    import consist
    from consist import Tracker
    from consist.model.run import RunStatus

    def step(config):
        out = consist.output_path("out", ext="json")
        out.write_text(json.dumps(config))
        return out

    url, run_dir, ids = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    tracker = Tracker(run_dir=run_dir, db_path=url, code_identity="callable_module")
    done = [tracker.run(step, name="step", config={"v": v}).run.id for v in range(3)]
    store = tracker._services.store
    send = store.record_runs

    def die_before_the_final_row(records, **kwargs):
        if any(r.run.status != RunStatus.RUNNING.value for r in records):
            ids.write_text(json.dumps(done))
            os.kill(os.getpid(), signal.SIGKILL)  # journal line written, row not sent
        return send(records, **kwargs)

    store.record_runs = die_before_the_final_row
    tracker.run(step, name="step", config={"v": 3})
    """
)


def run_killed(source: str, tmp_path: Path, pg_url: str) -> list[str]:
    """Run ``source`` (which kills itself) on run_dir ``tmp_path/runs``; the run ids it
    completed before dying."""
    script = tmp_path / "killed.py"
    script.write_text(source)
    ids = tmp_path / "ids.json"
    child = subprocess.run(
        [sys.executable, str(script), pg_url, str(tmp_path / "runs"), str(ids)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    done: list[str] = json.loads(ids.read_text())
    return done


def test_a_killed_process_loses_no_completed_run(tmp_path: Path, pg_url: str) -> None:
    run_dir = tmp_path / "runs"
    done = run_killed(KILLED, tmp_path, pg_url)
    assert len(done) == 3 and len(journal_files(run_dir)) == 1
    # The fourth run's final line is in the dead process's journal; its row never left.
    with Tracker(run_dir=tmp_path / "elsewhere", db_path=pg_url) as other:
        assert {r.id for r in other.find_runs(status="completed", limit=None)} == set(done)
    # Its index entry was written before the row was to be sent.
    entries = sorted((run_dir / ".consist" / "index").glob("*/*.json"))
    indexed = {json.loads(entry.read_bytes())["run"]["id"] for entry in entries}
    assert len(indexed) == 4 and set(done) < indexed
    (fourth,) = indexed - set(done)
    tracker = Tracker(run_dir=run_dir, db_path=pg_url, code_identity="callable_module")
    for run_id in [*done, fourth]:  # readable here before anything was materialised
        assert tracker.get_run_record(run_id).run.status == "completed"
    tracker.close()  # takes the dead process's journal: snapshots, and the missing row
    assert journal_files(run_dir) == []
    for run_id in [*done, fourth]:
        snapshot = json.loads((run_dir / "consist_runs" / f"{run_id}.json").read_bytes())
        assert snapshot["run"]["status"] == "completed"
    with Tracker(run_dir=tmp_path / "elsewhere", db_path=pg_url) as other:
        completed = {r.id for r in other.find_runs(status="completed", limit=None)}
        assert {*done, fourth} <= completed


KILLED_IN_CHUNK = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from consist import Tracker, flow
    from consist.request import build

    def square(config):
        return config["x"] ** 2

    url, run_dir, ids = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    tracker = Tracker(run_dir=run_dir, db_path=url, code_identity="callable_module")
    configs = [{"x": x} for x in range(4)]
    signatures = [
        flow.run_signature(
            tracker._services,
            build.request_from_run({"fn": square, "name": "square", "config": c}),
        )
        for c in configs
    ]
    with tracker._services.store.chunk(signatures):
        done = [tracker.run(square, name="square", config=c).run.id for c in configs[:2]]
        ids.write_text(json.dumps(done))
        os.kill(os.getpid(), signal.SIGKILL)  # the chunk's records were never sent
    """
)


def test_a_worker_killed_inside_a_chunk_loses_no_completed_run(tmp_path: Path, pg_url: str) -> None:
    import psycopg

    run_dir = tmp_path / "runs"
    done = run_killed(KILLED_IN_CHUNK, tmp_path, pg_url)
    with psycopg.connect(pg_url) as conn:  # the session died: its locks went with it
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
        assert row is not None and row[0] == 0
    with Tracker(run_dir=tmp_path / "elsewhere", db_path=pg_url) as other:
        assert other.find_runs(status="completed", limit=None) == []
    tracker = Tracker(run_dir=run_dir, db_path=pg_url)
    for run_id in done:
        assert tracker.get_run_record(run_id).run.status == "completed"
    tracker.close()  # takes the dead worker's journal: snapshots and the rows
    with Tracker(run_dir=tmp_path / "elsewhere", db_path=pg_url) as other:
        assert {r.id for r in other.find_runs(status="completed", limit=None)} == set(done)
    for run_id in done:
        assert (run_dir / "consist_runs" / f"{run_id}.json").exists()
