"""File-backed indexes that make the cache lookup independent of the SQL store.

DuckDB lets only one process open a database file at a time, so the hot path never
touches it. Instead two small indexes live beside the snapshots, written atomically
and safe for many concurrent processes:

* CompletedIndex: run signature -> record of the completed run that produced it, so a
  lookup is one file read. With a shared store the entry is written from the run's
  own JSON (the journal line), created in place: the run's snapshot is materialised
  later, like a hit's (persist/materialize.py), so a miss creates one record file, not
  three (temp + rename + link). A reader that finds the entry torn (its writer died
  mid-write, or is writing it now without the signature lock) treats it as a miss.
  Without a store the entry is a hard link to the snapshot. Later completions of the
  same signature replace the entry; any completed run with that signature is a valid hit.
  It owns the StepIndex (cache/steps.py: latest completed run per step, flushed when
  the tracker closes), which is what a miss is compared with to say why it missed.
* ProducedIndex: output path (keyed by its portable URI) -> producing run's signature
  and the digest it recorded. This lets a plain path input that some run wrote contribute that run's
  signature to the identity (the Merkle link), without a database. An output in its
  run's default artifact directory (outputs/<model>/<run_id>/...) gets no entry file:
  the path names the run, and that run's record holds the output's digest, so the
  lookup reads the record instead (its snapshot, or its journal line until the
  snapshot is materialised): one file creation less per output of a miss.

Each index also keeps an in-process memo so repeated lookups cost a dict access,
bounded (model/memo.py): the CompletedIndex memo holds at most ``MEMO_ENTRIES`` records
(the least recently used go first; their index files remain, so a forgotten signature
is still a hit, from its file), the ProducedIndex memo ``PRODUCED_MEMO_ENTRIES`` paths. Unbounded, a long sweep in one process kept every record: 4 kB each, and ~40
objects each that every garbage collection walks, ~10 µs of collection per run at
10,000 runs and ~25 µs at 30,000 (full collections of 0.1 s); bounded, ~8 µs per run
whatever the length. (Holding the records as JSON bytes, which collections never
walk, would cost less still, but every hit would decode its record: ~+12 µs a hit.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from consist.cache.steps import StepIndex
from consist.errors import ConfigError, StoreError
from consist.fs.atomic import link_atomic, read_bytes_or_none, write_bytes_atomic, write_bytes_new
from consist.fs.layout import RunLayout
from consist.identity.canonical import digest_bytes
from consist.model.artifact import ProducedFile
from consist.model.memo import remember
from consist.model.run import ConsistRecord, RunStatus
from consist.persist.snapshot import decode_record, read_snapshot

#: Completed records the memo of one process holds (~4 kB each).
MEMO_ENTRIES = 4096
#: Produced files the memo of one process knows (~0.5 kB each).
PRODUCED_MEMO_ENTRIES = 16384

# run id -> its record (snapshot, else pending journal line), or None.
RecordReader = Callable[[str], ConsistRecord | None]


def completed_entry_path(layout: RunLayout, signature: str) -> str:
    """Where the CompletedIndex entry of ``signature`` lives."""
    return f"{layout.index_dir}{os.sep}{signature[:2]}{os.sep}{signature}.json"


class CompletedIndex:
    """Signature -> completed run record (and, through ``steps``, step -> latest run)."""

    def __init__(
        self,
        layout: RunLayout,
        shared: Callable[[str], ConsistRecord | None] | None = None,
    ) -> None:
        self._layout = layout
        self._memo: dict[str, ConsistRecord] = {}  # least recently used first
        self.steps = StepIndex(layout)
        # A shared store's lookup (one indexed query) for signatures this run_dir has not
        # completed: another machine's run is a hit here too.
        self._shared = shared

    def _path(self, signature: str) -> str:
        return completed_entry_path(self._layout, signature)

    def remembers(self, signature: str) -> bool:
        """Whether this process's memo holds ``signature`` (no file is read)."""
        return signature in self._memo

    def lookup(self, signature: str, *, memo_only: bool = False) -> ConsistRecord | None:
        record = self._memo.get(signature)
        if record is not None:
            self._remember(signature, record)  # recently used: kept longest
            return record
        if memo_only:
            return None
        path = self._path(signature)
        # A miss is the usual answer here: access() says so without raising an OSError.
        data = read_bytes_or_none(path) if os.access(path, os.F_OK) else None
        if data is None:
            record = self._shared(signature) if self._shared is not None else None
            if record is None:
                return None
        else:
            try:
                record = decode_record(data, self._layout)
            except (ValueError, KeyError, TypeError):
                return None  # a damaged entry is a miss; the next completion rewrites it
        if record.run.status != RunStatus.COMPLETED.value or record.run.signature != signature:
            return None
        self._remember(signature, record)
        return record

    def _remember(self, signature: str, record: ConsistRecord) -> None:
        remember(self._memo, signature, record, MEMO_ENTRIES)  # least recently used go

    def write(self, record: ConsistRecord, data: bytes) -> None:
        """Enter a completed run from its JSON ``data`` (no snapshot of it exists yet)."""
        signature = record.run.signature
        if not signature:
            return
        target = self._path(signature)
        if not write_bytes_new(target, data):
            write_bytes_atomic(target, data)  # a later completion replaces the entry
        self._remember(signature, record)
        self.steps.record(record, target)

    def link(self, record: ConsistRecord, snapshot_path: str) -> None:
        """Enter a completed run by a hard link to its snapshot."""
        signature = record.run.signature
        if not signature:
            return
        target = self._path(signature)
        try:
            # First completion of a signature: one link, no temp file + rename.
            os.link(snapshot_path, target)
        except (FileExistsError, FileNotFoundError):
            link_atomic(snapshot_path, target)  # replaces it; makes a missing fan-out dir
        self._remember(signature, record)
        self.steps.record(record, snapshot_path)

    def forget(self, signature: str) -> None:
        """Drop the in-process memo entry (after its outputs were found missing)."""
        self._memo.pop(signature, None)


