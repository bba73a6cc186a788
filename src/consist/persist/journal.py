"""The pending journal: run ids whose final snapshot is not yet in the SQL store.

One empty marker file per run (``.consist/pending/<run_id>``). Markers are created
by the process that ends the run and removed by whichever process next copies them
into the store, after its transaction commits. A crash between commit and removal
only means the run is copied again, which the store's upsert makes harmless.
"""

from __future__ import annotations

import os

from consist.fs.layout import RunLayout


class PendingJournal:
    def __init__(self, layout: RunLayout) -> None:
        self._dir = layout.pending_dir

    def mark(self, run_id: str) -> None:
        path = os.path.join(self._dir, run_id)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        except FileNotFoundError:
            os.makedirs(self._dir, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)

    def list(self) -> list[str]:
        try:
            return [name for name in os.listdir(self._dir) if not name.endswith(".tmp")]
        except FileNotFoundError:
            return []

    def clear(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            try:
                os.unlink(os.path.join(self._dir, run_id))
            except FileNotFoundError:
                pass
