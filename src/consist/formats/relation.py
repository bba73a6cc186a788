"""Tables loaded as DuckDB relations: lazy, SQL-queryable, converted to pandas only on demand.

Rules:
- Each load opens its own in-memory DuckDB connection (no shared global connection, so
  threads and trackers never see each other's relations); the relation keeps the
  connection alive for as long as it is used.
- csv / tsv (also ``.gz`` / ``.zst`` compressed) and parquet are read by DuckDB itself,
  lazily: nothing is read until the relation is queried.
- json (pandas' column-oriented layout, which Consist writes), feather, and csv compressed
  with a codec DuckDB lacks (``.bz2``, ``.xz``) are read by pandas first, then wrapped, so
  ``load`` and ``load_df`` always agree on the rows.
- Keyword options go to DuckDB's reader (``read_csv``/``read_parquet``) or to pandas for
  the formats pandas reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Codecs DuckDB decompresses by itself when reading csv.
_DUCKDB_CODECS = ("", ".gz", ".zst")


def _connect() -> Any:
    import duckdb  # lazily: importing the driver registry must stay cheap

    return duckdb.connect(":memory:")


def relation_from_frame(frame: Any) -> Any:
    """A relation over a pandas DataFrame (the frame is kept by the relation's connection)."""
    return _connect().from_df(frame)


def _codec(path: str) -> str:
    lower = path.lower()
    for codec in (".gz", ".zst", ".bz2", ".xz"):
        if lower.endswith(codec):
            return codec
    return ""


def load_csv(path: str, **options: Any) -> Any:
    if _codec(path) not in _DUCKDB_CODECS:
        from consist.formats.tabular import read_csv

        return relation_from_frame(read_csv(path, **options))
    return _connect().read_csv(path, **options)


def load_tsv(path: str, **options: Any) -> Any:
    if _codec(path) not in _DUCKDB_CODECS:
        from consist.formats.tabular import read_tsv

        return relation_from_frame(read_tsv(path, **options))
    return _connect().read_csv(path, **{"sep": "\t", **options})


def load_parquet(path: str, **options: Any) -> Any:
    return _connect().read_parquet(path, **options)


def via_pandas(reader: Callable[..., Any]) -> Callable[..., Any]:
    """A relation loader that reads with a pandas ``reader`` first."""

    def load(path: str, **options: Any) -> Any:
        return relation_from_frame(reader(path, **options))

    return load
