"""Connections to the PostgreSQL store: short-lived, retried on transient errors, never a hang.

Rules:

* A process (a sweep worker) holds at most ONE connection to the store, shared by its
  threads under a lock and opened when first needed. Each operation is one message (one
  round trip) on it: a read is one statement, a write one multi-statement transaction
  (write.py).
* Connections per process: 1 while a step holds a signature lock (the advisory lock
  lives in that session, locks.py: the connection is pinned) or while the process is
  busy recording; 0 once the connection has been idle for ``CONSIST_POSTGRES_IDLE_SECONDS``
  (default 2; 0 keeps it open) with no lock held: a background thread closes it, and
  the next operation reconnects (a few ms). A sweep of W workers therefore needs at most
  W connections while all of them run steps, and none while they wait.
* A server that is full ("too many clients", SQLSTATE 53300) is waited for with backoff
  for up to ``CONSIST_POSTGRES_SLOT_WAIT_SECONDS`` (default 600): a sweep wider than
  ``max_connections`` slows down instead of failing, as connections of idle or finished
  workers free up.
* Connecting waits at most ``connect_timeout`` seconds per attempt. A server that is
  unreachable or refuses us raises a StoreError naming db_path (the password masked).
* Other transient errors (connection lost, server restarting, serialization failure,
  deadlock) are retried with exponential backoff and jitter until ``retry_seconds``
  have passed; the connection is re-opened when it broke, and ``generation`` counts the
  connections opened, so locks.py can tell that a lock's session is gone.
  Errors about the data (a value a column refuses) are not retried: they propagate.
* After a fork the child never touches its parent's connection (it opens its own).
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

IDLE_SECONDS = float(os.environ.get("CONSIST_POSTGRES_IDLE_SECONDS", "2"))
SLOT_WAIT_SECONDS = float(os.environ.get("CONSIST_POSTGRES_SLOT_WAIT_SECONDS", "600"))


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and ``location``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def server_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the server has no connection slot left (53300)."""
    if getattr(exc, "sqlstate", None) == "53300":
        return True
    text = str(exc)  # refused at connect time: libpq gives the message, not the code
    return "too many clients" in text or "connection slots are reserved" in text


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
        self,
        url: str,
        *,
        db_path: str,
        connect_timeout: int,
        retry_seconds: float,
        idle_seconds: float | None = None,
    ) -> None:
        self.url = url
        self.db_path = db_path  # as the user wrote it, password masked
        self._connect_timeout = connect_timeout
        self._retry_seconds = retry_seconds
        self._idle_seconds = IDLE_SECONDS if idle_seconds is None else idle_seconds
        self._lock = threading.RLock()
        self._conn: Any = None
        self._orphans: list[Any] = []  # a parent's connections, kept unclosed in a child
        self._pins = 0  # signature locks held: the connection must stay open
        self._last_used = time.monotonic()
        self._closer: threading.Thread | None = None
        #: How many connections were opened; a lock taken on generation g is gone once
        #: this has moved on (locks.py).
        self.generation = 0
        #: Called after a connection broke: what lived on it (advisory locks) is gone.
        self.on_reconnect: Callable[[], None] | None = None
        _live_links.add(self)

    def _reset_after_fork(self) -> None:
        if self._conn is not None:
            # Closing would send the parent's session a terminate message: keep it unused.
            self._orphans.append(self._conn)
            self._conn = None
        self._lock = threading.RLock()
        self._closer = None  # threads do not survive a fork
        self._pins = 0

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed

    def connect_now(self) -> None:
        """Open the connection, or raise StoreError naming db_path: one attempt, except
        that a full server is waited for (module doc)."""
        began = time.monotonic()
        delay = 0.05
        while True:
            try:
                with self._lock:
                    self._connection()
                return
            except psycopg().Error as exc:
                if not server_full(exc) or time.monotonic() - began > SLOT_WAIT_SECONDS:
                    raise self.error("cannot connect to the PostgreSQL server", exc) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    def pin(self) -> None:
        """Keep the connection open (a signature lock now lives in its session)."""
        with self._lock:
            self._pins += 1

    def unpin(self) -> None:
        with self._lock:
            self._pins = max(0, self._pins - 1)
            self._last_used = time.monotonic()

    def _connection(self, *, retry: bool = True) -> Any:
        self._last_used = time.monotonic()
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
        self.generation += 1
        self._start_closer()
        return self._conn

    def _start_closer(self) -> None:
        if self._idle_seconds <= 0 or (self._closer is not None and self._closer.is_alive()):
            return
        self._closer = threading.Thread(
            target=self._close_when_idle, name="consist-pg-idle", daemon=True
        )
        self._closer.start()

    def _close_when_idle(self) -> None:
        # Ends when it has closed the connection; the next connect starts another.
        while True:
            with self._lock:
                if self._conn is None or self._conn.closed:
                    return
                wait = self._last_used + self._idle_seconds - time.monotonic()
                if self._pins == 0 and wait <= 0:
                    conn, self._conn = self._conn, None
                    _close_quietly(conn)
                    return
            time.sleep(max(wait, self._idle_seconds / 4, 0.01))

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
        began = time.monotonic()
        delay = 0.05
        while True:
            try:
                with self._lock:
                    conn = self._connection()
                    try:
                        if not transaction:
                            return work(conn)
                        with conn.pipeline(), conn.transaction():
                            return work(conn)
                    finally:
                        self._last_used = time.monotonic()
            except psycopg().Error as exc:
                self._end_failed_transaction()
                waited = time.monotonic() + delay - began
                limit = SLOT_WAIT_SECONDS if server_full(exc) else self._retry_seconds
                if not is_transient(exc) or waited > limit:
                    if is_transient(exc):
                        raise self.error("the server kept failing", exc) from exc
                    raise
                self._drop_if_broken()
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    def _end_failed_transaction(self) -> None:
        # A multi-statement message with BEGIN that failed leaves the session in an
        # aborted transaction block (write.py); end it so the connection stays usable.
        with self._lock:
            conn = self._conn
            if conn is None or conn.closed or conn.broken:
                return
            if conn.info.transaction_status == psycopg().pq.TransactionStatus.INERROR:
                try:
                    conn.execute("ROLLBACK")
                except psycopg().Error:
                    pass  # broken meanwhile: dropped by the caller

    def _drop_if_broken(self) -> None:
        with self._lock:
            conn = self._conn
            if conn is None or not (conn.closed or conn.broken):
                return
            self._conn = None
            _close_quietly(conn)
        if self.on_reconnect is not None:
            self.on_reconnect()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # already gone
        pass
