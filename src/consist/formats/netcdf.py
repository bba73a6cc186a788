"""NetCDF files through xarray, and the JSON description of any xarray Dataset.

Rules:
- ``load_dataset`` opens the file lazily with ``xarray.open_dataset`` (values are read when
  used); keyword options go to xarray. It needs the ``netcdf`` extra (xarray plus the
  h5netcdf or netCDF4 engine).
- ``describe_dataset`` turns a Dataset's structure into JSON-safe metadata, the shape
  recorded on artifacts by ``log_netcdf_file`` (and on Zarr stores)::

      {"dimensions": {name: size},
       "variables": {name: {"dims": [...], "shape": [...], "dtype": "float64", "attrs": {...}}},
       "coordinates": {name: {...same fields...}},
       "attributes": {...global attributes...}}

  Values are never read; numpy scalars and arrays in attributes become plain JSON values,
  anything else its ``str``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consist._libs.extras import import_netcdf_engine, import_xarray

# Attribute arrays longer than this are summarised: metadata must stay small JSON.
_MAX_ATTR_ITEMS = 64


def json_safe(value: Any) -> Any:
    """A JSON-serialisable form of an attribute value (numpy values included)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) == 0:
        return json_safe(value.tolist())  # a numpy scalar
    if hasattr(value, "tolist") or isinstance(value, (list, tuple)):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        if len(items) > _MAX_ATTR_ITEMS:
            return f"<{len(items)} values>"
        return [json_safe(item) for item in items]
    return str(value)


def _describe_array(array: Any) -> dict[str, Any]:
    return {
        "dims": [str(d) for d in array.dims],
        "shape": [int(n) for n in array.shape],
        "dtype": str(array.dtype),
        "attrs": {str(k): json_safe(v) for k, v in array.attrs.items()},
    }


def describe_dataset(dataset: Any) -> dict[str, Any]:
    """Structure of an xarray Dataset as JSON-safe metadata (see the module rules)."""
    return {
        "dimensions": {str(k): int(v) for k, v in dataset.sizes.items()},
        "variables": {str(k): _describe_array(v) for k, v in dataset.data_vars.items()},
        "coordinates": {str(k): _describe_array(v) for k, v in dataset.coords.items()},
        "attributes": {str(k): json_safe(v) for k, v in dataset.attrs.items()},
    }


def load_dataset(path: str, **options: Any) -> Any:
    """The NetCDF file at ``path`` as a lazily loaded ``xarray.Dataset``."""
    xarray = import_xarray("Loading a NetCDF file")
    import_netcdf_engine()
    return xarray.open_dataset(path, **options)


def read_metadata(path: str) -> dict[str, Any]:
    """The structure of the NetCDF file at ``path`` (no values are read)."""
    with load_dataset(path) as dataset:
        return describe_dataset(dataset)
