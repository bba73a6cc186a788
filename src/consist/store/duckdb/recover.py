"""A DuckDB file that cannot be opened: recognising it, and moving it out of the way.

Rules:

* "corrupt" means DuckDB says the file is not a database, or is cut short (garbage
  bytes, a truncated copy, a file emptied by a full disk). Lock errors and
  permission errors are not corruption and never lead here.
* A corrupt file is never deleted: a write session renames it (and its ``.wal``)
  to ``<db_path>.corrupt-<UTC timestamp>`` and starts a new database, which
  persist/sync.py then rebuilds from the snapshots.
* Only a file Consist has written is moved: its gate sidecar (``<db_path>.gate``,
  created by every write session) must exist. A db_path pointing at some other file
  by mistake is refused with StoreCorrupt and left alone.
"""

from __future__ import annotations

import os
import time

from consist.store.base import StoreCorrupt

_CORRUPTION_SIGNS = (
    "not a valid duckdb database file",
    "could not read enough bytes",
    "corrupt",
    "checksum",
)


def is_corruption(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(sign in text for sign in _CORRUPTION_SIGNS)


def corrupt_error(db_path: str, exc: BaseException) -> StoreCorrupt:
    return StoreCorrupt(
        f"The DuckDB store {db_path} exists but is not a readable DuckDB database.",
        cause=str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc),
        fix="Open it with a write tracker, which moves it aside and rebuilds the store "
        "from the snapshots, or move it away yourself and run rebuild_store.",
        path=db_path,
    )


def set_aside_file(db_path: str) -> str:
    """Rename ``db_path`` (and its WAL) to a timestamped name beside it; return the name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = f"{db_path}.corrupt-{stamp}"
    suffix = 1
    while os.path.exists(target):
        suffix += 1
        target = f"{db_path}.corrupt-{stamp}-{suffix}"
    os.rename(db_path, target)
    # A WAL replayed into the new database would corrupt it again: it goes along.
    if os.path.exists(db_path + ".wal"):
        os.rename(db_path + ".wal", target + ".wal")
    return target
