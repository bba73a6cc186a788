"""Gateway to pyarrow: only answers whether it can be imported (parquet needs it)."""

from __future__ import annotations


def pyarrow_available() -> bool:
    """True when pyarrow imports; pandas then reads and writes parquet through it."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True
