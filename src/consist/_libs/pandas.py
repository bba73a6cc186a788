"""Gateway to pandas: import it lazily or explain which extra to install.

Nothing format-specific lives here; readers and writers are in ``consist.formats``.
"""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def import_pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise MissingDependencyError(
            "This feature needs pandas, which is not installed.",
            fix="pip install 'consist[data]'",
        ) from exc
    return pandas


def is_pandas_object(value: Any) -> bool:
    """True for a pandas DataFrame or Series, without importing pandas."""
    module = type(value).__module__
    return module.startswith("pandas") and hasattr(
        value, "to_frame" if is_pandas_series(value) else "to_parquet"
    )


def is_pandas_series(value: Any) -> bool:
    """True for a pandas Series (by type name, so pandas need not be imported)."""
    return type(value).__name__ == "Series"