class ProducedIndex:
    """Absolute output path -> the run that produced those bytes."""

    def __init__(self, layout: RunLayout, read_run: RecordReader | None = None) -> None:
        self._layout = layout
        self._memo: dict[str, ProducedFile] = {}
        self._read_run = read_run or (lambda run_id: read_snapshot(layout, run_id))

    def _path(self, name: str) -> str:
        key = digest_bytes(name.encode())
        return os.path.join(self._layout.produced_dir, key[:2], f"{key}.json")

    def lookup(self, abs_path: str) -> ProducedFile | None:
        entry = self._memo.get(abs_path)
        if entry is not None:
            return entry
        # Entries are keyed by the portable URI, so they survive a moved run_dir or a
        # re-pointed mount; entries written before were keyed by the absolute path.
        uri = self._layout.to_uri(abs_path)
        data = read_bytes_or_none(self._path(uri))
        if data is None and uri != abs_path and uri.startswith("./"):
            data = read_bytes_or_none(self._path(abs_path))
        if data is None:
            return self._from_own_directory(abs_path)
        try:
            payload = json.loads(data)
            entry = ProducedFile(
                payload["signature"], payload["digest"], payload["run_id"], payload["artifact_id"]
            )
        except (ValueError, KeyError, TypeError):
            return None
        remember(self._memo, abs_path, entry, PRODUCED_MEMO_ENTRIES)
        return entry

    def record(self, abs_path: str, entry: ProducedFile) -> None:
        remember(self._memo, abs_path, entry, PRODUCED_MEMO_ENTRIES)
        if self._run_of(abs_path) == entry.run_id:
            return  # found from its run's snapshot (_from_own_directory): no file needed
        payload = {
            "path": self._layout.to_uri(abs_path),
            "signature": entry.signature,
            "digest": entry.digest,
            "run_id": entry.run_id,
            "artifact_id": entry.artifact_id,
        }
        write_bytes_atomic(self._path(self._layout.to_uri(abs_path)), json.dumps(payload).encode())

    def _run_of(self, abs_path: str) -> str | None:
        """The run id of a path in a default artifact dir, outputs/<model>/<run_id>/..."""
        prefix = self._layout.outputs_dir + os.sep
        if not abs_path.startswith(prefix):
            return None
        parts = abs_path[len(prefix) :].split(os.sep)
        return parts[1] if len(parts) > 2 else None

    def _from_own_directory(self, abs_path: str) -> ProducedFile | None:
        # Outputs in their run's default directory get no index file (one file creation
        # less per output of a miss): the path names the run, whose record has them.
        run_id = self._run_of(abs_path)
        if run_id is None:
            return None
        try:
            record = self._read_run(run_id)
        except (StoreError, ConfigError):
            return None
        if record is None or record.run.cache_hit:
            return None
        if record.run.status != RunStatus.COMPLETED.value or not record.run.signature:
            return None
        for artifact in record.outputs:
            if artifact.abs_path == abs_path and artifact.hash and artifact.run_id == run_id:
                entry = ProducedFile(record.run.signature, artifact.hash, run_id, artifact.id)
                remember(self._memo, abs_path, entry, PRODUCED_MEMO_ENTRIES)
                return entry
        return None
