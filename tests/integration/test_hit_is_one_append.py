"""A cache hit is recorded by one journal append; nothing recorded is ever missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import consist
from consist import Tracker
from consist.maintenance.rebuild import rebuild_store


def step(config: dict[str, int]) -> Path:
    out = consist.output_path("out", ext="json")
    out.write_text(json.dumps(config))
    return out


def tree(root: Path) -> dict[str, int]:
    """Every file under root with its size."""
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def test_a_hit_appends_one_journal_line_and_creates_no_file(tracker: Tracker) -> None:
    tracker.run(fn=step, config={"v": 1})
    tracker.sync_store()
    before = tree(tracker.run_dir)
    hit = tracker.run(fn=step, config={"v": 1})
    after = tree(tracker.run_dir)
    assert hit.cache_hit
    grown = {name for name in after if after[name] != before.get(name)}
    assert len(grown) == 1 and grown.pop().startswith(".consist/pending/")
    journal = next(p for p in (tracker.run_dir / ".consist" / "pending").glob("*.log"))
    lines = journal.read_bytes().splitlines()
    assert json.loads(lines[-1])["run"]["id"] == hit.run.id
    # Readable at once, before any sync: from the journal.
    assert tracker.get_run_record(hit.run.id).run.reused_run_id == hit.run.reused_run_id
    assert tracker.get_run(hit.run.id).cache_hit
    assert tracker.explain(hit.run.id).outcome.value == "hit"
    assert [r.id for r in tracker.find_runs(limit=1)] == [hit.run.id]


def test_log_calls_do_not_open_the_store(tracker: Tracker, tmp_path: Path) -> None:
    data = tmp_path / "d.txt"
    data.write_text("d\n")
    db = tmp_path / "db.duckdb"
    with tracker.start_run("quiet", "m"):
        tracker.log_meta(a=1)
        tracker.log_artifact(data, key="d")
        # No store session yet: nothing created the database file.
        assert not db.exists()
        assert tracker.get_run_record("quiet").run.meta["a"] == 1
    assert [r.id for r in tracker.find_runs(metadata={"a": 1})] == ["quiet"]


KILLED_AFTER_HITS = textwrap.dedent(
    """
    import json, os, sys
    import consist
    from consist import Tracker

    def step(config):
        out = consist.output_path("out", ext="json")
        out.write_text(json.dumps(config))
        return out

    tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2], code_identity="callable_module")
    tracker.run(fn=step, name="step", config={"v": 1})
    tracker.sync_store()
    ids = [tracker.run(fn=step, name="step", config={"v": 1}).run.id for _ in range(5)]
    print(json.dumps(ids), flush=True)
    os.kill(os.getpid(), 9)  # no close, no atexit: only the journal has the hits
    """
)


def test_hits_survive_kill_9_and_are_materialised_by_the_next_process(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(KILLED_AFTER_HITS)
    run_dir, db = tmp_path / "runs", tmp_path / "db.duckdb"
    proc = subprocess.run(
        [sys.executable, str(script), str(run_dir), str(db)], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    hit_ids = json.loads(proc.stdout)
    assert not any((run_dir / "consist_runs" / f"{i}.json").exists() for i in hit_ids)

    with Tracker(run_dir=run_dir, db_path=db, code_identity="callable_module") as tracker:
        found = {r.id for r in tracker.find_runs(limit=None)}
        assert set(hit_ids) <= found
        assert all(tracker.get_run(i).cache_hit for i in hit_ids)
    # Consuming the dead process's journal materialised the snapshots and removed it.
    assert all((run_dir / "consist_runs" / f"{i}.json").is_file() for i in hit_ids)
    assert list((run_dir / ".consist" / "pending").glob("*.log")) == []
    # So a store rebuilt from snapshots alone has every run.
    db.unlink()
    assert rebuild_store(run_dir, db) == 1 + len(hit_ids)


KILLED_AT_RANDOM = textwrap.dedent(
    """
    import json, sys
    import consist
    from consist import Tracker

    def step(config):
        out = consist.output_path("out", ext="json")
        out.write_text(json.dumps(config))
        return out

    tracker = Tracker(run_dir=sys.argv[1], db_path=sys.argv[2], code_identity="callable_module",)
    done = open(sys.argv[3], "a", buffering=1)
    i = 0
    while True:
        result = tracker.run(fn=step, name="step", config={"v": i % 7})
        done.write(result.run.id + "\\n")  # written only after run() returned
        i += 1
    """
)


def test_kill_9_at_any_point_loses_no_returned_run(tmp_path: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text(KILLED_AT_RANDOM)
    run_dir, db, done = tmp_path / "runs", tmp_path / "db.duckdb", tmp_path / "done.txt"
    for delay in (0.9, 1.3, 1.7):
        proc = subprocess.Popen([sys.executable, str(script), str(run_dir), str(db), str(done)])
        time.sleep(delay)  # somewhere in the middle of a run, or of a background sync
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    returned = done.read_text().split()
    assert len(returned) > 10
    with Tracker(run_dir=run_dir, db_path=db, code_identity="callable_module") as tracker:
        recorded = {r.id: r.status for r in tracker.find_runs(limit=None)}
    for run_id in returned:
        assert recorded.get(run_id) == "completed", run_id


def test_outputs_in_their_runs_directory_link_to_the_producer_without_an_index_file(
    tmp_path: Path,
) -> None:
    first = Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb")
    upstream = first.run(fn=step, config={"v": 1})
    first.close()
    produced_files = list((tmp_path / "runs" / ".consist" / "produced").rglob("*.json"))
    assert produced_files == []  # the path names the run; its snapshot has the digest

    def downstream(raw: Path) -> None:
        """Reads the upstream output."""

    second = Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb")  # fresh memo
    result = second.run(fn=downstream, inputs={"raw": upstream.outputs["out"].path})
    (artifact,) = second.get_run_record(result.run.id).inputs
    assert artifact.producer_signature == upstream.run.signature
    assert artifact.run_id == upstream.run.id
    second.close()
