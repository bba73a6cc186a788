"""Journal lines as a source of truth beside the snapshots, and turning them into snapshots.

With a shared store (DuckDB), a run's record reaches disk first as a line of its
process's journal (persist/journal.py), and only some records also get a snapshot file
at once (see persist/recorder.py):

* a cache hit is recorded by ONE journal append; its snapshot is written later;
* a miss's running record (at start, after log_* calls) is a journal line, and so is
  its final record; the cache index entry of a completed miss holds its own copy of
  the record (cache/index.py), so no snapshot is needed at once.

The journal is JSON and durable (a complete line is there or it is not), so nothing is
lost meanwhile; readers look in it when a snapshot is missing (:func:`read_record`).
Snapshots are *materialised* from journal lines by whoever consumes the lines into the
store (every sync, close and exit, and the next process that finds the journal of a
dead one), always before a consumed journal file may be deleted:

* a final line (any status but ``running``) always becomes its snapshot: a run has one
  final record, and it wins over a running line materialised earlier (a sync during
  the run) or a snapshot that marked the run abandoned. A completed miss's snapshot is
  a hard link to its cache index entry when that still holds exactly the line;
* a running line becomes a snapshot only when none exists yet, and never replaces one:
  written with a hard link that fails on an existing file, so a slow materialiser can
  never overwrite a final snapshot with an older running line.
"""

from __future__ import annotations

import json
import os

from consist.cache.index import completed_entry_path
from consist.fs.atomic import (
    link_atomic,
    link_if_same_bytes,
    write_bytes_atomic,
    write_bytes_if_absent,
)
from consist.fs.layout import RunLayout
from consist.model import codec
from consist.model.run import ConsistRecord, RunStatus
from consist.persist.journal import PendingJournal
from consist.persist.snapshot import decode_record, read_snapshot


def materialize(layout: RunLayout, record: ConsistRecord, line: bytes) -> None:
    """Make sure the snapshot of ``record`` (whose journal line is ``line``) exists."""
    run = record.run
    path = layout.snapshot_path(run.id)
    if run.status != RunStatus.RUNNING.value:
        # A completed miss's cache index entry holds these very bytes (cache/index.py):
        # a hard link to it is the snapshot without writing them again, ~4x cheaper on a
        # disk. Only while the entry is still this run's: a later completion of the same
        # signature replaces it, and the comparison of the bytes tells.
        if (
            run.status == RunStatus.COMPLETED.value
            and not run.cache_hit
            and run.signature
            and link_if_same_bytes(completed_entry_path(layout, run.signature), path, line)
        ):
            return
        write_bytes_atomic(path, line)
        return
    if os.path.exists(path):
        return
    # Never replaces: a final snapshot the run wrote at its end wins over an older line.
    write_bytes_if_absent(path, line)


def point_latest(layout: RunLayout, record: ConsistRecord) -> bool:
    """Point consist.json at ``record``'s snapshot (the most recently ended run); False
    when that snapshot is not materialised yet."""
    path = layout.snapshot_path(record.run.id)
    try:
        link_atomic(path, layout.latest_snapshot)
    except FileNotFoundError:
        return False
    return True


def read_record(layout: RunLayout, journal: PendingJournal, run_id: str) -> ConsistRecord | None:
    """The run's newest record: its snapshot, unless that is a running record (which a
    later journal line may supersede: the final line of a miss has no snapshot until it
    is materialised), else its latest journal line; None when neither exists."""
    record = read_snapshot(layout, run_id)
    if record is not None and record.run.status != RunStatus.RUNNING.value:
        return record
    return find_in_journals(layout, journal, run_id) or record


def find_in_journals(
    layout: RunLayout, journal: PendingJournal, run_id: str
) -> ConsistRecord | None:
    """The last journal line of ``run_id`` in any pending journal (a run's lines share one
    file, in order), or None."""
    # Encoded as records encode it (model/codec.py: compact, UTF-8), and as journals
    # written before orjson did (non-ASCII as \uXXXX escapes).
    needles = {
        b'"id":' + codec.encode(run_id) + b",",
        b'"id":' + json.dumps(run_id).encode() + b",",
    }
    found: bytes | None = None
    for chunk in journal.scan({}):
        for line in chunk.lines:
            if any(needle in line for needle in needles):
                try:
                    if decode_record(line, layout).run.id == run_id:
                        found = line
                except (ValueError, KeyError, TypeError):
                    continue
    return decode_record(found, layout) if found is not None else None
