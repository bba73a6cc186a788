"""Import-path alias used by the reference: ``from consist.core.tracker import Tracker``."""

from consist.tracker.tracker import Tracker

__all__ = ["Tracker"]
