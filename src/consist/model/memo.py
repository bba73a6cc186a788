"""Bounded in-process memos: a dict whose oldest entries go once it holds ``limit``.

The indexes and the file digester memoise what one process has seen, so that repeated
lookups cost a dict access. Unbounded, a long sweep in one process kept an entry per
run or per file for ever: memory grew by kilobytes a run, and every garbage collection
walked the objects (measured in cache/index.py). Entries are plain dict items, oldest
first (Python dicts keep insertion order); :func:`remember` enters a key last, so a
caller that re-enters what it uses gets least-recently-used order, and one that does
not gets first-in-first-out. A forgotten entry is only a slower lookup: every memo
here sits in front of files that still hold the answer.

Thread-tolerant without a lock: each dict operation is atomic under the GIL, and a
trim that races with another thread's change just leaves the trimming to a later call.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V, limit: int) -> None:
    """Enter ``key`` as the newest entry of ``memo``; drop the oldest beyond ``limit``."""
    memo.pop(key, None)
    memo[key] = value
    if len(memo) > limit:
        try:
            del memo[next(iter(memo))]
        except (KeyError, RuntimeError, StopIteration):
            pass  # another thread changed the memo meanwhile: a later call trims it
