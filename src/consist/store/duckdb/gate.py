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


def gate_path(db_path: str) -> str:
    return db_path + ".gate"


@contextmanager
def gate(db_path: str, *, exclusive: bool, blocking: bool, timeout: float) -> Iterator[None]:
    """Hold the gate of ``db_path`` for the block (see the module docstring)."""
    path = gate_path(db_path)
    turn = path + ".turn"
    try:
        if exclusive:
            turn_fd = os.open(turn, os.O_RDWR | os.O_CREAT, 0o644)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        else:
            turn_fd = os.open(turn, os.O_RDONLY)
            fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        if exclusive:
            raise
        yield  # never written by Consist: nothing to wait for
        return
    try:
        if exclusive:
            # Holding the turnstile stops new readers, so a writer waits only for the
            # readers already in: flock is not fair, and a polling reader would
            # otherwise starve a writer for as long as it polls.
            _lock(turn_fd, fcntl.LOCK_EX, db_path, blocking, timeout)
            _lock(fd, fcntl.LOCK_EX, db_path, blocking, timeout)
        else:
            _lock(turn_fd, fcntl.LOCK_SH, db_path, blocking, timeout)  # pass through
            fcntl.flock(turn_fd, fcntl.LOCK_UN)
            _lock(fd, fcntl.LOCK_SH, db_path, blocking, timeout)
        yield
    finally:
        os.close(fd)  # releases the locks
        os.close(turn_fd)


def _lock(fd: int, mode: int, db_path: str, blocking: bool, timeout: float) -> None:
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
                raise StoreError(
                    f"Another Consist process held the DuckDB store {db_path} for {timeout:.0f} s.",
                    fix="Wait for the long operation to end, or raise CONSIST_STORE_LOCK_TIMEOUT.",
                    path=db_path,
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.05)
