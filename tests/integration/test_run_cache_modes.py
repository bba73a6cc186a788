"""End-to-end tests of Tracker.run cache modes: overwrite, readonly, deleted outputs."""

from pathlib import Path

from run_helpers import snapshot_ids, synced_snapshot_path, write_out

from consist import (
    CacheOptions,
    Tracker,
)

# --- cache modes ----------------------------------------------------------------------


def test_overwrite_always_executes_and_newest_becomes_the_cache_entry(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", str(len(calls)))

    first = tracker.run(fn=step, outputs=["o"])
    overwritten = tracker.run(
        fn=step, outputs=["o"], cache_options=CacheOptions(cache_mode="overwrite")
    )
    reused = tracker.run(fn=step, outputs=["o"])

    assert len(calls) == 2
    assert not overwritten.cache_hit
    assert overwritten.run.signature == first.run.signature
    assert synced_snapshot_path(tracker, overwritten.run.id).is_file()
    assert reused.cache_hit
    assert reused.run.reused_run_id == overwritten.run.id
    assert reused.outputs["o"].path.read_text() == "2"


def test_readonly_hit_returns_outputs_without_writing_a_snapshot(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    first = tracker.run(fn=step, outputs=["o"])
    before = snapshot_ids(tracker)
    readonly = tracker.run(
        fn=step, outputs=["o"], cache_options=CacheOptions(cache_mode="readonly")
    )

    assert readonly.cache_hit
    assert readonly.run.reused_run_id == first.run.id
    assert readonly.outputs["o"].path.read_text() == "v"
    assert len(calls) == 1
    assert snapshot_ids(tracker) == before
    assert tracker.get_run(readonly.run.id) is None


def test_readonly_miss_executes_but_persists_nothing(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    readonly = tracker.run(
        fn=step, outputs=["o"], cache_options=CacheOptions(cache_mode="readonly")
    )

    assert not readonly.cache_hit
    assert calls == [1]
    assert readonly.outputs["o"].path.is_file()
    assert snapshot_ids(tracker) == set()
    assert tracker.find_runs() == []
    later = tracker.run(fn=step, outputs=["o"])
    assert not later.cache_hit
    assert len(calls) == 2


def test_deleted_cached_output_forces_reexecution(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    first = tracker.run(fn=step, outputs=["o"])
    first.outputs["o"].path.unlink()
    again = tracker.run(fn=step, outputs=["o"])

    assert not again.cache_hit
    assert len(calls) == 2
    assert again.outputs["o"].path.is_file()
    reason = again.cache_reason
    assert reason is not None and reason.outcome == "demoted"
    assert reason.missing_key == "o" and reason.matched_run_id == first.run.id
    assert "cache_miss_reason" not in again.run.meta
    assert tracker.run(fn=step, outputs=["o"]).cache_hit
