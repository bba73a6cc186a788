"""Gateways to the optional format libraries: import one lazily, or name the extra to install.

Rules:
- Each function imports its library on first use and returns the module; nothing here is
  imported by ``import consist``.
- A library that cannot be imported raises :class:`MissingDependencyError` whose fix is the
  exact ``pip install 'consist[<extra>]'`` that brings it in (the extras are declared in
  pyproject.toml: hdf5, netcdf, openmatrix, zarr, spatial).
- Tests simulate a missing library by putting ``None`` in ``sys.modules`` for it, which makes
  the import fail exactly as an uninstalled package does.
"""

from __future__ import annotations

import importlib
from typing import Any

from consist.errors import MissingDependencyError


def _require(module: str, extra: str, feature: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the Python package {module!r}, which is not installed.",
            fix=f"pip install 'consist[{extra}]'",
            module=module,
            extra=extra,
        ) from exc


def import_h5py(feature: str = "Reading HDF5 files", extra: str = "hdf5") -> Any:
    return _require("h5py", extra, feature)


def import_pytables(feature: str = "Reading pandas HDF5 tables") -> Any:
    # pandas reads its own HDF5 table layout only through PyTables.
    return _require("tables", "hdf5", feature)


def import_xarray(feature: str = "Loading gridded data", extra: str = "netcdf") -> Any:
    return _require("xarray", extra, feature)


def import_netcdf_engine(feature: str = "Reading NetCDF files") -> None:
    """Make sure xarray has a NetCDF backend (h5netcdf, else netCDF4)."""
    try:
        importlib.import_module("h5netcdf")
    except ImportError:
        _require("netCDF4", "netcdf", feature)


def import_zarr(feature: str = "Reading Zarr stores") -> Any:
    return _require("zarr", "zarr", feature)


def import_geopandas(feature: str = "Reading spatial files") -> Any:
    return _require("geopandas", "spatial", feature)


def import_pyogrio(feature: str = "Inspecting spatial files") -> Any:
    return _require("pyogrio", "spatial", feature)
