"""One run per signature across every machine: PostgreSQL advisory locks.

The same contract as cache/locks.py (``acquire(signature) -> bool`` / ``release``),
but the lock lives in the server, so two workers on two hosts that start the same
step at once run it once: the second waits, then finds the first one's run in the
store and hits.

Why advisory locks and not a lease row: a session-level advisory lock belongs to the
holder's connection, so the server releases it the moment that process dies (kill -9,
a lost node: when TCP keepalive notices), with no expiry to tune, no heartbeat to
write and no stale row to clean up. The cost is that the holder keeps its connection
open while it runs the step; connect.PgLink keeps one connection per process anyway.

Waiting polls ``pg_try_advisory_lock`` with backoff (5 ms up to 250 ms) instead of the
blocking ``pg_advisory_lock``: threads of one process share the one connection, and a
blocked call would stall every other thread's records. Locks are re-entrant per
connection, so threads of one process also take turns through an in-process table.

The key is the signature's first 15 hex digits (60 bits, a positive bigint), in the
advisory-lock space of the store's database; a collision only makes one step wait.
If the connection is lost while a step runs, its lock is gone with it (logged); the
worst case is then the step running twice, never a wrong record.
"""

from __future__ import annotations

import logging
import threading
import time

from consist.store.postgres.connect import PgLink

logger = logging.getLogger("consist")


def lock_key(signature: str) -> int:
    try:
        return int(signature[:15], 16)
    except ValueError:
        import hashlib

        return int(hashlib.sha256(signature.encode()).hexdigest()[:15], 16)


class AdvisoryLocks:
    """Per-signature locks held on the process's connection to the store."""

    def __init__(self, link: PgLink) -> None:
        self._link = link
        self._held: set[str] = set()
        self._turns = threading.Condition()
        link.on_reconnect = self._connection_lost

    def acquire(self, signature: str) -> bool:
        with self._turns:
            while signature in self._held:
                self._turns.wait()
            self._held.add(signature)
        key = lock_key(signature)
        delay = 0.005
        try:
            while not self._link.run(
                lambda conn: conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0],
                transaction=False,
            ):
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        except BaseException:
            self._forget(signature)
            raise
        return True

    def release(self, signature: str) -> None:
        key = lock_key(signature)
        try:
            self._link.run(
                lambda conn: conn.execute("SELECT pg_advisory_unlock(%s)", [key]),
                transaction=False,
            )
        finally:
            self._forget(signature)

    def _forget(self, signature: str) -> None:
        with self._turns:
            self._held.discard(signature)
            self._turns.notify_all()

    def _connection_lost(self) -> None:
        if self._held:
            logger.warning(
                "consist: the connection to the PostgreSQL store was lost while %d "
                "signature lock(s) were held; an identical step elsewhere may run too",
                len(self._held),
            )
