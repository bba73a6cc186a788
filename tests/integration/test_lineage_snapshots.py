"""Lineage reads the runs it meets from their JSON snapshots, and falls back to the store.

``get_artifact_lineage`` takes a run from its snapshot in this run_dir when that holds
the run's final record (persist/snapshot.final_runs), as ``get_run`` does, and asks the
store for the others: a deleted, running or unreadable snapshot, or a run indexed from
another run_dir. The tree must be the same either way, on every store: DuckDB,
PostgreSQL and JSON-only (which holds the snapshots' runs already).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import consist
from consist import Tracker
from consist.query.lineage import build_tree
from consist.store.links import UPSTREAM


def seed() -> Path:
    consist.log_meta(n=1, share=0.5, nested={"a": [1, 2]})
    out = consist.output_path("seed", ext="csv")
    out.write_text("x\n1\n")
    return out


def grow(seed: Path, zones: Path) -> Path:
    out = consist.output_path("grown", ext="csv")
    out.write_text(seed.read_text() + "2\n")
    return out


def report(grown: Path) -> Path:
    out = consist.output_path("report", ext="txt")
    out.write_text(grown.read_text().upper())
    return out


@pytest.fixture(params=["duckdb", "postgres", "json"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tracker(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request):
    monkeypatch.chdir(tmp_path)
    db_path: object = {"duckdb": tmp_path / "db.duckdb", "json": None}.get(kind)
    if kind == "postgres":
        db_path = request.getfixturevalue("pg_url")
    instance = Tracker(run_dir=tmp_path / "runs", db_path=db_path, code_identity="callable_module")
    yield instance
    instance.close()


@pytest.fixture
def runs(tracker: Tracker, tmp_path: Path) -> list[str]:
    zones = tmp_path / "zones.csv"
    zones.write_text("zone\n1\n")
    first = tracker.run(fn=seed, outputs=["seed"], tags=["t"])
    second = tracker.run(
        fn=grow,
        inputs={"seed": first.outputs["seed"], "zones": zones},
        outputs=["grown"],
        year=2030,
        description="grows",
    )
    third = tracker.run(fn=report, inputs={"grown": second.outputs["grown"]}, outputs=["report"])
    return [first.run.id, second.run.id, third.run.id]


def store_tree(tracker: Tracker, max_depth: int | None = None) -> dict:
    """The tree from the store's runs alone (no snapshot read)."""
    root = tracker.get_artifact("report")
    graph = tracker._services.sync.read(
        lambda source: source.get_lineage(root.id, direction=UPSTREAM, max_depth=max_depth),
        lambda store, pending: pytest.fail("nothing is pending"),
    )
    return build_tree(graph).to_dict()


def snapshot(tracker: Tracker, run_id: str) -> Path:
    return Path(tracker._services.layout.snapshot_path(run_id))


def test_lineage_is_the_same_with_and_without_snapshots(tracker: Tracker, runs, kind) -> None:
    tree = tracker.get_artifact_lineage("report")
    assert [step.run.id for node in tree.walk() for step in node.steps] == runs[::-1]
    # Every run of the tree is the run the store holds, field for field.
    assert tree.to_dict() == store_tree(tracker)
    # A store taking records directly (PostgreSQL) may answer before the journal lines
    # become snapshots: the tree above came from the store. Now from the snapshots:
    tracker.sync_store()
    for run_id in runs:
        assert snapshot(tracker, run_id).exists()
    assert tracker.get_artifact_lineage("report").to_dict() == tree.to_dict()
    snapshot(tracker, runs[1]).unlink()  # the store answers for this one
    assert tracker.get_artifact_lineage("report").to_dict() == tree.to_dict()
    for run_id in runs:
        snapshot(tracker, run_id).unlink(missing_ok=True)
    assert tracker.get_artifact_lineage("report").to_dict() == tree.to_dict()
    assert tracker.get_artifact_lineage("report", max_depth=1).to_dict() == store_tree(tracker, 1)


def test_a_running_or_broken_snapshot_is_not_used(tracker: Tracker, runs, kind) -> None:
    if kind == "json":
        pytest.skip("JSON-only: the store is the snapshots themselves")
    tracker.sync_store()  # every snapshot written
    tree = tracker.get_artifact_lineage("report").to_dict()
    assert tree == store_tree(tracker)
    path = snapshot(tracker, runs[0])
    data = json.loads(path.read_bytes())
    data["run"]["status"] = "running"
    data["run"]["description"] = "not final yet"
    path.write_text(json.dumps(data))
    assert tracker.get_artifact_lineage("report").to_dict() == tree
    snapshot(tracker, runs[1]).write_text("{not json")
    assert tracker.get_artifact_lineage("report").to_dict() == tree


def test_lineage_and_get_run_agree_on_a_final_snapshot(tracker: Tracker, runs, kind) -> None:
    # The snapshot is the run's source of truth (written before any store row); a
    # snapshot edited by hand shows that lineage reads it, as get_run does.
    if kind == "json":
        pytest.skip("JSON-only: the store holds the snapshots as first read")
    tracker.sync_store()  # every snapshot written
    path = snapshot(tracker, runs[1])
    data = json.loads(path.read_bytes())
    data["run"]["description"] = "edited in the snapshot"
    path.write_text(json.dumps(data))
    tree = tracker.get_artifact_lineage("report")
    (grown,) = tree.steps[0].artifacts
    assert grown.producer == tracker.get_run(runs[1])
    assert grown.producer.description == "edited in the snapshot"
