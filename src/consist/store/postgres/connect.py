"""One PostgreSQL connection per process, retried on transient errors, never a hang.

Rules:

* A process (a sweep worker) holds at most ONE connection to the store, shared by its
  threads under a lock and opened lazily; a 200-worker sweep is 200 connections, the
  size of the sweep, not a multiple of it. Each operation is one short transaction on it.
* Connecting waits at most ``connect_timeout`` seconds per attempt. A server that is
  unreachable or refuses us raises a StoreError naming db_path (the password masked).
* Transient errors (connection lost, server restarting, serialization failure,
  deadlock, too many connections) are retried with exponential backoff and jitter
  until ``retry_seconds`` have passed; the connection is re-opened when it broke.
  Errors about the data (a value a column refuses) are not retried: they propagate.
* After a fork the child never touches its parent's connection (it opens its own).
* Signature locks (locks.py) are session-level advisory locks on this connection, so
  the server drops them the moment the process (and with it the connection) dies.
"""

from __future__ import annotations

import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from consist._libs.psycopg import psycopg
from consist.errors import StoreError

T = TypeVar("T")

#: SQLSTATE classes / codes worth another attempt: connection problems (08), the server
#: shutting down or starting (57P0x), too many connections (53300), serialization
#: failures and deadlocks (40001, 40P01).
_TRANSIENT_CODES = frozenset({"53300", "40001", "40P01", "57P01", "57P02", "57P03"})


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and ``location``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def is_transient(exc: BaseException) -> bool:
    pg = psycopg()
    code = getattr(exc, "sqlstate", None) or ""
    if code in _TRANSIENT_CODES or code.startswith("08"):
        return True
    # A lost connection surfaces as OperationalError without a SQLSTATE.
    return isinstance(exc, pg.OperationalError) and not code


_live_links: weakref.WeakSet[PgLink] = weakref.WeakSet()


def _reset_links_after_fork() -> None:
    for link in list(_live_links):
        link._reset_after_fork()


os.register_at_fork(after_in_child=_reset_links_after_fork)


class PgLink:
    """The process's connection to one PostgreSQL store (see the module doc)."""

    def __init__(
        self, url: str, *, db_path: str, connect_timeout: int, retry_seconds: float
    ) -> None:
        self.url = url
        self.db_path = db_path  # as the user wrote it, password masked
        self._connect_timeout = connect_timeout
        self._retry_seconds = retry_seconds
        self._lock = threading.RLock()
        self._conn: Any = None
        self._orphans: list[Any] = []  # a parent's connections, kept unclosed in a child
        #: Called after a reconnect: what lived on the lost connection (advisory locks) is gone.
        self.on_reconnect: Callable[[], None] | None = None
        _live_links.add(self)

    def _reset_after_fork(self) -> None:
        if self._conn is not None:
            # Closing would send the parent's session a terminate message: keep it unused.
            self._orphans.append(self._conn)
            self._conn = None
        self._lock = threading.RLock()

    def connect_now(self) -> None:
        """Open the connection (one attempt), or raise StoreError naming db_path."""
        with self._lock:
            self._connection(retry=False)

    def _connection(self, *, retry: bool = True) -> Any:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        pg = psycopg()
        try:
            self._conn = pg.connect(
                self.url, autocommit=True, connect_timeout=self._connect_timeout
            )
        except pg.Error as exc:
            if retry and is_transient(exc):
                raise
            raise self.error("cannot connect to the PostgreSQL server", exc) from exc
        return self._conn

    def error(self, what: str, exc: BaseException) -> StoreError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreError(
            f"db_path={self.db_path!r}: {what}.",
            cause=detail,
            fix="Check the URL (user, password, host, port, database) and that the server "
            "is running and reachable from this machine; CONSIST_POSTGRES_CONNECT_TIMEOUT "
            "sets how long a connect may take.",
            parameter="db_path",
            value=repr(self.db_path),
        )

    def run(self, work: Callable[[Any], T], *, transaction: bool = True) -> T:
        """``work(connection)`` in one transaction (or autocommit), retried while transient."""
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.05
        while True:
            try:
                with self._lock:
                    conn = self._connection()
                    if not transaction:
                        return work(conn)
                    # Pipelined: BEGIN, the statements and COMMIT leave in one flush, so a
                    # write costs about one round trip however many statements it has.
                    with conn.pipeline(), conn.transaction():
                        return work(conn)
            except psycopg().Error as exc:
                if not is_transient(exc) or time.monotonic() + delay > deadline:
                    if is_transient(exc):
                        raise self.error("the server kept failing", exc) from exc
                    raise
                self._drop_if_broken()
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    def _drop_if_broken(self) -> None:
        with self._lock:
            conn = self._conn
            if conn is None or not (conn.closed or conn.broken):
                return
            self._conn = None
            try:
                conn.close()
            except Exception:  # already gone
                pass
        if self.on_reconnect is not None:
            self.on_reconnect()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
