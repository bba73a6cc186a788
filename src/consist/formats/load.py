"""Loading a file (or a table inside one) as its natural object or as a pandas DataFrame.

Rules:
- The driver is the one given, else the one of the file's suffix. ``"h5_table"`` is the
  driver of a table *inside* an HDF5 file (it has no suffix of its own): it needs
  ``table_path``, which callers take from the artifact's metadata.
- ``load_path`` returns the driver's natural object (``Driver.load``, else ``Driver.read``):
  a DuckDB relation for csv / tsv / parquet / json / feather, an ``xarray.Dataset`` for
  netcdf / zarr / omx, a GeoDataFrame for spatial files, an ``h5py.File`` for an HDF5
  container (or the DataFrame of one table when ``table_path`` is given).
- ``load_frame`` returns a pandas DataFrame: ``Driver.read`` for tables; for gridded data
  the Dataset's ``to_dataframe()`` (one row per grid cell, dimensions as the index).
- ``load_target`` turns an Artifact or a path into (local path, options): an artifact's
  file is its ``abs_path``, else its URI resolved by ``from_uri``; its recorded driver and
  ``meta["table_path"]`` become options unless the caller gave them.
- A path that does not exist is a ``MissingInputError``; a driver that cannot load is a
  ``ConfigError`` naming the drivers that can.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from consist.errors import ConfigError, MissingInputError
from consist.formats import h5
from consist.formats.registry import DRIVERS, Driver, driver_for_path
from consist.model.artifact import Artifact

H5_TABLE = "h5_table"


def _loadable() -> list[str]:
    names = [n for n in DRIVERS.names() if _can_load(DRIVERS.get(n))]
    return sorted([*names, H5_TABLE])


def _can_load(driver: Driver) -> bool:
    return driver.load is not None or driver.read is not None


def resolve_driver(path: str, driver: str | None) -> Driver | None:
    """The registered driver to use (``None`` for ``h5_table``); refuses one that cannot load."""
    name = driver if driver is not None else driver_for_path(path)
    if name == H5_TABLE:
        return None
    found = DRIVERS.find(name) if name is not None else None
    if found is None or not _can_load(found):
        raise ConfigError(
            f"driver={name!r} cannot load {path!r}.",
            fix=f"Pass driver= one of: {', '.join(_loadable())}; or open the file yourself.",
            parameter="driver",
            value=repr(name),
        )
    return found


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise MissingInputError(
            f"Cannot load {path!r}: it does not exist.",
            cause="The file was moved or deleted after it was logged, or the path is wrong.",
            fix="Restore the file (e.g. tracker.materialize) or re-run the step that makes it.",
            path=path,
        )


def load_path(
    path: str, driver: str | None = None, *, table_path: str | None = None, **options: Any
) -> Any:
    """The natural object for the file at ``path`` (see the module rules)."""
    found = resolve_driver(path, driver)
    _check_exists(path)
    if found is None or (found.name == "h5" and table_path is not None):
        return h5.read_table(path, table_path, **options)
    loader = found.load if found.load is not None else found.read
    assert loader is not None  # resolve_driver refused drivers with neither
    return loader(path, **options)


def load_frame(
    path: str, driver: str | None = None, *, table_path: str | None = None, **options: Any
) -> Any:
    """The file at ``path`` as a pandas DataFrame (see the module rules)."""
    found = resolve_driver(path, driver)
    _check_exists(path)
    if found is None or found.name == "h5":
        return h5.read_table(path, table_path, **options)
    if found.read is not None:
        return found.read(path, **options)
    assert found.load is not None
    loaded = found.load(path, **options)
    if hasattr(loaded, "to_dataframe"):
        return loaded.to_dataframe()
    raise ConfigError(
        f"driver={found.name!r} does not load as a table.",
        fix="Use consist.load(...) for its natural object.",
        parameter="driver",
    )


def load_target(
    artifact: Any, options: dict[str, Any], from_uri: Callable[[str], str] | None = None
) -> tuple[str, dict[str, Any]]:
    """(local path, loader options) for an Artifact or a path (see the module rules)."""
    options = dict(options)
    if isinstance(artifact, Artifact):
        options.setdefault("driver", artifact.driver)
        table_path = artifact.meta.get("table_path")
        if table_path is not None:
            options.setdefault("table_path", table_path)
        if artifact.abs_path is not None:
            return artifact.abs_path, options
        return (from_uri(artifact.uri) if from_uri else os.path.abspath(artifact.uri)), options
    if isinstance(artifact, (str, PurePath)):
        return os.path.abspath(os.fspath(artifact)), options
    raise ConfigError(
        f"artifact={artifact!r} of type {type(artifact).__name__} is not an Artifact or a path.",
        fix="Pass an Artifact (e.g. result.outputs['key']) or a file path.",
        parameter="artifact",
    )
