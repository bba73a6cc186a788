"""Gateway to pyhocon (the ``beam`` extra): import it or name the extra to install."""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def import_pyhocon() -> Any:
    try:
        import pyhocon
    except ImportError as exc:
        raise MissingDependencyError(
            "Reading HOCON (.conf) configs needs pyhocon, which is not installed.",
            fix="pip install 'consist[beam]'",
        ) from exc
    return pyhocon
