"""Readers and writers of the core tabular formats: csv, tsv, parquet, json, feather (Arrow IPC).

Rules:
- Readers take a path and return a pandas DataFrame; writers take a DataFrame and the
  full destination path (suffix included) and write it. Nothing here picks a format:
  ``formats/registry.py`` maps suffixes and names to these functions.
- pandas is imported through ``consist._libs.pandas`` when a table is read, never at
  import time, so ``import consist`` stays light.
- Compressed files (``.csv.gz``...) are read by pandas, which infers the codec from the
  suffix.
- Writers keep the shapes Consist has always written: csv/tsv without the index,
  parquet and json with pandas' defaults. Extra keyword options go to the pandas writer
  (``to_csv``, ``to_parquet``...), overriding those defaults.
"""

from __future__ import annotations

from typing import Any

from consist._libs.pandas import import_pandas


def read_csv(path: str, **options: Any) -> Any:
    return import_pandas().read_csv(path, **options)


def read_tsv(path: str, **options: Any) -> Any:
    return import_pandas().read_csv(path, **{"sep": "\t", **options})


def read_parquet(path: str, **options: Any) -> Any:
    return import_pandas().read_parquet(path, **options)


def read_json(path: str, **options: Any) -> Any:
    return import_pandas().read_json(path, **options)


def read_feather(path: str, **options: Any) -> Any:
    return import_pandas().read_feather(path, **options)


def write_csv(frame: Any, path: str, **options: Any) -> None:
    frame.to_csv(path, **{"index": False, **options})


def write_tsv(frame: Any, path: str, **options: Any) -> None:
    frame.to_csv(path, **{"sep": "\t", "index": False, **options})


def write_parquet(frame: Any, path: str, **options: Any) -> None:
    frame.to_parquet(path, **options)


def write_json(frame: Any, path: str, **options: Any) -> None:
    frame.to_json(path, **options)


def write_feather(frame: Any, path: str, **options: Any) -> None:
    # Feather keeps no index; a default RangeIndex round-trips, others are dropped.
    frame.reset_index(drop=True).to_feather(path, **options)


def frame_schema(frame: Any, sampled_rows: int | None = None) -> dict[str, Any]:
    """Column names and pandas dtypes of ``frame`` as JSON-safe metadata."""
    return {
        "columns": {str(name): str(dtype) for name, dtype in frame.dtypes.items()},
        "sampled_rows": int(len(frame)) if sampled_rows is None else sampled_rows,
    }
