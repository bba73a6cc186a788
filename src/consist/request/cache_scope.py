"""ActiveRunCacheOptions: the cache options in force inside the active run.

A run's cache options are fixed in its request; code running *inside* the run reads
them from the ActiveRun instead (``cached_artifacts`` / ``cached_output`` validate and
hydrate a hit's outputs under them: cache/in_run.py), so ``suspend_cache_options()`` can
give a helper the defaults for a while and ``restore_cache_options()`` give the
caller's back. The run's own identity, cache
decision and persistence (``readonly`` writes nothing) were settled at begin and never
change with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from consist.options import CacheMode, Hydration, ValidateMode
from consist.request.spec import CacheSpec


@dataclass(frozen=True, slots=True)
class ActiveRunCacheOptions:
    """Cache options of the active run, as seen by code running inside it.

    Attributes
    ----------
    cache_mode: the run's cache mode (``reuse`` by default).
    cache_hydration: how cached outputs/inputs are materialised (None: nothing is copied).
    validate_cached_outputs: how a hit's outputs are checked (``lazy`` by default).
    """

    cache_mode: CacheMode = CacheMode.REUSE
    cache_hydration: Hydration | None = None
    validate_cached_outputs: ValidateMode = ValidateMode.LAZY

    @classmethod
    def of(cls, cache: CacheSpec) -> ActiveRunCacheOptions:
        """The options a request's parsed cache controls give."""
        return cls(cache.mode, cache.hydration, cache.validate)
