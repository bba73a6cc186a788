"""Opening the DuckDB file: short sessions, retried while another process holds the lock.

DuckDB allows one process per database file, and a process holding the file open
read-write locks out every other process, even readers. So write sessions open, do
their batch in one transaction, and close. Sessions nest within a process (the inner
one reuses the open connection).

Decision: a read-only connection may be kept between queries (opening costs ~16 ms on a
100k-run store, the queries a few ms). It is kept only together with the shared gate
(gate.py), so no Consist writer can change the file under it, and it is let go (closed,
then the gate released) as soon as any of these holds:

* a writer of any process holds the turnstile: a watcher thread checks every
  ``WATCH_SECONDS`` (one non-blocking flock), and every query checks before reusing it;
* no query used it for ``keep_open`` seconds (``KEEP_OPEN_SECONDS`` by default; 0 keeps
  nothing);
* this process opens a write session or a SQL engine connection, or the store closes;
* the file is no longer the one opened (deleted, replaced, resized: one ``stat``).

Two kinds of session: ``session`` opens read-write (creating the file and upgrading
its schema if needed); ``read_session`` opens read-only, never creates the file (a
missing file or one without Consist tables yields ``None``: nothing to read) and
never migrates. Several read-only openers may share the file across processes.
Inside one process DuckDB refuses a read-only and a read-write connection at the same
time ("different configuration"); that clears as soon as the other session closes,
so it is retried like another process's lock.

A file that exists but is not a readable database raises StoreCorrupt from a read
session; a write session moves it aside and starts a new one (recover.py), and says
why it created the database (``take_created``: "missing" or "corrupt ..."), so the
caller can rebuild it from the snapshots.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from consist.errors import StoreError
from consist.store.base import StoreBusy, StoreCorrupt
from consist.store.duckdb.gate import GateHold, acquire_gate, gate_path
from consist.store.duckdb.migrate import ensure_schema, read_version, refuse_newer
from consist.store.duckdb.recover import corrupt_error, is_corruption, set_aside_file
from consist.store.sql_tables import SCHEMA_VERSION

T = TypeVar("T")

#: How long an idle read-only connection (and the shared gate) is kept; 0 keeps none.
KEEP_OPEN_SECONDS = float(os.environ.get("CONSIST_READ_KEEP_OPEN", "0.5"))
#: How often a kept connection looks for a waiting writer.
WATCH_SECONDS = 0.005


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return (
        "lock" in text
        or "conflicting" in text
        or "resource temporarily unavailable" in text
        or "different configuration" in text
    )


def _is_being_created(exc: BaseException, db_path: str) -> bool:
    """Another process is creating the file right now: it exists, still empty."""
    if "not a valid duckdb database file" not in str(exc).lower():
        return False
    try:
        return os.path.getsize(db_path) == 0
    except OSError:
        return True  # gone again: the creator is replacing it; retry


_live_connectors: weakref.WeakSet[DuckDBConnector] = weakref.WeakSet()
# Connections a forked child inherited: never used or closed there (DuckDB does not
# support an instance across fork), only kept from being garbage-collected.
_inherited: list[Any] = []


def _reset_connectors_after_fork() -> None:
    for connector in list(_live_connectors):
        connector._reset_after_fork()


os.register_at_fork(after_in_child=_reset_connectors_after_fork)


class DuckDBConnector:
    """Hands out one connection per (possibly nested) session."""

    def __init__(
        self,
        db_path: str,
        lock_timeout: float,
        *,
        read_only: bool = False,
        keep_open: float = KEEP_OPEN_SECONDS,
    ) -> None:
        self.db_path = os.path.abspath(db_path)
        self.read_only = read_only
        self._lock_timeout = lock_timeout
        self._keep_open = keep_open
        self._local = threading.local()
        self._thread_lock = threading.Lock()
        self._created: str | None = None
        self._kept: _Kept | None = None  # guarded by _thread_lock
        self._watcher: threading.Thread | None = None
        self._epochs = itertools.count(1)
        _live_connectors.add(self)

    def take_created(self) -> str | None:
        """Why the last write session created the database (then forgotten), or None."""
        created, self._created = self._created, None
        return created

    def _reset_after_fork(self) -> None:
        # A fork taken while another thread held a session (e.g. the background sync)
        # would leave the child's lock held forever; the child owns no connection yet.
        self._local = threading.local()
        self._thread_lock = threading.Lock()
        kept, self._kept, self._watcher = self._kept, None, None
        if kept is not None:
            _inherited.append(kept.conn)
            kept.hold.forget_after_fork()

    def read_epoch(self) -> int | None:
        """Identifies the read-only connection of the current session: equal values mean
        the same kept connection under a gate held all along, so nothing changed between
        them. None inside a write session or without a session."""
        if getattr(self._local, "writable", True) or getattr(self._local, "conn", None) is None:
            return None
        epoch: int | None = getattr(self._local, "epoch", None)
        return epoch

    def release_kept(self) -> None:
        """Close a kept read-only connection now (before another connection of this
        process to the file, or when the store closes)."""
        if getattr(self._local, "conn", None) is not None:
            return  # inside a session of this thread: it holds the lock; nothing kept
        if self._thread_lock.acquire(timeout=self._lock_timeout):
            try:
                self._drop_kept()
            finally:
                self._thread_lock.release()

    def _drop_kept(self) -> None:
        kept = self._kept
        if kept is not None:
            try:
                kept.conn.close()  # before the gate opens: a writer must find it closed
            finally:
                kept.hold.release()
                self._kept = None

    def _reuse_kept(self) -> _Kept | None:
        """The kept connection if it may still serve (under _thread_lock)."""
        kept = self._kept
        if kept is None:
            return None
        if kept.hold.writer_waiting() or _file_id(self.db_path) != kept.file_id:
            self._drop_kept()
            return None
        return kept

    def _refresh_siblings(self, file_id: object) -> None:
        """Inside one process DuckDB hands a new connection the instance another one
        holds open: drop other trackers' kept connections to a file since changed."""
        for other in list(_live_connectors):
            if other is self or other.db_path != self.db_path or other._kept is None:
                continue
            if other._thread_lock.acquire(blocking=False):  # busy: it is reading now
                try:
                    if other._kept is not None and other._kept.file_id != file_id:
                        other._drop_kept()
                finally:
                    other._thread_lock.release()

    def _keep(self, conn: Any, hold: GateHold, file_id: object, epoch: int) -> None:
        self._kept = _Kept(conn, hold, file_id, epoch, time.monotonic())
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(
                target=self._watch, name="consist-read-keeper", daemon=True
            )
            self._watcher.start()

    def _watch(self) -> None:
        """Let the kept connection go when a writer waits or it has been idle too long."""
        while True:
            time.sleep(WATCH_SECONDS)
            if not self._thread_lock.acquire(blocking=False):
                continue  # a session runs; it checks for waiting writers itself
            try:
                kept = self._kept
                if kept is None:
                    return
                idle = time.monotonic() - kept.last_used
                if idle >= self._keep_open or kept.hold.writer_waiting():
                    self._drop_kept()
                    return
            finally:
                self._thread_lock.release()

    @contextmanager
    def session(self, *, blocking: bool = True, timeout: float | None = None) -> Iterator[Any]:
        """A read-write connection; the schema is brought up to date first."""
        if self.read_only:
            raise StoreError(
                f"The DuckDB store {self.db_path} was opened read-only (access_mode='read').",
                fix="Open a Tracker with access_mode='write' to write the store.",
                path=self.db_path,
            )
        existing = getattr(self._local, "conn", None)
        if existing is not None or getattr(self._local, "empty", False):
            if not getattr(self._local, "writable", False):
                raise StoreError(
                    "A write session was requested inside a read-only session.",
                    fix="This is a bug in Consist; please report it.",
                    path=self.db_path,
                )
            yield existing
            return
        wait = self._lock_timeout if timeout is None else timeout
        with self._turn(blocking, wait):
            # This process's own shared gate would keep its exclusive one out.
            self._drop_kept()
            # Read before the gate creates it: a sidecar means Consist wrote this file.
            ours = os.path.exists(gate_path(self.db_path))
            with self._gate(exclusive=True, blocking=blocking, wait=wait):
                conn = self._open_write_healing(blocking, wait, ours=ours)
                with self._held(conn, writable=True):
                    yield conn

    @contextmanager
    def read_session(self) -> Iterator[Any | None]:
        """A read-only connection, or None when there is no Consist database to read."""
        existing = getattr(self._local, "conn", None)
        if existing is not None or getattr(self._local, "empty", False):
            yield existing
            return
        with self._turn(True, self._lock_timeout):
            kept = self._reuse_kept()
            if kept is not None:
                try:
                    with self._held(kept.conn, writable=False, close=False, epoch=kept.epoch):
                        yield kept.conn
                except BaseException:
                    self._drop_kept()  # _held closed the connection; release the gate
                    raise
                kept.last_used = time.monotonic()
                return
            # With a sidecar, the shared gate below keeps every Consist writer out.
            hold = acquire_gate(
                self.db_path, exclusive=False, blocking=True, timeout=self._lock_timeout
            )
            try:
                file_id = _file_id(self.db_path)
                self._refresh_siblings(file_id)
                conn = self._open_read(gated=hold is not None)
                found = None if conn is None else self._read_version(conn)
                if conn is not None and found == SCHEMA_VERSION:
                    # Kept only under the gate: an ungated file has no writer to let in.
                    keep = hold is not None and self._keep_open > 0
                    epoch = next(self._epochs)
                    with self._held(conn, writable=False, close=not keep, epoch=epoch):
                        yield conn
                    if keep:
                        assert hold is not None
                        self._keep(conn, hold, file_id, epoch)
                        hold = None  # the kept connection owns it now
                    return
                if conn is not None:
                    conn.close()
            finally:
                if hold is not None:
                    hold.release()
            if found is None:
                # No file, or one created an instant ago without tables yet: nothing to
                # read. Nested reads see the same, and must not wait for this turn.
                self._local.empty = True
                try:
                    yield None
                finally:
                    self._local.empty = False
                return
            if found > SCHEMA_VERSION:
                raise refuse_newer(found, self.db_path)
            if self.read_only:
                raise StoreError(
                    f"Database {self.db_path} has schema version {found}; this Consist "
                    f"reads version {SCHEMA_VERSION} and a read-only tracker does not "
                    "upgrade it.",
                    fix="Open it once with access_mode='write' (any query upgrades it).",
                    path=self.db_path,
                    found_version=found,
                    supported_version=SCHEMA_VERSION,
                )
            # A writer reading an older file upgrades it first.
            with self._gate(exclusive=True, blocking=True, wait=self._lock_timeout):
                conn = self._open_write(True, self._lock_timeout)
                with self._held(conn, writable=True):
                    yield conn

    def _read_version(self, conn: Any) -> int | None:
        import duckdb

        try:
            return read_version(conn)
        except duckdb.Error as exc:
            conn.close()
            if is_corruption(exc):  # a truncated file may fail only on its first read
                raise corrupt_error(self.db_path, exc) from exc
            raise

    @contextmanager
    def _turn(self, blocking: bool, wait: float) -> Iterator[None]:
        # Threads of one process take turns too: two connections upserting the same
        # rows would fail with a DuckDB transaction conflict (e.g. background sync vs
        # log_meta), and one session at a time is all the file lock allows across
        # processes anyway.
        if not self._thread_lock.acquire(timeout=wait if blocking else 0):
            if not blocking:
                raise StoreBusy(self.db_path)
            raise StoreError(
                f"Another thread held the DuckDB store {self.db_path} for {wait:.0f} s.",
                fix="Avoid long-running work inside Tracker.engine connections.",
                path=self.db_path,
            )
        try:
            yield
        finally:
            self._thread_lock.release()

    @contextmanager
    def _gate(self, *, exclusive: bool, blocking: bool, wait: float) -> Iterator[None]:
        if exclusive:
            directory = os.path.dirname(self.db_path)
            if directory:
                os.makedirs(directory, exist_ok=True)
        hold = acquire_gate(self.db_path, exclusive=exclusive, blocking=blocking, timeout=wait)
        try:
            yield
        finally:
            if hold is not None:
                hold.release()

    @contextmanager
    def _held(
        self, conn: Any, *, writable: bool, close: bool = True, epoch: int | None = None
    ) -> Iterator[None]:
        self._local.conn = conn
        self._local.writable = writable
        self._local.epoch = epoch
        try:
            yield
        except BaseException:
            close = True  # a failed query's connection is not kept
            raise
        finally:
            self._local.conn = None
            self._local.epoch = None
            if close:
                conn.close()

    def _open_write_healing(self, blocking: bool, timeout: float, *, ours: bool) -> Any:
        """Open read-write (under the exclusive gate); a corrupt file of ours is moved
        aside and a new database started, noting why (see take_created)."""
        try:
            size: int | None = os.path.getsize(self.db_path)
        except OSError:
            size = None
        try:
            conn = self._open_write(blocking, timeout)
        except StoreCorrupt as exc:
            if not (ours or size == 0):
                raise  # not a file Consist wrote: leave it to the user
            aside = set_aside_file(self.db_path)
            conn = self._open_write(blocking, timeout)
            self._created = (
                f"the database file was corrupt ({exc.cause}); it was moved aside to {aside}"
            )
            return conn
        if size is None:
            self._created = "the database file was missing"
        return conn

    def _open_write(self, blocking: bool, timeout: float) -> Any:
        import duckdb

        directory = os.path.dirname(self.db_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # Under the exclusive gate no Consist process can be creating the file.
        conn = self._connect(lambda: duckdb.connect(self.db_path), blocking, timeout, gated=True)
        try:
            # Every session: the file may have been deleted or replaced meanwhile. At the
            # current version this is one SELECT, far cheaper than the connect itself.
            ensure_schema(conn, self.db_path)
        except duckdb.Error as exc:
            conn.close()
            if is_corruption(exc):
                raise corrupt_error(self.db_path, exc) from exc
            raise
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read(self, *, gated: bool) -> Any | None:
        import duckdb

        if not os.path.exists(self.db_path):
            return None
        try:
            return self._connect(
                lambda: duckdb.connect(self.db_path, read_only=True),
                True,
                self._lock_timeout,
                gated=gated,
            )
        except StoreError as exc:
            if "does not exist" in str(exc.cause):
                return None  # deleted between the check and the open
            raise

    def _connect(
        self, connect: Callable[[], Any], blocking: bool, timeout: float, *, gated: bool
    ) -> Any:
        import duckdb

        try:
            return call_while_locked(
                connect, db_path=self.db_path, timeout=timeout, blocking=blocking, gated=gated
            )
        except duckdb.Error as exc:
            if is_corruption(exc) and not _is_lock_error(exc):
                raise corrupt_error(self.db_path, exc) from exc
            raise StoreError(
                f"Could not open the DuckDB store {self.db_path}.",
                cause=str(exc),
                fix="Check that db_path points to a DuckDB file this user can write.",
                path=self.db_path,
            ) from exc


class _Kept:
    """A read-only connection kept between queries, with the shared gate it needs."""

    __slots__ = ("conn", "hold", "file_id", "epoch", "last_used")

    def __init__(
        self, conn: Any, hold: GateHold, file_id: object, epoch: int, last_used: float
    ) -> None:
        self.conn = conn
        self.hold = hold
        self.file_id = file_id
        self.epoch = epoch
        self.last_used = last_used


def _file_id(path: str) -> object:
    """What changes when the database file is deleted, replaced or written."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def call_while_locked(
    call: Callable[[], T],
    *,
    db_path: str,
    timeout: float,
    blocking: bool = True,
    gated: bool = False,
) -> T:
    """Return ``call()``, retrying while another process holds (or creates) the file.

    ``gated``: the caller holds the gate, so no Consist process is creating the file
    and an empty one is not waited for. Raises StoreBusy at once when not blocking,
    StoreError after ``timeout`` seconds, and any other error of ``call`` unchanged.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            return call()
        except Exception as exc:
            if not (_is_lock_error(exc) or (not gated and _is_being_created(exc, db_path))):
                raise
            if not blocking:
                raise StoreBusy(db_path) from exc
            if time.monotonic() > deadline:
                raise StoreError(
                    f"The DuckDB store {db_path} stayed locked by another process for "
                    f"{timeout:.0f} s.",
                    cause=str(exc),
                    fix="Close long-lived connections to the file (e.g. a DuckDB shell), or "
                    "raise CONSIST_STORE_LOCK_TIMEOUT.",
                    path=db_path,
                ) from exc
            # Jitter spreads retries of many waiting processes apart.
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)
