"""OpenMatrix (OMX) files: zone-to-zone matrices in an HDF5 layout, read with h5py.

The OMX layout (version 0.2): root attributes ``OMX_VERSION`` and ``SHAPE`` (rows, columns),
one 2-D dataset per matrix under ``/data``, one 1-D zone mapping per name under
``/lookup``. Files written by the ``openmatrix`` package, by TransCAD or by ActivitySim
all follow it, so h5py alone reads them (no PyTables needed).

Rules:
- ``read_metadata`` returns, without reading any matrix values::

      {"omx_version": "0.2", "shape": [rows, cols], "zones": rows,
       "matrices": {name: {"shape": [...], "dtype": "float64", "attrs": {...}}},
       "lookups": {name: {"length": n, "dtype": "int32"}},
       "attributes": {...root attributes...}}

  PyTables' bookkeeping attributes (CLASS, TITLE, VERSION...) are left out.
- ``load_matrices`` returns an ``xarray.Dataset`` with one variable per matrix over the
  dimensions ``("origin", "destination")``. When the file has a lookup of the right length,
  the first one by name labels both dimensions (zone ids); otherwise zones are 0..n-1.
  Values are read into memory (OMX files are compressed HDF5; lazy reads would keep the
  file open).
"""

from __future__ import annotations

from typing import Any

from consist._libs.extras import import_h5py, import_xarray
from consist.errors import ConfigError
from consist.formats.netcdf import json_safe

_PYTABLES_ATTRS = frozenset(
    {"CLASS", "FILTERS", "TITLE", "VERSION", "PYTABLES_FORMAT_VERSION", "FLAVOR"}
)


def _attrs(node: Any) -> dict[str, Any]:
    return {str(k): json_safe(v) for k, v in node.attrs.items() if k not in _PYTABLES_ATTRS}


def _open(path: str) -> Any:
    handle = import_h5py("Reading an OpenMatrix file", extra="openmatrix").File(path, "r")
    if "data" not in handle:
        handle.close()
        raise ConfigError(
            f"{path!r} is not an OpenMatrix file: it has no /data group.",
            fix="Log it with log_artifact (driver='h5') or write it with the openmatrix package.",
            parameter="path",
        )
    return handle


def read_metadata(path: str) -> dict[str, Any]:
    """Matrices, zones, lookups and attributes of the OMX file at ``path``."""
    with _open(path) as handle:
        matrices = {
            str(name): {
                "shape": [int(n) for n in node.shape],
                "dtype": str(node.dtype),
                "attrs": _attrs(node),
            }
            for name, node in handle["data"].items()
        }
        lookup = handle.get("lookup")
        lookups = {
            str(name): {"length": int(node.shape[0]) if node.shape else 0, "dtype": str(node.dtype)}
            for name, node in (lookup.items() if lookup is not None else ())
        }
        attributes = _attrs(handle)
    shape = attributes.pop("SHAPE", None)
    if shape is None and matrices:
        shape = next(iter(matrices.values()))["shape"]
    version = attributes.pop("OMX_VERSION", None)
    return {
        "omx_version": version,
        "shape": shape,
        "zones": shape[0] if shape else None,
        "matrices": matrices,
        "lookups": lookups,
        "attributes": attributes,
    }


def load_matrices(path: str, matrices: list[str] | None = None) -> Any:
    """The OMX file as an ``xarray.Dataset`` over ``("origin", "destination")``."""
    xarray = import_xarray("Loading an OpenMatrix file", extra="openmatrix")
    with _open(path) as handle:
        names = sorted(handle["data"]) if matrices is None else list(matrices)
        unknown = [name for name in names if name not in handle["data"]]
        if unknown:
            raise ConfigError(
                f"matrices={unknown!r} are not in {path!r}.",
                fix=f"Use some of: {', '.join(sorted(handle['data']))}.",
                parameter="matrices",
            )
        data = {name: (("origin", "destination"), handle["data"][name][()]) for name in names}
        rows = next(iter(data.values()))[1].shape if data else (0, 0)
        lookup = handle.get("lookup")
        zones = None
        for name in sorted(lookup) if lookup is not None else ():
            values = lookup[name][()]
            if values.ndim == 1 and values.shape[0] == rows[0] == rows[1]:
                zones = values
                break
        attributes = _attrs(handle)
    coords = {"origin": zones, "destination": zones} if zones is not None else None
    return xarray.Dataset(data, coords=coords, attrs=attributes)
