"""The only global state: which tracker the module-level helpers act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from consist.errors import RunStateError

if TYPE_CHECKING:
    from consist.tracker.tracker import Tracker

_current_tracker: ContextVar[Tracker | None] = ContextVar("consist_current_tracker", default=None)


@contextmanager
def use_tracker(tracker: Tracker) -> Iterator[Tracker]:
    """Make ``tracker`` the one that ``consist.*`` helpers act on inside the block."""
    token = _current_tracker.set(tracker)
    try:
        yield tracker
    finally:
        _current_tracker.reset(token)


def set_current_tracker(tracker: Tracker | None) -> object:
    """Set the current tracker; return a token for :func:`reset_current_tracker`."""
    return _current_tracker.set(tracker)


def reset_current_tracker(token: object) -> None:
    _current_tracker.reset(token)  # type: ignore[arg-type]


def find_current_tracker() -> Tracker | None:
    """The current tracker, or None when there is none."""
    return _current_tracker.get()


def get_current_tracker() -> Tracker:
    """Return the current tracker or raise a RunStateError explaining how to set one."""
    tracker = _current_tracker.get()
    if tracker is None:
        raise RunStateError(
            "No active Consist tracker.",
            fix="Call this inside tracker.run(...)/tracker.trace(...), or wrap the code in "
            "`with consist.use_tracker(tracker):`.",
        )
    return tracker
