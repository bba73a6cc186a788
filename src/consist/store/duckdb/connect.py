"""Opening the DuckDB file: short sessions, retried while another process holds the lock.

DuckDB allows one process per database file, and a process holding the file open
read-write locks out every other process, even readers. So no connection is kept
between operations: each session opens, does its batch in one transaction, and closes.
Sessions nest within a process (the inner one reuses the open connection).
"""

from __future__ import annotations

import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from consist.errors import StoreError
from consist.store.duckdb.schema import ensure_schema

T = TypeVar("T")


class StoreBusy(Exception):
    """Internal: a non-blocking session found the file locked by another process."""


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "resource temporarily unavailable" in text


def _is_being_created(exc: BaseException, db_path: str) -> bool:
    """Another process is creating the file right now: it exists, still empty."""
    if "not a valid duckdb database file" not in str(exc).lower():
        return False
    try:
        return os.path.getsize(db_path) == 0
    except OSError:
        return True  # gone again: the creator is replacing it; retry


_live_connectors: weakref.WeakSet[DuckDBConnector] = weakref.WeakSet()


def _reset_connectors_after_fork() -> None:
    for connector in list(_live_connectors):
        connector._reset_after_fork()


os.register_at_fork(after_in_child=_reset_connectors_after_fork)


class DuckDBConnector:
    """Hands out one connection per (possibly nested) session."""

    def __init__(self, db_path: str, lock_timeout: float) -> None:
        self.db_path = os.path.abspath(db_path)
        self._lock_timeout = lock_timeout
        self._local = threading.local()
        self._thread_lock = threading.Lock()
        _live_connectors.add(self)

    def _reset_after_fork(self) -> None:
        # A fork taken while another thread held a session (e.g. the background sync)
        # would leave the child's lock held forever; the child owns no connection yet.
        self._local = threading.local()
        self._thread_lock = threading.Lock()

    @contextmanager
    def session(self, *, blocking: bool = True, timeout: float | None = None) -> Iterator[Any]:
        existing = getattr(self._local, "conn", None)
        if existing is not None:
            yield existing
            return
        wait = self._lock_timeout if timeout is None else timeout
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
            conn = self._open(blocking, wait)
            self._local.conn = conn
            try:
                # Every session: the file may have been deleted or replaced meanwhile,
                # and the check costs far less than the connect itself.
                ensure_schema(conn, self.db_path)
                yield conn
            finally:
                self._local.conn = None
                conn.close()
        finally:
            self._thread_lock.release()

    def _open(self, blocking: bool, timeout: float) -> Any:
        import duckdb

        directory = os.path.dirname(self.db_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        try:
            return call_while_locked(
                lambda: duckdb.connect(self.db_path),
                db_path=self.db_path,
                timeout=timeout,
                blocking=blocking,
            )
        except duckdb.Error as exc:
            raise StoreError(
                f"Could not open the DuckDB store {self.db_path}.",
                cause=str(exc),
                fix="Check that db_path points to a DuckDB file this user can write.",
                path=self.db_path,
            ) from exc


def call_while_locked(
    call: Callable[[], T], *, db_path: str, timeout: float, blocking: bool = True
) -> T:
    """Return ``call()``, retrying while another process holds (or creates) the file.

    Raises StoreBusy at once when not blocking, StoreError after ``timeout`` seconds,
    and any other error of ``call`` unchanged.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            return call()
        except Exception as exc:
            if not (_is_lock_error(exc) or _is_being_created(exc, db_path)):
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
