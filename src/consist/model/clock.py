"""UTC time as records write it, the text of each second formatted once.

A run records three time stamps (created/started, its outputs', ended) and its id holds
one more; formatting a datetime costs ~1-2 µs each time. The text of the current second
is kept instead, in one tuple, so a thread never pairs one second with another's text.

* :func:`utc_now` is exactly ``datetime.now(UTC).isoformat()``'s form (no fraction when
  the microseconds are zero), pinned by tests/unit/model/test_clock.py;
* :func:`utc_stamp` is the second as run ids hold it, ``20261201T052420``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

# (second, "YYYY-MM-DDTHH:MM:SS", "YYYYMMDDTHHMMSS")
_second: tuple[int, str, str] = (-1, "", "")


def _texts(second: int) -> tuple[int, str, str]:
    global _second
    cached = _second
    if cached[0] != second:
        iso = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        cached = _second = (second, iso, iso.replace("-", "").replace(":", ""))
    return cached


def utc_now() -> str:
    """Now as ``datetime.now(UTC).isoformat()`` writes it."""
    second, fraction = divmod(time.time_ns() // 1000, 1_000_000)
    iso = _texts(second)[1]
    return f"{iso}.{fraction:06d}+00:00" if fraction else iso + "+00:00"


def utc_stamp() -> str:
    """The current UTC second as run ids hold it (``20261201T052420``)."""
    return _texts(time.time_ns() // 1_000_000_000)[2]
