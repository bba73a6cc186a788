"""BEAM config adapter (HOCON ``.conf`` files with includes).

>>> from consist.integrations.beam import BeamConfigAdapter
"""

from consist.integrations.beam.adapter import BeamConfigAdapter

__all__ = ["BeamConfigAdapter"]
