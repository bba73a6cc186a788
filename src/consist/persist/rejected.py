"""Records the SQL store refused: set aside under ``.consist/rejected/``, listed on demand.

One bad record must never block the store. When the store cannot ingest a record (a
value a typed column refuses, a journal line that is not a record), the store hands
it here and goes on with the others (store/base.py). Rules:

* each refused record becomes ``rejected/<key>.json`` (run id, reason, origin, when)
  and, for a journal line, ``rejected/<key>.line`` (the line, byte for byte, since
  the journal file is deleted once consumed); the run's snapshot is never touched;
* ``key`` is a digest of the line, or of the snapshot for a record read from one, so
  the same record refused again (after a sync that failed before committing, by
  another process, or at a rebuild) maps to the same entry: it is written once and
  warned about once, by whoever creates the entry (an exclusive link decides);
* a reader (``access_mode="read"``) writes nothing: it warns once per process;
* entries stay until a user deletes them (after fixing or giving up the record).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from consist.fs.atomic import read_bytes_or_none, unlink_quietly, write_bytes_atomic
from consist.fs.contain import check_record_name
from consist.fs.layout import RunLayout

logger = logging.getLogger("consist")


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """A record the SQL store refused and set aside (see ``Tracker.rejected_records``).

    Attributes
    ----------
    run_id:
        The run it records, or None for a journal line that names no run.
    reason:
        Why the store refused it (the store's error, first line).
    origin:
        Where it came from: a pending-journal file name, or ``"snapshot"``.
    kept_at:
        The file that keeps it: the saved journal line, or the run's snapshot.
    rejected_at:
        When it was first set aside (ISO 8601, UTC).
    """

    run_id: str | None
    reason: str
    origin: str
    kept_at: str
    rejected_at: str


class RejectedDirectory:
    """The store's RejectedRecords sink over ``run_dir/.consist/rejected/``."""

    def __init__(self, layout: RunLayout, *, writable: bool) -> None:
        self._layout = layout
        self._writable = writable
        self._seen: set[str] = set()

    def set_aside(self, run_id: str | None, reason: str, origin: str, line: bytes | None) -> None:
        kept_at, content = self._kept(run_id, line)
        key = hashlib.sha256(content).hexdigest()[:24]
        if key in self._seen:
            return
        self._seen.add(key)
        if line is not None:
            kept_at = os.path.join(self._layout.rejected_dir, f"{key}.line")
        if self._writable and not self._claim(key, run_id, reason, origin, kept_at, line):
            return  # set aside (and warned about) before, here or by another process
        logger.warning(
            "consist: run %s could not be stored in the SQL store and was set aside (%s); "
            "it is kept at %s; the other runs are stored. List such records with "
            "tracker.rejected_records().",
            run_id or "(unknown)",
            reason,
            kept_at,
        )

    def _kept(self, run_id: str | None, line: bytes | None) -> tuple[str, bytes]:
        if line is not None:
            return "", line  # kept in a .line file named after its key
        if run_id is None or not _is_record_name(run_id):
            return "", f"snapshot:{run_id}".encode()
        path = self._layout.snapshot_path(run_id)
        # A journal line equals the snapshot written with it, so both give one key.
        return path, read_bytes_or_none(path) or f"snapshot:{run_id}".encode()

    def _claim(
        self,
        key: str,
        run_id: str | None,
        reason: str,
        origin: str,
        kept_at: str,
        line: bytes | None,
    ) -> bool:
        directory = self._layout.rejected_dir
        entry = os.path.join(directory, f"{key}.json")
        if os.path.exists(entry):
            return False
        if line is not None:
            write_bytes_atomic(kept_at, line)
        payload = {
            "run_id": run_id,
            "reason": reason,
            "origin": origin,
            "kept_at": kept_at,
            "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = f"{entry}.{os.getpid()}.tmp"
        write_bytes_atomic(tmp, json.dumps(payload, indent=1).encode())
        try:
            os.link(tmp, entry)  # exclusive: exactly one claimant creates the entry
        except FileExistsError:
            return False
        finally:
            unlink_quietly(tmp)
        return True


def list_rejected(layout: RunLayout) -> list[RejectedRecord]:
    """Every record set aside under run_dir, oldest first (reads files only)."""
    try:
        names = sorted(n for n in os.listdir(layout.rejected_dir) if n.endswith(".json"))
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        data = read_bytes_or_none(os.path.join(layout.rejected_dir, name))
        try:
            payload = json.loads(data or b"")
            record = RejectedRecord(
                run_id=payload["run_id"],
                reason=str(payload["reason"]),
                origin=str(payload["origin"]),
                kept_at=str(payload["kept_at"]),
                rejected_at=str(payload["rejected_at"]),
            )
        except (ValueError, KeyError, TypeError):
            continue  # being written, or damaged: not a listing's business to fail
        found.append(record)
    found.sort(key=lambda record: (record.rejected_at, record.kept_at))
    return found


def _is_record_name(run_id: str) -> bool:
    try:
        check_record_name(run_id, "run_id")
    except ValueError:
        return False
    return True
