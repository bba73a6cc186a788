"""Step index: the latest completed run of each step, so a miss can be explained cheaply.

A step is (model, run name). To say *why* a run missed, the miss is compared with the
nearest earlier run of its step: the latest one with the same year and iteration, else
the latest of the step. Finding it must not open the SQL store (one writer process per
DuckDB file) and must cost next to nothing, so it is kept as files beside the
CompletedIndex::

    .consist/steps/<step digest>/y<year>.i<iteration>.json    (``none`` for None)

Each entry is a hard link to the snapshot of the latest completed run of that step with
that year and iteration. Within a process the memo is updated at finish; the links are
written by :meth:`StepIndex.flush` (when the tracker closes, and at interpreter exit), once per step entry rather than once per run: a sweep of a thousand configs of
one step writes one link, not a thousand, and the miss path stays a dict update. A
process killed before it flushes leaves older entries behind, which only changes which
run a later process compares a miss with. The latest of the step regardless of year/iteration is the newest entry
of the step directory; it is only listed when no entry matches the year and iteration
(the first run of a new year, or a new process that has not seen the step yet).

Concurrent writers replace links atomically, so the last writer wins, which is the
meaning of "latest". An in-process memo answers repeated lookups with a dict access;
it can lag behind other processes, which only changes which run a miss is compared
with, never whether the cache hits.
"""

from __future__ import annotations

import json
import os

from consist.fs.atomic import link_atomic, read_bytes_or_none
from consist.fs.layout import RunLayout
from consist.identity.canonical import digest_bytes
from consist.model.run import ConsistRecord, RunStatus
from consist.persist.snapshot import decode_record

StepKey = tuple[str, str]


def _entry_name(year: int | None, iteration: int | None) -> str:
    return f"y{'none' if year is None else year}.i{'none' if iteration is None else iteration}.json"


class StepIndex:
    """(model, run name, year, iteration) -> latest completed run of that step."""

    def __init__(self, layout: RunLayout) -> None:
        self._layout = layout
        self._root = os.path.join(layout.state_dir, "steps")
        self._dirs: dict[StepKey, str] = {}
        # Exact (model, name, year, iteration) entries, and the latest of each step.
        self._exact: dict[tuple[str, str, int | None, int | None], ConsistRecord] = {}
        self._latest: dict[StepKey, ConsistRecord] = {}
        # (model, name, year, iteration) -> the snapshot its entry should link to, not yet
        # written; the entry's path is joined at flush.
        self._unwritten: dict[tuple[str, str, int | None, int | None], str] = {}

    def _dir(self, step: StepKey) -> str:
        directory = self._dirs.get(step)
        if directory is None:
            # Hashed: model and run names may hold any character, and must not collide.
            key = digest_bytes(json.dumps(list(step)).encode())[:32]
            directory = self._dirs[step] = os.path.join(self._root, key[:2], key)
        return directory

    def nearest(
        self, model: str, name: str, year: int | None, iteration: int | None
    ) -> ConsistRecord | None:
        """The latest completed run of the step with this year and iteration, else of the step."""
        exact = (model, name, year, iteration)
        record = self._exact.get(exact)
        if record is not None:
            return record
        step = (model, name)
        directory = self._dir(step)
        record = self._read(os.path.join(directory, _entry_name(year, iteration)))
        if record is not None:
            self._exact[exact] = record
            return record
        record = self._latest.get(step)
        if record is not None:
            return record
        record = self._read_newest(directory)
        if record is not None:
            self._latest[step] = record
        return record

    def record(self, record: ConsistRecord, snapshot_path: str) -> None:
        """Make ``record`` (a completed run, snapshot at ``snapshot_path``) its step's latest."""
        run = record.run
        exact = (run.model_name, run.name, run.year, run.iteration)
        self._unwritten[exact] = snapshot_path
        self._exact[exact] = record
        self._latest[(run.model_name, run.name)] = record

    def flush(self) -> None:
        """Write the entries recorded since the last flush (one link per step entry)."""
        while self._unwritten:
            (model, name, year, iteration), snapshot_path = self._unwritten.popitem()
            entry = os.path.join(self._dir((model, name)), _entry_name(year, iteration))
            try:
                link_atomic(snapshot_path, entry)
            except FileNotFoundError:
                continue  # the snapshot is gone (purged): nothing to point at

    def _read(self, path: str) -> ConsistRecord | None:
        data = read_bytes_or_none(path)
        if data is None:
            return None
        try:
            record = decode_record(data, self._layout)
        except (ValueError, KeyError, TypeError):
            return None  # a damaged entry only costs the explanation; the next finish rewrites it
        return record if record.run.status == RunStatus.COMPLETED.value else None

    def _read_newest(self, directory: str) -> ConsistRecord | None:
        try:
            names = [n for n in os.listdir(directory) if n.endswith(".json")]
        except FileNotFoundError:
            return None
        stamped: list[tuple[int, str]] = []
        for name in names:
            try:
                stamped.append((os.stat(os.path.join(directory, name)).st_mtime_ns, name))
            except FileNotFoundError:
                continue  # replaced or removed meanwhile
        for _, name in sorted(stamped, reverse=True):
            record = self._read(os.path.join(directory, name))
            if record is not None:
                return record
        return None
