"""Lifecycle hooks. A failing hook is logged and never breaks the run it observes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("consist")


class HookRegistry:
    def __init__(self) -> None:
        self.on_start: list[Callable[..., Any]] = []
        self.on_complete: list[Callable[..., Any]] = []
        self.on_failed: list[Callable[..., Any]] = []

    def emit(self, hooks: list[Callable[..., Any]], *args: Any) -> None:
        for hook in hooks:
            try:
                hook(*args)
            except Exception:
                logger.exception("consist: hook %r raised; the run continues", hook)
