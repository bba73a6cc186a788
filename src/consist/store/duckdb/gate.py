"""A gate in front of the DuckDB file, so Consist's processes never open it at once.

The failure this prevents: DuckDB's own file lock refuses a second opener, but the
refusal is not the only outcome under load. Two processes racing to open one file (a
writer checkpointing while a read-only opener reads the header) were seen to fail with
``IOException: Could not read enough bytes`` or a lost write, about one run in ten on a
loaded 2-core machine. So every session first takes ``flock`` on a sidecar file,
``<db_path>.gate``: exclusive for read-write sessions, shared for read-only ones. DuckDB
then only ever sees one writer, or only readers, and its own lock (still retried by
connect.py) is left to guard against other programs (a DuckDB shell on the file).

flock locks belong to the open file description, so two sessions of one process (two
trackers) exclude each other too, and the OS drops the lock when the holder dies. Writers
go first: a writer holds a turnstile (``<db_path>.gate.turn``) while it waits for and
holds the gate, and a reader passes through the turnstile before it takes the gate, so a
reader polling in a loop cannot keep a writer out (flock itself is not fair). A
read-only session never creates the sidecar: without one, no Consist writer has used
the file, and it proceeds ungated.

A reader may keep the gate (shared) and its connection between queries while idle
(connect.py); it lets go as soon as it sees a writer holding the turnstile
(``GateHold.writer_waiting``, one non-blocking flock), so the turnstile still puts
writers first. A writer that must not block waits ``NON_BLOCKING_GRACE_SECONDS`` for
such readers before it gives up for now.

Writers first, but a reader is not starved. Several processes syncing back to back can
keep the turnstile taken without a gap a polling reader would find. So a reader that
found it taken for ``READER_PATIENCE_SECONDS`` takes a third lock,
``<db_path>.gate.first``, exclusively; every writer passes through that lock (shared)
before the turnstile. New writers then wait, the reader passes the turnstile once the
writers already in line are done, takes the gate shared, and lets the lock go. It
waits for the writers that were in line, not for every writer that comes after.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

from consist.errors import StoreError
from consist.store.base import StoreBusy

#: How long a writer that must not block (the opportunistic background sync) waits for
#: readers to let go of the gate once it holds the turnstile, before it tries later.
NON_BLOCKING_GRACE_SECONDS = 0.1
#: How long a reader waits for the turnstile before it stops new writers (see above).
READER_PATIENCE_SECONDS = 0.25


def gate_path(db_path: str) -> str:
    return db_path + ".gate"


class GateHold:
    """The gate, held until :meth:`release` (a reader may keep it between queries)."""

    def __init__(self, fd: int, turn_fd: int, *, exclusive: bool) -> None:
        self._fd: int | None = fd
        self._turn_fd = turn_fd
        self.exclusive = exclusive

    def writer_waiting(self) -> bool:
        """A writer holds the turnstile: it waits for this (shared) hold to end."""
        if self._fd is None:
            return False
        try:
            fcntl.flock(self._turn_fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._turn_fd, fcntl.LOCK_UN)
        return False

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # releases the locks
            os.close(self._turn_fd)

    def forget_after_fork(self) -> None:
        """In a forked child: close the inherited descriptors only. The lock belongs to the
        open file description, which the parent still holds (LOCK_UN would drop it there)."""
        self.release()


def acquire_gate(
    db_path: str, *, exclusive: bool, blocking: bool, timeout: float
) -> GateHold | None:
    """Take the gate of ``db_path``; None for a read of a file Consist never wrote (no
    sidecar: nothing to wait for)."""
    path = gate_path(db_path)
    turn = path + ".turn"
    try:
        if exclusive:
            _pass_first(path + ".first", db_path, blocking, timeout)
            turn_fd = os.open(turn, os.O_RDWR | os.O_CREAT, 0o644)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        else:
            turn_fd = os.open(turn, os.O_RDONLY)
            fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        if exclusive:
            raise
        return None
    hold = GateHold(fd, turn_fd, exclusive=exclusive)
    try:
        if exclusive:
            # Holding the turnstile stops new readers, so a writer waits only for the
            # readers already in: flock is not fair, and a polling reader would
            # otherwise starve a writer for as long as it polls. Readers that keep the
            # gate between queries see the turnstile taken and let go (connect.py).
            _lock(turn_fd, fcntl.LOCK_EX, db_path, blocking, timeout)
            if blocking:
                _lock(fd, fcntl.LOCK_EX, db_path, blocking, timeout)
            else:
                # Not blocking still gives such idle readers a moment to notice.
                _lock(fd, fcntl.LOCK_EX, db_path, True, NON_BLOCKING_GRACE_SECONDS, busy=True)
        else:
            _pass_turnstile(turn_fd, fd, db_path, blocking, timeout)
    except BaseException:
        hold.release()
        raise
    return hold


def _pass_first(first: str, db_path: str, blocking: bool, timeout: float) -> None:
    """A writer's pass through ``.gate.first``: it waits while a starved reader holds it."""
    fd = os.open(first, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock(fd, fcntl.LOCK_SH, db_path, blocking, timeout)
    finally:
        os.close(fd)  # releases the pass


def _pass_turnstile(turn_fd: int, fd: int, db_path: str, blocking: bool, timeout: float) -> None:
    """A reader's way to the shared gate: through the turnstile between writers, or,
    after READER_PATIENCE_SECONDS of writers, ahead of the writers still to come."""
    patience = min(READER_PATIENCE_SECONDS, timeout)
    first: int | None = None
    try:
        _lock(turn_fd, fcntl.LOCK_SH, db_path, blocking, patience, busy=True)
    except StoreBusy:
        if not blocking:
            raise
        timeout = max(timeout - patience, 0.0)
        first = _stop_new_writers(db_path, timeout)
        _lock(turn_fd, fcntl.LOCK_SH, db_path, True, timeout)  # the writers in line pass
    try:
        fcntl.flock(turn_fd, fcntl.LOCK_UN)  # passed through
        _lock(fd, fcntl.LOCK_SH, db_path, blocking, timeout)
    finally:
        if first is not None:
            os.close(first)  # lets the new writers on


def _stop_new_writers(db_path: str, timeout: float) -> int | None:
    """Hold ``.gate.first`` (its descriptor), so new writers wait; None for a store whose
    writers predate the lock (the reader then waits as before)."""
    try:
        first = os.open(gate_path(db_path) + ".first", os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        _lock(first, fcntl.LOCK_EX, db_path, True, timeout)
    except BaseException:
        os.close(first)
        raise
    return first


@contextmanager
def gate(db_path: str, *, exclusive: bool, blocking: bool, timeout: float) -> Iterator[None]:
    """Hold the gate of ``db_path`` for the block (see the module docstring)."""
    hold = acquire_gate(db_path, exclusive=exclusive, blocking=blocking, timeout=timeout)
    try:
        yield
    finally:
        if hold is not None:
            hold.release()


def _lock(
    fd: int, mode: int, db_path: str, blocking: bool, timeout: float, *, busy: bool = False
) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if not blocking:
                raise StoreBusy(db_path) from None
            if time.monotonic() > deadline:
                if busy:
                    raise StoreBusy(db_path) from None
                raise StoreError(
                    f"Another Consist process held the DuckDB store {db_path} for {timeout:.0f} s.",
                    fix="Wait for the long operation to end, or raise CONSIST_STORE_LOCK_TIMEOUT.",
                    path=db_path,
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.05)
