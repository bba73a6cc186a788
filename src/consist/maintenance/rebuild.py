"""Rebuild the SQL store from the JSON snapshots (the snapshots are the source of truth)."""

from __future__ import annotations

from pathlib import Path

from consist.services import build_services
from consist.settings import TrackerConfig


def rebuild_store(run_dir: str | Path, db_path: str | Path) -> int:
    """Re-import every snapshot under ``run_dir`` into ``db_path``; return the run count.

    Safe on an existing store (rows are upserted) and on an empty or deleted one.
    """
    services = build_services(TrackerConfig(run_dir=run_dir, db_path=db_path))
    return services.sync.rebuild()
