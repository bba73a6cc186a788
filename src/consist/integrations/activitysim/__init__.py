"""ActivitySim config adapter and config overrides.

>>> from consist.integrations.activitysim import ActivitySimConfigAdapter, ConfigOverrides
"""

from consist.integrations.activitysim.adapter import ActivitySimConfigAdapter
from consist.integrations.activitysim.overrides import ConfigOverrides

__all__ = ["ActivitySimConfigAdapter", "ConfigOverrides"]
