"""State shared by the Tracker mixins: the active-run slot and the last ended run."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from consist.context import reset_current_tracker, set_current_tracker
from consist.errors import RunStateError
from consist.flow import ActiveRun
from consist.request import build
from consist.services import Services

_F = TypeVar("_F", bound=Callable[..., Any])


def refuse_unknown_keywords(method: _F) -> _F:
    """Refuse a misspelt keyword with the closest valid name (a ConfigError and TypeError)."""
    accepted = frozenset(inspect.signature(method).parameters) - {"self"}
    where = f"Tracker.{method.__name__}"

    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not accepted.issuperset(kwargs):
            build.check_keywords(kwargs, accepted, where)
        return method(*args, **kwargs)

    return cast(_F, checked)


class TrackerBase:
    """Attributes every mixin relies on; :class:`~consist.Tracker` initialises them."""

    _services: Services
    _active: ActiveRun | None
    _last: ActiveRun | None
    _lock: threading.RLock
    _engine: Any

    def _attach(self, active: ActiveRun) -> None:
        """Make ``active`` this tracker's run and this tracker the current one."""
        with self._lock:
            if self._active is not None:
                raise RunStateError(
                    f"Run {self._active.run.id!r} is still active; cannot start {active.run.id!r}.",
                    fix="End the active run first (end_run / leave its with-block); nested "
                    "runs are not supported on one tracker.",
                )
            self._active = active
        active.context_token = set_current_tracker(self)  # type: ignore[arg-type]

    def _detach(self, active: ActiveRun) -> None:
        reset_current_tracker(active.context_token)
        self._active = None
        if active.ended:
            self._last = active

    def _activated(self, active: ActiveRun) -> _Activation:
        """``with``: ``active`` is this tracker's run (and this the current tracker)."""
        return _Activation(self, active)

    def _require_no_active(self, what: str) -> None:
        if self._active is not None:
            raise RunStateError(
                f"Cannot start {what}: run {self._active.run.id!r} is still active.",
                fix="End the active run first; nested runs on one tracker are not supported.",
            )

    def _require_active(self, what: str) -> ActiveRun:
        if self._active is None:
            raise RunStateError(
                f"{what} needs an active run.",
                fix="Call it inside tracker.run(...), tracker.trace(...) or start_run(...).",
            )
        return self._active


class _Activation:
    """The context of :meth:`TrackerBase._activated` (a class: no generator per run)."""

    __slots__ = ("_tracker", "_active")

    def __init__(self, tracker: TrackerBase, active: ActiveRun) -> None:
        self._tracker = tracker
        self._active = active

    def __enter__(self) -> ActiveRun:
        self._tracker._attach(self._active)
        return self._active

    def __exit__(self, *exc: object) -> None:
        self._tracker._detach(self._active)
