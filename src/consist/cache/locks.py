"""One run per signature at a time: the second of two identical steps waits, then hits.

The failure this prevents: a sweep with duplicate points (or two users starting the same
step) runs the step twice at once, because each process looks up the cache before the
other has finished. ``tracker.run`` therefore holds a lock on its signature from the
cache lookup to the moment its result is in the cache index; a second process with the
same signature blocks in the lookup, and when the first ends, finds its hit.

How: POSIX record locks (``fcntl.lockf``) on one byte of ONE shared file,
``.consist/signature.locks``, at an offset derived from the signature. Compared with a
lock file per signature this creates and deletes nothing on the miss path (two fcntl
calls), works over NFS (lockd), and the OS releases the lock when the holder dies (kill
-9, a lost node's NFS lease). Record locks belong to the process, so threads of one
process also take turns through an in-process table. Two signatures share a byte only
by a 60-bit hash collision, which at worst makes one wait for the other.

Only ``Tracker.run`` in ``reuse`` mode takes the lock (``trace`` and ``begin_run`` bodies
run on a hit anyway). Opt out with ``TrackerConfig(signature_locks=False)`` or
``CONSIST_SIGNATURE_LOCKS=0``, e.g. on a filesystem without working locks.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from typing import Protocol

from consist.fs.layout import RunLayout
from consist.identity.canonical import digest_bytes


class SignatureLock(Protocol):
    """What the spine needs of a lock table (this module's, or a store's across machines).

    ``local``: taking the lock costs no more than reading the index (a file lock), so a
    miss looks the index up once, under the lock, after only the in-process memo.
    """

    local: bool

    def acquire(self, signature: str) -> bool: ...

    def release(self, signature: str) -> None: ...


class SignatureLocks:
    """Per-signature exclusive locks shared by every process (and thread) of a run_dir."""

    local = True

    def __init__(self, layout: RunLayout) -> None:
        self._path = os.path.join(layout.state_dir, "signature.locks")

    def acquire(self, signature: str) -> bool:
        """Block until this thread holds ``signature``; return False if locking is not
        possible here (the caller then runs unlocked, as before locks existed)."""
        return _lock_file(self._path).acquire(signature)

    def release(self, signature: str) -> None:
        _lock_file(self._path).release(signature)


class _LockFile:
    """The process's one descriptor of a lock file, and which signatures its threads hold.

    One per (process, file): record locks belong to the process, and closing ANY
    descriptor of the file would drop all of them, so trackers of one run_dir share it.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.held: set[str] = set()
        self.turns = threading.Condition(threading.Lock())  # never re-entered

    def acquire(self, signature: str) -> bool:
        turns = self.turns
        with turns:
            while signature in self.held:
                turns.wait()
            self.held.add(signature)
        try:
            fd = self.fd if self.fd is not None else self._descriptor()
            fcntl.lockf(fd, fcntl.LOCK_EX, 1, _offset(signature))
        except OSError as exc:
            # No lock support (some network filesystems) or a would-be deadlock between
            # nested runs: run unlocked rather than fail the user's step.
            self._forget(signature)
            if exc.errno in (errno.ENOLCK, errno.EDEADLK, errno.EOPNOTSUPP, errno.EINVAL):
                return False
            raise
        return True

    def release(self, signature: str) -> None:
        try:
            if self.fd is not None:
                fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, _offset(signature))
        finally:
            self._forget(signature)

    def _forget(self, signature: str) -> None:
        turns = self.turns
        with turns:
            self.held.discard(signature)
            turns.notify_all()

    def _descriptor(self) -> int:
        with self.turns:
            if self.fd is None:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            return self.fd


_files: dict[str, _LockFile] = {}
_files_lock = threading.Lock()


def _lock_file(path: str) -> _LockFile:
    found = _files.get(path)
    if found is None:
        with _files_lock:
            found = _files.setdefault(path, _LockFile(path))
    return found


def _forget_after_fork() -> None:
    # A forked child holds none of its parent's record locks, and no parent thread will
    # release the child's copy of the table: start empty (the inherited fds stay open,
    # unused, so closing them cannot drop anything of the parent's).
    global _files, _files_lock
    _files = {}
    _files_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _offset(signature: str) -> int:
    try:
        return int(signature[:15], 16)  # signatures are hex digests
    except ValueError:
        return int(digest_bytes(signature.encode())[:15], 16)
