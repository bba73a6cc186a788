"""Gateway to dask.distributed, imported only when ``tracker.map`` is given a client."""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def distributed() -> Any:
    """The ``distributed`` module, or MissingDependencyError naming the extra to install."""
    try:
        import distributed as module
    except ImportError as exc:
        raise MissingDependencyError(
            "tracker.map(client=...) needs dask.distributed.",
            fix="pip install 'consist[dask]'",
        ) from exc
    return module
