"""Tracker.compare_runs, list_views, check_store and rebuild_store, on both kinds of store."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import consist
from consist import Tracker
from consist.errors import ConfigError, QueryError, RunStateError
from consist.settings import TrackerConfig


def step(size: int) -> Path:
    out = consist.output_path("table", ext="txt")
    out.write_text("x" * size)
    return out


def record(tracker: Tracker, size: int, **config: object) -> str:
    result = tracker.run(
        fn=step, name="step", outputs=["table"], config={"size": size, **config},
        runtime_kwargs={"size": size},
    )  # fmt: skip
    return result.run.id


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request: pytest.FixtureRequest) -> Tracker:
    tracker: Tracker = request.getfixturevalue(
        "tracker" if request.param == "duckdb" else "json_tracker"
    )
    return tracker


def test_compare_runs_on_both_stores(any_tracker: Tracker) -> None:
    a = record(any_tracker, 1, mode={"fast": True})
    b = record(any_tracker, 2, extra="yes")
    diff = any_tracker.compare_runs(a, b)
    assert diff["run_id_a"] == a and diff["run_id_b"] == b
    assert diff["config"] == {
        "changed": {"size": (1, 2)},
        "added": {"extra": "yes"},
        "removed": {"mode.fast": True},
    }
    assert list(diff["outputs"]["changed"]) == ["table"]
    assert set(diff["fields"]) == {"signature", "config_hash"}
    same = any_tracker.compare_runs(a, a)
    assert same["outputs"]["same"] == ["table"] and not same["fields"]


def test_compare_runs_refuses_unknown_and_bad_ids(any_tracker: Tracker) -> None:
    a = record(any_tracker, 1)
    with pytest.raises(QueryError, match="'nope'"):
        any_tracker.compare_runs(a, "nope")
    with pytest.raises(ConfigError, match="run_id_a"):
        any_tracker.compare_runs(None, a)  # type: ignore[arg-type]


def test_check_store_of_agreeing_stores(any_tracker: Tracker) -> None:
    ids = {record(any_tracker, n) for n in (1, 2, 3)}
    seen: list[tuple[int, int]] = []
    check = any_tracker.check_store(progress=lambda done, total: seen.append((done, total)))
    assert check.ok and check.snapshots == 3 and check.stored == 3, check
    assert seen[-1] == (3, 3)
    assert not check.missing and not check.extra and not check.mismatched
    assert ids  # every run was compared


def test_check_store_reports_pending_runs_as_no_fault(tmp_path: Path) -> None:
    config = TrackerConfig(
        run_dir=tmp_path / "runs", db_path=tmp_path / "p.duckdb",
        code_identity="callable_module", sync_every_runs=10_000, sync_every_seconds=3600,
    )  # fmt: skip
    with Tracker(config=config) as writer:
        first = record(writer, 1)
        writer.sync_store()
        later = record(writer, 2)  # journaled, not yet in the store
        reader = Tracker(tmp_path / "runs", tmp_path / "p.duckdb", access_mode="read")
        check = reader.check_store()
        assert check.ok and check.pending == (later,) and check.stored == 1, check
        assert first not in check.missing
        reader.close()


def test_check_store_finds_differences_and_rebuild_repairs_them(tracker: Tracker) -> None:
    a, b = record(tracker, 1), record(tracker, 2)
    tracker.sync_store()
    conn = duckdb.connect(str(tracker.db_path))
    conn.execute("UPDATE runs SET year = 1999 WHERE id = ?", [a])
    conn.execute("DELETE FROM runs WHERE id = ?", [b])
    conn.close()
    check = tracker.check_store()
    assert not check.ok
    assert check.missing == (b,)
    assert [(m.run_id, m.fields) for m in check.mismatched] == [(a, ("year",))]
    assert check.to_dict()["mismatched"] == [{"run_id": a, "fields": ["year"]}]
    assert tracker.rebuild_store() == 2
    assert tracker.check_store().ok


def test_check_store_reports_an_unreadable_snapshot(any_tracker: Tracker) -> None:
    record(any_tracker, 1)
    (any_tracker.run_dir / "consist_runs" / "broken.json").write_text("{not json")
    check = any_tracker.check_store()
    assert check.unreadable == ("broken",) and not check.ok


def test_rebuild_store_needs_write_access(tracker: Tracker) -> None:
    record(tracker, 1)
    tracker.close()
    reader = Tracker(tracker.run_dir, tracker.db_path, access_mode="read")
    with pytest.raises(RunStateError, match="access_mode"):
        reader.rebuild_store()
    assert reader.check_store().ok  # a reader may check
    reader.close()


def test_progress_must_be_callable(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="progress"):
        tracker.check_store(progress=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="progress"):
        tracker.rebuild_store(progress="bar")  # type: ignore[arg-type]


def test_list_views(tracker: Tracker, json_tracker: Tracker) -> None:
    record(tracker, 1)
    tracker.sync_store()
    conn = duckdb.connect(str(tracker.db_path))
    conn.execute("CREATE VIEW sizes AS SELECT id, status FROM runs")
    conn.close()
    views = {view.qualified_name: view for view in tracker.list_views()}
    assert views["sizes"].columns == ("id", "status") and views["sizes"].kind == "view"
    assert views["global_tables.run_config_kv"].schema == "global_tables"
    assert json_tracker.list_views() == []  # no SQL store, no views


def test_list_views_of_a_reader_before_any_database(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    reader = Tracker(tmp_path / "runs", tmp_path / "none.duckdb", access_mode="read")
    assert reader.list_views() == []
    assert not (tmp_path / "none.duckdb").exists()
    reader.close()
