"""Helpers shared by the test_run_*.py integration tests of ``Tracker.run``."""

from pathlib import Path

import consist
from consist import Tracker


def snapshot_path(tracker: Tracker, run_id: str) -> Path:
    return tracker.run_dir / "consist_runs" / f"{run_id}.json"


def synced_snapshot_path(tracker: Tracker, run_id: str) -> Path:
    """The snapshot path after a sync: with a store, a run's snapshot is materialised
    from its journal line when the journal is consumed."""
    tracker.sync_store()
    return snapshot_path(tracker, run_id)


def snapshot_ids(tracker: Tracker) -> set[str]:
    tracker.sync_store()
    return {p.stem for p in (tracker.run_dir / "consist_runs").glob("*.json")}


def write_out(key: str, text: str = "data") -> Path:
    out = consist.output_path(key, ext="txt")
    out.write_text(text)
    return out
