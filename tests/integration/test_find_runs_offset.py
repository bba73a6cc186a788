"""find_runs(offset=...): paging through matches, in both stores and for a reader that
merges runs not yet synced into the store (store/overlay.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist import ConfigError, Tracker


def step() -> None:
    pass


def add_runs(tracker: Tracker, names: list[str], **kwargs) -> None:
    for name in names:
        tracker.run(fn=step, run_id=name, model="m", config={"n": name}, **kwargs)


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request: pytest.FixtureRequest) -> Tracker:
    return request.getfixturevalue("tracker" if request.param == "duckdb" else "json_tracker")


def pages(tracker: Tracker, size: int, **filters) -> list[list[str]]:
    found, offset = [], 0
    while True:
        page = [r.id for r in tracker.find_runs(limit=size, offset=offset, **filters)]
        if not page:
            return found
        found.append(page)
        offset += size


def test_pages_cover_every_run_once(any_tracker: Tracker) -> None:
    add_runs(any_tracker, [f"r{i}" for i in range(7)])
    everything = [r.id for r in any_tracker.find_runs(limit=None)]
    assert everything == [f"r{i}" for i in reversed(range(7))]
    assert pages(any_tracker, 3) == [["r6", "r5", "r4"], ["r3", "r2", "r1"], ["r0"]]
    assert [r.id for r in any_tracker.find_runs(limit=2, offset=5)] == ["r1", "r0"]
    assert any_tracker.find_runs(offset=7) == []


def test_offset_applies_after_filters(any_tracker: Tracker) -> None:
    add_runs(any_tracker, ["a0", "a1", "a2"], tags=["x"])
    add_runs(any_tracker, ["b0", "b1"])
    assert pages(any_tracker, 2, tags=["x"]) == [["a2", "a1"], ["a0"]]


@pytest.mark.parametrize("offset", [-1, 1.5, "2", True])
def test_a_bad_offset_is_refused(tracker: Tracker, offset: object) -> None:
    with pytest.raises(ConfigError, match="offset=") as caught:
        tracker.find_runs(offset=offset)
    assert caught.value.context["parameter"] == "offset"


def test_a_reader_pages_through_synced_and_pending_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    writer = Tracker(tmp_path / "runs", tmp_path / "db.duckdb", code_identity="callable_module")
    try:
        add_runs(writer, ["s0", "s1", "s2", "s3"])
        writer.sync_store()
        add_runs(writer, ["p0", "p1", "p2"])  # ended, still only in the journal
        reader = Tracker(tmp_path / "runs", tmp_path / "db.duckdb", access_mode="read")
        try:
            assert pages(reader, 2) == [["p2", "p1"], ["p0", "s3"], ["s2", "s1"], ["s0"]]
            assert [r.id for r in reader.find_runs(limit=3, offset=2)] == ["p0", "s3", "s2"]
        finally:
            reader.close()
    finally:
        writer.close()
