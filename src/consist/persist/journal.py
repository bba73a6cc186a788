"""The pending journal: run ids whose final snapshot is not yet in the SQL store.

Each tracker appends ``run_id\\n`` to a journal file of its own
(``.consist/pending/<host>-<pid>-<random>.log``): one ``write`` on an O_APPEND
descriptor, far cheaper than creating a file per run, and never contended.

Whoever syncs (holding the DuckDB file, which serialises syncers across processes)
reads every journal from the offset the store says it already consumed, up to the
last complete line, and stores the new offset in the same transaction as the rows.
So a crash at any point neither loses a run nor copies one half-way; replays are
harmless upserts. A journal file is deleted only when fully consumed, by its owner,
or by anyone once its owner (same host) is gone, which covers crashed processes.

``has_unconsumed`` answers "is anything pending?" without the store: a journal file
is pending unless the offsets last seen in the store (``note_consumed``, fed by every
sync and every read) cover it exactly. One listdir plus one stat per file.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass

from consist.fs.atomic import unlink_quietly
from consist.fs.layout import RunLayout
from consist.persist.liveness import pid_gone

_HOST = socket.gethostname().replace("-", "_") or "host"


@dataclass(frozen=True, slots=True)
class JournalChunk:
    """New complete lines of one journal file and the offset after them."""

    name: str
    end_offset: int
    lines: list[bytes]
    mine: bool = False  # written by this process (its records already went to the store)


class PendingJournal:
    def __init__(self, layout: RunLayout) -> None:
        self._dir = layout.pending_dir
        self._fd: int | None = None
        self._name: str | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        # Offsets the store was last seen to have consumed (file -> bytes).
        self._consumed: dict[str, int] = {}

    def append(self, line: bytes) -> None:
        """Append one record line (JSON without raw newlines)."""
        data = line + b"\n"
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                self._open()
            assert self._fd is not None
            os.write(self._fd, data)

    def _open(self) -> None:
        # After a fork the child must not share the parent's file (or its offsets).
        self._pid = os.getpid()
        self._name = f"{_HOST}-{self._pid}-{uuid.uuid4().hex[:8]}.log"
        os.makedirs(self._dir, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self._fd = os.open(os.path.join(self._dir, self._name), flags, 0o644)

    def scan(self, consumed: dict[str, int], *, owned_only: bool = False) -> list[JournalChunk]:
        """Unconsumed complete lines of every journal file; with ``owned_only``, only of
        this process's file and of files whose owner (on this host) is gone."""
        chunks = []
        own = self._name if self._pid == os.getpid() else None
        for name in self._names():
            if owned_only and name != own and not _owner_gone(name):
                continue
            start = consumed.get(name, 0)
            try:
                with open(os.path.join(self._dir, name), "rb") as handle:
                    handle.seek(start)
                    data = handle.read()
            except FileNotFoundError:
                continue
            complete = data.rfind(b"\n") + 1  # a line being appended right now waits
            end = start + complete
            if complete < len(data) and _owner_gone(name):
                # Its writer died mid-append: that call never returned, and the tail will
                # never be completed. Count it consumed, or the file would stay forever.
                end = start + len(data)
            if end > start:
                lines = [line for line in data[:complete].split(b"\n") if line]
                chunks.append(JournalChunk(name, end, lines, mine=name == own))
        return chunks

    def owned(self) -> OwnedJournal:
        """This journal as seen by a store that takes records directly (PostgreSQL): only
        this process's lines and those of dead owners on this host are its to consume;
        a live process consumes its own (so no process reads every other's journal)."""
        return OwnedJournal(self)

    def note_consumed(self, consumed: dict[str, int]) -> None:
        """Remember how far the store has copied each journal file (read from the store)."""
        self._consumed = dict(consumed)

    def has_unconsumed(self) -> bool:
        """Whether any journal file holds bytes the store was not seen to have consumed."""
        known = self._consumed
        for name in self._names():
            try:
                size = os.path.getsize(os.path.join(self._dir, name))
            except FileNotFoundError:
                continue  # consumed and removed since the listing
            if known.get(name) != size:
                return True
        return False

    def remove_consumed(self, consumed: dict[str, int]) -> list[str]:
        """Delete journal files that are fully consumed and no longer written; return them.

        Called after the store committed ``consumed``, so it is also remembered.
        """
        self.note_consumed(consumed)
        removed = []
        for name in self._names():
            path = os.path.join(self._dir, name)
            try:
                size = os.path.getsize(path)
            except FileNotFoundError:
                continue
            if consumed.get(name, -1) != size:
                continue
            own = name == self._name and self._pid == os.getpid()
            if own:
                with self._lock:
                    # Re-check under the append lock: another thread of this process may
                    # have appended a line since the size above was read.
                    if os.path.getsize(path) != consumed[name]:
                        continue
                    if self._fd is not None:
                        os.close(self._fd)
                    self._fd = None
                    self._name = None
                    unlink_quietly(path)
            elif _owner_gone(name):
                unlink_quietly(path)
            else:
                continue
            removed.append(name)
        return removed

    def has_files(self) -> bool:
        return bool(self._names())

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    def _names(self) -> list[str]:
        try:
            return [n for n in os.listdir(self._dir) if n.endswith(".log")]
        except FileNotFoundError:
            return []


class OwnedJournal:
    """A PendingJournal view whose scan covers only owned files (PendingJournal.owned)."""

    __slots__ = ("_journal",)

    def __init__(self, journal: PendingJournal) -> None:
        self._journal = journal

    def scan(self, consumed: dict[str, int]) -> list[JournalChunk]:
        return self._journal.scan(consumed, owned_only=True)

    def remove_consumed(self, consumed: dict[str, int]) -> list[str]:
        return self._journal.remove_consumed(consumed)


def _owner_gone(name: str) -> bool:
    host, _, rest = name.partition("-")
    if host != _HOST:
        return False  # another machine on a shared filesystem: only its owner knows
    try:
        pid = int(rest.split("-", 1)[0])
    except ValueError:
        return False
    return pid_gone(pid) is not None
