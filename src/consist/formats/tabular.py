"""Readers and writers of the core tabular formats: csv, tsv, parquet, json.

Rules:
- Readers take a path and return a pandas DataFrame; writers take a DataFrame and the
  full destination path (suffix included) and write it. Nothing here picks a format:
  ``formats/registry.py`` maps suffixes and names to these functions.
- pandas is imported through ``consist._libs.pandas`` when a table is read, never at
  import time, so ``import consist`` stays light.
- Compressed files (``.csv.gz``...) are read by pandas, which infers the codec from the
  suffix.
- Writers keep the shapes Consist has always written: csv/tsv without the index,
  parquet and json with pandas' defaults.
"""

from __future__ import annotations

from typing import Any

from consist._libs.pandas import import_pandas


def read_csv(path: str) -> Any:
    return import_pandas().read_csv(path)


def read_tsv(path: str) -> Any:
    return import_pandas().read_csv(path, sep="\t")


def read_parquet(path: str) -> Any:
    return import_pandas().read_parquet(path)


def read_json(path: str) -> Any:
    return import_pandas().read_json(path)


def write_csv(frame: Any, path: str) -> None:
    frame.to_csv(path, index=False)


def write_tsv(frame: Any, path: str) -> None:
    frame.to_csv(path, sep="\t", index=False)


def write_parquet(frame: Any, path: str) -> None:
    frame.to_parquet(path)


def write_json(frame: Any, path: str) -> None:
    frame.to_json(path)
