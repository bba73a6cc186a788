"""End-to-end tests of Tracker.run identity: which changes cause a cache miss, Merkle links."""

import shutil
from pathlib import Path

import pytest
from run_helpers import snapshot_path, write_out

from consist import (
    CacheOptions,
    Tracker,
)

# --- identity -------------------------------------------------------------------------


def test_cache_hit_skips_fn_and_is_recorded_as_its_own_run(tracker: Tracker) -> None:
    calls = []

    def step() -> Path:
        calls.append(1)
        return write_out("o", "v")

    first = tracker.run(fn=step, config={"a": 1}, outputs=["o"])
    hit = tracker.run(fn=step, config={"a": 1}, outputs=["o"])

    assert len(calls) == 1
    assert hit.cache_hit and hit.run.cache_hit
    assert hit.run.id != first.run.id
    assert hit.run.reused_run_id == first.run.id
    assert hit.run.signature == first.run.signature
    assert hit.outputs["o"].path == first.outputs["o"].path
    assert hit.outputs["o"].id == first.outputs["o"].id
    assert hit.outputs["o"].path.is_file()
    # A hit is one journal append: readable at once, its snapshot file comes at the sync.
    stored_before_sync = tracker.get_run_record(hit.run.id)
    assert stored_before_sync is not None and stored_before_sync.run.cache_hit
    assert not snapshot_path(tracker, hit.run.id).exists()
    tracker.sync_store()
    assert snapshot_path(tracker, hit.run.id).is_file()
    stored = tracker.get_run_record(hit.run.id).run
    assert stored.cache_hit is True
    assert stored.reused_run_id == first.run.id
    assert stored.status == "completed"


BASE_KWARGS = {"config": {"a": 1}, "model": "m", "year": 2020, "iteration": 1}


@pytest.mark.parametrize(
    "change",
    [
        {"config": {"a": 2}},
        {"config": {"a": 1, "b": 0}},
        {"model": "other"},
        {"year": 2021},
        {"iteration": 2},
        {"cache_options": CacheOptions(cache_version=2)},
        {"cache_options": CacheOptions(cache_epoch=7)},
    ],
    ids=["config-value", "config-key", "model", "year", "iteration", "version", "epoch"],
)
def test_identity_component_change_causes_miss(tracker: Tracker, change: dict) -> None:
    calls = []

    def step() -> None:
        calls.append(1)

    first = tracker.run(fn=step, **BASE_KWARGS)
    changed = tracker.run(fn=step, **{**BASE_KWARGS, **change})

    assert not changed.cache_hit
    assert changed.run.signature != first.run.signature
    assert len(calls) == 2


@pytest.mark.parametrize(
    "change",
    [
        {"tags": ["new-tag"]},
        {"description": "a different description"},
        {"name": "renamed"},
        {"runtime_kwargs": {"verbose": True}},
        {"stage": "s2"},
        {"phase": "p2"},
        {"parent_run_id": "another-parent"},
        {"run_id": "explicit-id"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_labels_and_runtime_kwargs_do_not_change_identity(tracker: Tracker, change: dict) -> None:
    calls = []

    def step(verbose: bool = False) -> None:
        calls.append(verbose)

    first = tracker.run(fn=step, model="m", config={"a": 1}, tags=["t"], description="d")
    second = tracker.run(
        fn=step, **{"model": "m", "config": {"a": 1}, "tags": ["t"], "description": "d", **change}
    )

    assert second.cache_hit
    assert second.run.reused_run_id == first.run.id
    assert calls == [False]


def test_int_vs_float_and_key_order_do_not_matter(tracker: Tracker) -> None:
    calls = []

    def step() -> None:
        calls.append(1)

    tracker.run(fn=step, config={"a": 1, "b": {"x": 2, "y": 3}})
    as_float = tracker.run(fn=step, config={"a": 1.0, "b": {"x": 2.0, "y": 3}})
    reordered = tracker.run(fn=step, config={"b": {"y": 3, "x": 2}, "a": 1})

    assert as_float.cache_hit and reordered.cache_hit
    assert len(calls) == 1


def test_input_content_change_causes_miss(tracker: Tracker, tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("v\n1\n")
    calls = []

    def step(raw: Path) -> None:
        calls.append(raw.read_text())

    first = tracker.run(fn=step, inputs={"raw": raw})
    assert tracker.run(fn=step, inputs={"raw": raw}).cache_hit
    raw.write_text("v\n2\n")
    changed = tracker.run(fn=step, inputs={"raw": raw})

    assert not changed.cache_hit
    assert changed.run.input_hash != first.run.input_hash
    assert calls == ["v\n1\n", "v\n2\n"]


def test_merkle_upstream_change_with_identical_bytes_invalidates_downstream(
    tracker: Tracker, tmp_path: Path
) -> None:
    shared = tmp_path / "shared.txt"

    def step_a(config) -> Path:
        shared.write_text("identical bytes")
        return shared

    def step_b(src: Path) -> Path:
        return write_out("b", src.read_text().upper())

    tracker.run(fn=step_a, config={"k": 1}, outputs=["shared"])
    b1 = tracker.run(fn=step_b, inputs={"src": shared}, outputs=["b"])
    assert tracker.run(fn=step_b, inputs={"src": shared}, outputs=["b"]).cache_hit

    a2 = tracker.run(fn=step_a, config={"k": 2}, outputs=["shared"])
    assert not a2.cache_hit
    b2 = tracker.run(fn=step_b, inputs={"src": shared}, outputs=["b"])

    assert not b2.cache_hit
    assert b2.run.input_hash != b1.run.input_hash
    assert b2.run.config_hash == b1.run.config_hash


def test_merkle_through_artifacts(tracker: Tracker) -> None:
    def step_a(config) -> Path:
        return write_out("out", "same")

    def step_b(src: Path) -> None:
        return None

    a1 = tracker.run(fn=step_a, config={"k": 1}, outputs=["out"])
    b1 = tracker.run(fn=step_b, inputs={"src": a1.outputs["out"]})
    a2 = tracker.run(fn=step_a, config={"k": 2}, outputs=["out"])
    assert a2.outputs["out"].hash == a1.outputs["out"].hash
    b2 = tracker.run(fn=step_b, inputs={"src": a2.outputs["out"]})

    assert not b2.cache_hit
    assert b2.run.input_hash != b1.run.input_hash


def test_raw_input_moved_or_copied_with_same_bytes_hits(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    original = tmp_path / "d1" / "raw.txt"
    original.write_text("raw bytes")
    calls = []

    def step(src: Path) -> None:
        calls.append(src)

    first = tracker.run(fn=step, inputs={"src": original})
    copied = tmp_path / "d2" / "copy.txt"
    shutil.copy(original, copied)
    from_copy = tracker.run(fn=step, inputs={"src": copied})
    moved = tmp_path / "d2" / "moved.txt"
    original.rename(moved)
    from_moved = tracker.run(fn=step, inputs={"src": moved})

    assert from_copy.cache_hit and from_moved.cache_hit
    assert from_copy.run.input_hash == first.run.input_hash == from_moved.run.input_hash
    assert calls == [original]
