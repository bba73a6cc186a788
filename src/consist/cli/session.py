"""Where the CLI's store is and how a command opens it (the global options' state).

``--run-dir`` / ``--db-path`` win, then ``CONSIST_RUN_DIR`` / ``CONSIST_DB_PATH``, then
``./runs`` and ``./provenance.duckdb`` of the current directory. Read commands open the
Tracker with ``access_mode="read"``: it never writes, never creates a file and never
holds the database between queries, so a sweep writing to the same store keeps
running. Only ``db rebuild`` opens it for writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from consist.errors import ConfigError
from consist.tracker.tracker import Tracker

DEFAULT_RUN_DIR = "./runs"
DEFAULT_DB_PATH = "./provenance.duckdb"


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """The run directory (JSON snapshots) and DuckDB file a command works on."""

    run_dir: Path
    db_path: Path

    def open(self, *, write: bool = False) -> Tracker:
        """A Tracker over this location: read-only unless ``write``.

        Raises ConfigError when there is no run directory: nothing was recorded there
        (a reader must not create one, and a rebuild would have nothing to read).
        """
        if not self.run_dir.is_dir():
            raise ConfigError(
                f"No run directory at {str(self.run_dir)!r}: no runs are recorded there.",
                fix="Pass --run-dir (or set CONSIST_RUN_DIR) to the run_dir your Tracker uses.",
                parameter="--run-dir",
                value=str(self.run_dir),
            )
        return Tracker(
            run_dir=self.run_dir,
            db_path=self.db_path,
            access_mode="write" if write else "read",
        )


def location(ctx: typer.Context) -> StoreLocation:
    """The store location the global options chose (held by the root context)."""
    root = ctx.find_root()
    assert isinstance(root.obj, StoreLocation), "the consist callback sets it"
    return root.obj
