"""Gateway to pyarrow: whether it can be imported (parquet needs it), and the module."""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def pyarrow_available() -> bool:
    """True when pyarrow imports; pandas then reads and writes parquet through it."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def import_pyarrow() -> Any:
    """The ``pyarrow`` module; raises MissingDependencyError naming ``consist[data]``."""
    try:
        import pyarrow
    except ImportError as exc:
        raise MissingDependencyError(
            "This feature needs pyarrow, which is not installed.",
            fix="pip install 'consist[data]'",
        ) from exc
    return pyarrow
