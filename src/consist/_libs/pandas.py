"""Gateway to pandas: import it lazily or explain which extra to install."""

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
        value, "to_frame" if _is_series(value) else "to_parquet"
    )


def _is_series(value: Any) -> bool:
    return type(value).__name__ == "Series"


def write_table(value: Any, path_without_suffix: str) -> str:
    """Write a DataFrame/Series as parquet (csv when pyarrow is missing); return the path."""
    frame = value.to_frame() if _is_series(value) else value
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        path = path_without_suffix + ".csv"
        frame.to_csv(path, index=False)
        return path
    path = path_without_suffix + ".parquet"
    frame.to_parquet(path)
    return path


def read_table(path: str, driver: str | None) -> Any:
    pandas = import_pandas()
    if driver == "parquet":
        return pandas.read_parquet(path)
    if driver == "json":
        return pandas.read_json(path)
    return pandas.read_csv(path)


TABULAR_DRIVERS = frozenset({"csv", "parquet", "json", "tsv"})
