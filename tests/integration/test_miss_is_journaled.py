"""A miss's end with a store: one journal line plus its cache-index entry, no snapshot yet.

The snapshot is materialised when the journal is consumed (sync, close, exit, or the next
process); until then every reader finds the run through the journal or the index entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import consist
from consist import Tracker


def step(config: dict[str, int]) -> Path:
    out = consist.output_path("out", ext="json")
    out.write_text(json.dumps(config))
    return out


def created_files(root: Path, before: set[str]) -> set[str]:
    now = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    return now - before


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def entry_of(tracker: Tracker, result: consist.RunResult) -> Path:
    """The completed-index entry of ``result``'s signature."""
    signature = result.run.signature or ""
    return tracker.run_dir / ".consist" / "index" / signature[:2] / f"{signature}.json"


def snapshot_of(tracker: Tracker, result: consist.RunResult) -> Path:
    return tracker.run_dir / "consist_runs" / f"{result.run.id}.json"


def fresh(tmp_path: Path) -> Tracker:
    return Tracker(
        run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb", code_identity="callable_module"
    )


def test_a_miss_creates_its_output_and_one_index_entry(tmp_path: Path) -> None:
    tracker = fresh(tmp_path)
    tracker.run(fn=step, config={"v": 0})  # first run: directories, journal file
    before = all_files(tracker.run_dir)
    miss = tracker.run(fn=step, config={"v": 1})
    created = created_files(tracker.run_dir, before)
    signature = miss.run.signature
    assert created == {
        f"outputs/step/{miss.run.id}/out.json",
        f".consist/index/{signature[:2]}/{signature}.json",
    }
    # The entry holds the run's own record; the snapshot comes with the next sync.
    entry = entry_of(tracker, miss)
    assert json.loads(entry.read_bytes())["run"]["id"] == miss.run.id
    assert tracker.get_run_record(miss.run.id).run.status == "completed"
    tracker.sync_store()
    snapshot = snapshot_of(tracker, miss)
    assert json.loads(snapshot.read_bytes()) == json.loads(entry.read_bytes())
    tracker.close()


def test_another_tracker_hits_and_links_outputs_before_the_snapshot_exists(
    tmp_path: Path,
) -> None:
    writer = fresh(tmp_path)
    first = writer.run(fn=step, config={"v": 1})
    produced = first.outputs["out"].path
    assert not snapshot_of(writer, first).exists()
    # A second tracker (its own memos: it reads the index entry and the journal).
    reader = fresh(tmp_path)
    hit = reader.run(fn=step, config={"v": 1})
    assert hit.cache_hit and hit.run.reused_run_id == first.run.id

    def consume(data: Path) -> str:
        return data.read_text()

    used = reader.run(fn=consume, inputs={"data": produced}, name="consume")
    # The Merkle link: the input is attributed to the run that produced it.
    assert used.run.id != first.run.id
    record = reader.get_run_record(used.run.id)
    assert record.inputs[0].run_id == first.run.id
    reader.close()
    writer.close()


def test_a_torn_index_entry_is_a_miss_and_the_next_completion_replaces_it(
    tmp_path: Path,
) -> None:
    calls: list[int] = []

    def counted(config: dict[str, int]) -> Path:
        calls.append(1)
        return step(config)

    tracker = fresh(tmp_path)
    first = tracker.run(fn=counted, config={"v": 1})
    entry = entry_of(tracker, first)
    entry.write_bytes(entry.read_bytes()[:40])  # a writer killed mid-write
    other = fresh(tmp_path)
    again = other.run(fn=counted, config={"v": 1})
    assert not again.cache_hit and len(calls) == 2
    assert json.loads(entry.read_bytes())["run"]["id"] == again.run.id
    third = fresh(tmp_path).run(fn=counted, config={"v": 1})
    assert third.cache_hit and third.run.reused_run_id == again.run.id
    tracker.close()
    other.close()


def test_the_final_line_replaces_a_running_snapshot_materialised_mid_run(
    tmp_path: Path,
) -> None:
    tracker = fresh(tmp_path)
    snapshot = tracker.run_dir / "consist_runs" / "long.json"
    with tracker.start_run("long", "m"):
        tracker.log_meta(stage="half")
        tracker.sync_store()  # consumes the running lines: a running snapshot
        assert json.loads(snapshot.read_bytes())["run"]["status"] == "running"
    assert tracker.get_run("long").status == "completed"
    tracker.sync_store()
    assert json.loads(snapshot.read_bytes())["run"]["status"] == "completed"
    tracker.close()


def test_no_store_still_writes_the_snapshot_at_once(tmp_path: Path) -> None:
    tracker = Tracker(run_dir=tmp_path / "runs", db_path=None, code_identity="callable_module")
    miss = tracker.run(fn=step, config={"v": 1})
    snapshot, entry = snapshot_of(tracker, miss), entry_of(tracker, miss)
    assert snapshot.is_file()
    assert os.stat(snapshot).st_ino == os.stat(entry).st_ino  # the entry links to it


def test_a_miss_reads_the_cache_index_once_under_its_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consist.cache import index as index_module

    tracker = fresh(tmp_path)
    tracker.run(fn=step, config={"v": 0})
    probes: list[str] = []  # existence checks of index entries
    reads: list[str] = []
    real_read, real_access = index_module.read_bytes_or_none, os.access

    def counting_read(path: str) -> bytes | None:
        if os.sep + "index" + os.sep in path:
            reads.append(path)
        return real_read(path)

    def counting_access(path: str, mode: int) -> bool:
        if os.sep + "index" + os.sep in str(path):
            probes.append(str(path))
        return real_access(path, mode)

    monkeypatch.setattr(index_module, "read_bytes_or_none", counting_read)
    monkeypatch.setattr(index_module.os, "access", counting_access)
    tracker.run(fn=step, config={"v": 1})
    # The in-process memo first, then the file once, locked: a miss only probes it.
    assert len(probes) == 1 and reads == []
    # A run another tracker completed is not in this one's memo: found under the lock.
    other = fresh(tmp_path)
    probes.clear()
    hit = other.run(fn=step, config={"v": 1})
    assert hit.cache_hit and len(probes) == 1 and len(reads) == 1
    other.close()
    tracker.close()


def test_a_synced_miss_snapshot_is_its_index_entry_a_hit_and_a_replaced_entry_are_written(
    tmp_path: Path,
) -> None:
    from consist.options import CacheOptions

    tracker = fresh(tmp_path)
    miss = tracker.run(fn=step, config={"v": 1})
    hit = tracker.run(fn=step, config={"v": 1})
    first = tracker.run(fn=step, config={"v": 2})
    # The same signature completed again before any sync: its entry now holds `again`.
    again = tracker.run(
        fn=step, config={"v": 2}, cache_options=CacheOptions(cache_mode="overwrite")
    )
    assert hit.cache_hit and first.run.signature == again.run.signature
    tracker.sync_store()

    def same_file(result: consist.RunResult) -> bool:
        return (
            os.stat(snapshot_of(tracker, result)).st_ino
            == os.stat(entry_of(tracker, result)).st_ino
        )

    # A completed miss: the snapshot is a hard link to the entry (the same bytes).
    assert same_file(miss)
    # A hit has no entry of its own; the first of two runs of a signature lost its entry.
    assert not same_file(hit) and not same_file(first)
    for result in (miss, hit, first, again):
        assert json.loads(snapshot_of(tracker, result).read_bytes())["run"]["id"] == result.run.id
    tracker.close()
