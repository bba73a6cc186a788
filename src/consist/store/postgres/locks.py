"""One run per signature across every machine: PostgreSQL advisory locks.

The same contract as cache/locks.py (``acquire(signature) -> bool`` / ``release``),
but the lock lives in the server, so two workers on two hosts that start the same
step at once run it once: the second waits, then finds the first one's run in the
store and hits.

Why advisory locks and not a lease row: a session-level advisory lock belongs to the
holder's connection, so the server releases it the moment that process dies (kill -9,
a lost node: when TCP keepalive notices), with no expiry to tune, no heartbeat to
write and no stale row to clean up. The cost is that the holder keeps its connection
open while it runs the step (connect.PgLink pins it; it closes when idle otherwise).

Round trips of a miss, and how they are saved:

* taking the lock and the cache lookup under it are ONE message
  (``pg_try_advisory_lock`` then the store's find-completed query, each statement with
  its own snapshot, so the lookup sees every run committed before the lock was ours);
  the answer is handed to the store's next ``find_completed`` of that signature
  (``take_prefetched``), which the spine makes right after ``acquire``;
* the unlock travels in the message that writes the step's final record, after its
  COMMIT (``keys_to_release``, write.py), so ``release`` then costs nothing.

Waiting polls with backoff (5 ms up to 250 ms) instead of the blocking
``pg_advisory_lock``: threads of one process share the one connection, and a blocked
call would stall every other thread's records. Locks are re-entrant per connection,
so threads of one process also take turns through an in-process table.

Chunks (``tracker.map(..., points_per_task=k)``): ``acquire_many`` takes the locks of
a chunk's signatures and looks them all up in ONE message; each point's ``acquire``
then costs nothing, its ``release`` hands the lock back to the chunk (a duplicate point
of the chunk may take it again), and the chunk's final records are sent together at
its end, their message releasing the locks (``finish_many`` unlocks any left over).

The key is the signature's first 15 hex digits (60 bits, a positive bigint), in the
advisory-lock space of the store's database; a collision only makes one step wait.

A lost connection (server restart, network cut) takes its locks with it. Each lock
remembers the connection it was taken on (``PgLink.generation``); a step whose lock
is found gone when it records its end is still recorded (its outputs are real), and
the store is asked again whether another run of the signature completed meanwhile:
if so, a warning names both runs. Either is a valid cache hit, so the outcome is
sound; the cost is the step having run twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from consist.model.run import ConsistRecord, RunStatus
from consist.store.postgres.connect import PgLink

logger = logging.getLogger("consist")

#: (connection, signature) -> the completed record, sent in the lock's message.
Prefetch = Callable[[Any, int, str], tuple[bool, ConsistRecord | None]]
#: (connection, keys, signatures) -> (lock taken, per key), completed records by signature.
PrefetchMany = Callable[[Any, list[int], list[str]], tuple[list[bool], dict[str, ConsistRecord]]]

_MISSING = object()


def lock_key(signature: str) -> int:
    try:
        return int(signature[:15], 16)
    except ValueError:
        import hashlib

        return int(hashlib.sha256(signature.encode()).hexdigest()[:15], 16)


class AdvisoryLocks:
    """Per-signature locks held on the process's connection to the store."""

    local = False  # a round trip: a hit is looked up before any lock is asked for

    def __init__(self, link: PgLink, lock_and_lookup: Prefetch) -> None:
        self._link = link
        self._lock_and_lookup = lock_and_lookup
        self._held: dict[str, int] = {}  # signature -> connection generation it lives on
        self._released: set[str] = set()  # unlocked by the final record's message
        self._lost: set[str] = set()
        self._prefetched: dict[str, ConsistRecord | None] = {}
        self._chunk: set[str] = set()  # taken by acquire_many, released by finish_many
        self._free: set[str] = set()  # of those, the ones no point of the chunk holds now
        self._turns = threading.Condition()
        link.on_reconnect = self._connection_lost

    def acquire_many(self, signatures: Sequence[str], lock_many: PrefetchMany) -> list[str]:
        """Take the locks of ``signatures`` this process does not hold, with their
        lookups, in one message; return those taken (the others go through ``acquire``)."""
        with self._turns:
            mine = [s for s in dict.fromkeys(signatures) if s not in self._held]
            for signature in mine:
                self._held[signature] = -1
        if not mine:
            return []
        keys = [lock_key(signature) for signature in mine]

        def attempt(conn: Any) -> tuple[list[bool], dict[str, ConsistRecord], int]:
            got, found = lock_many(conn, keys, mine)
            for _ in range(sum(got)):
                self._link.pin()
            return got, found, self._link.generation

        try:
            got, found, generation = self._link.run(attempt, transaction=False)
        except BaseException:
            for signature in mine:
                self._forget(signature)
            raise
        taken = [signature for signature, ok in zip(mine, got, strict=True) if ok]
        with self._turns:
            for signature in taken:
                self._held[signature] = generation
                self._prefetched[signature] = found.get(signature)
            self._chunk.update(taken)
            self._free.update(taken)
        for signature in set(mine) - set(taken):
            self._forget(signature)
        return taken

    def finish_many(self, taken: Sequence[str]) -> None:
        """End a chunk: unlock what its final records' message did not, forget them all."""
        generation = self._link.generation
        with self._turns:
            left = [
                lock_key(s)
                for s in taken
                if s not in self._released
                and s not in self._lost
                and self._held.get(s) == generation
            ]
            self._chunk.difference_update(taken)
            self._free.difference_update(taken)
        try:
            if left:
                self._link.run(
                    lambda conn: conn.execute(
                        "SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS t(k)", [left]
                    ),
                    transaction=False,
                )
        except Exception as exc:  # a lost connection took the locks with it
            logger.warning("consist: releasing %d signature lock(s) failed: %s", len(left), exc)
        finally:
            for signature in taken:
                self._forget(signature)
                self._link.unpin()

    def acquire(self, signature: str) -> bool:
        with self._turns:
            while signature in self._held:
                if signature in self._free:  # taken for its chunk: nothing to ask the server
                    self._free.discard(signature)
                    return True
                self._turns.wait()
            self._held[signature] = -1  # ours in this process; not yet in the server
        key = lock_key(signature)
        delay = 0.005
        try:
            while True:
                got, found, generation = self._link.run(
                    lambda conn: self._try(conn, key, signature), transaction=False
                )
                if got:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        except BaseException:
            self._forget(signature)
            raise
        with self._turns:
            self._held[signature] = generation
            self._prefetched[signature] = found
        return True

    def _try(self, conn: Any, key: int, signature: str) -> tuple[bool, ConsistRecord | None, int]:
        got, found = self._lock_and_lookup(conn, key, signature)
        if got:
            # Pinned under the link's lock: the idle closer can never close it in between.
            self._link.pin()
        return got, found, self._link.generation

    def take_prefetched(self, signature: str) -> object:
        """The lookup made with the lock (once), or ``_MISSING``."""
        with self._turns:
            return self._prefetched.pop(signature, _MISSING)

    def keys_to_release(self, records: Sequence[ConsistRecord]) -> list[int]:
        """Keys of locks this process holds, on the current connection, for the final
        records among ``records``: the write unlocks them after its COMMIT."""
        keys = []
        with self._turns:
            for record in records:
                signature = record.run.signature
                if record.run.status == RunStatus.RUNNING.value or signature is None:
                    continue
                generation = self._held.get(signature)
                if generation is None or generation < 0:
                    continue
                if generation != self._link.generation:
                    self._lost.add(signature)
                    continue
                keys.append(lock_key(signature))
        return keys

    def released_by_write(self, records: Sequence[ConsistRecord], keys: list[int]) -> None:
        with self._turns:
            for record in records:
                signature = record.run.signature
                if signature is not None and lock_key(signature) in keys:
                    self._released.add(signature)

    def lost(self, records: Sequence[ConsistRecord]) -> list[ConsistRecord]:
        """Final records whose step's lock was found gone (module doc)."""
        with self._turns:
            return [
                r
                for r in records
                if r.run.signature in self._lost and r.run.status != RunStatus.RUNNING.value
            ]

    def release(self, signature: str) -> None:
        with self._turns:
            if signature in self._chunk:  # back to its chunk (finish_many unlocks)
                self._free.add(signature)
                self._turns.notify_all()
                return
            generation = self._held.get(signature)
            done = signature in self._released or signature in self._lost
        try:
            if not done and generation == self._link.generation:
                key = lock_key(signature)
                self._link.run(
                    lambda conn: conn.execute("SELECT pg_advisory_unlock(%s)", [key]),
                    transaction=False,
                )
        finally:
            self._forget(signature)
            if generation is not None and generation >= 0:
                self._link.unpin()

    def _forget(self, signature: str) -> None:
        with self._turns:
            self._held.pop(signature, None)
            self._released.discard(signature)
            self._lost.discard(signature)
            self._prefetched.pop(signature, None)
            self._turns.notify_all()

    def _connection_lost(self) -> None:
        with self._turns:
            gone = [s for s, generation in self._held.items() if generation >= 0]
            self._lost.update(gone)
        if gone:
            logger.warning(
                "consist: the connection to the PostgreSQL store was lost while %d "
                "signature lock(s) were held; an identical step elsewhere may run too "
                "(checked when the step records its end)",
                len(gone),
            )
