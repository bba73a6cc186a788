"""How values look on the pages: Jinja2 filters (short ids, durations, sizes, times)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consist.web.pages import format_value


def short_id(value: object, length: int = 12) -> str:
    """A digest or long id cut to ``length`` characters (the full one is in a title)."""
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[:length] + "…"


def duration(seconds: object) -> str:
    """Seconds as ``850 ms``, ``12.3 s``, ``4 min 05 s`` or ``2 h 03 min``."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def size(value: object) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``3.2 MiB``."""
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{value} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"  # pragma: no cover - the loop always returns


def when(value: object) -> str:
    """An ISO timestamp to the second, without the T: ``2026-01-02 10:11:12``."""
    text = "" if value is None else str(value)
    return text[:19].replace("T", " ")


FILTERS: dict[str, Callable[..., Any]] = {
    "short_id": short_id,
    "duration": duration,
    "size": size,
    "when": when,
    "value": format_value,
}
