"""Import-path alias: ``from consist.core.tracker_config import TrackerConfig``."""

from consist.settings import TrackerConfig

__all__ = ["TrackerConfig"]
