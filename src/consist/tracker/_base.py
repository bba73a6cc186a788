"""State shared by the Tracker mixins, and the single active-run slot."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from consist.context import reset_current_tracker, set_current_tracker
from consist.errors import RunStateError
from consist.flow import ActiveRun
from consist.model.run import ConsistRecord, Run
from consist.services import Services


class TrackerBase:
    """Attributes every mixin relies on; :class:`~consist.Tracker` initialises them."""

    _services: Services
    _active: ActiveRun | None
    _last_record: ConsistRecord | None
    _ended_imperative: Run | None
    _imperative_exit: AbstractContextManager[ActiveRun] | None
    _lock: threading.RLock
    _engine: Any

    @contextmanager
    def _activated(self, active: ActiveRun) -> Iterator[ActiveRun]:
        with self._lock:
            if self._active is not None:
                raise RunStateError(
                    f"Run {self._active.run.id!r} is still active; cannot start {active.run.id!r}.",
                    fix="End the active run first (end_run / leave its with-block); nested "
                    "runs are not supported on one tracker.",
                )
            self._active = active
        token = set_current_tracker(self)  # type: ignore[arg-type]
        try:
            yield active
        finally:
            reset_current_tracker(token)
            self._active = None
            if active.ended:
                self._last_record = active.record()

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
