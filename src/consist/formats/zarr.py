"""Zarr stores (directories such as ``skims.zarr``) through xarray, and matrices across runs.

Rules:
- ``load_store`` opens the store lazily with ``xarray.open_zarr``; keyword options go to
  xarray. It needs the ``zarr`` extra (zarr + xarray).
- ``read_metadata`` describes the store like a NetCDF file (``netcdf.describe_dataset``).
- ``concat_runs`` builds the result of ``load_matrix``: each run's store, reduced to the
  requested variables, gains a leading ``run_id`` dimension; the stores are concatenated
  along it in the order given, with ``year`` and ``iteration`` coordinates on ``run_id``
  (``None`` where a run has none). Variables missing from a store are a ConfigError naming
  the store and the variables it has. Values stay lazy (dask-free xarray reads on access).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consist._libs.extras import import_xarray, import_zarr
from consist.errors import ConfigError
from consist.formats.netcdf import describe_dataset


def load_store(path: str, **options: Any) -> Any:
    """The Zarr store at ``path`` as a lazily loaded ``xarray.Dataset``."""
    xarray = import_xarray("Loading a Zarr store", extra="zarr")
    import_zarr()
    return xarray.open_zarr(path, **options)


def read_metadata(path: str) -> dict[str, Any]:
    """The structure of the Zarr store at ``path`` (no values are read)."""
    with load_store(path) as dataset:
        return describe_dataset(dataset)


@dataclass(frozen=True, slots=True)
class RunStore:
    """One run's Zarr output: where it is and the run coordinates it gets."""

    run_id: str
    path: str
    year: int | None = None
    iteration: int | None = None


def concat_runs(stores: Sequence[RunStore], variables: Sequence[str] | None = None) -> Any:
    """One ``xarray.Dataset`` over every store, concatenated along ``run_id``."""
    xarray = import_xarray("load_matrix", extra="zarr")
    parts = []
    for store in stores:
        dataset = load_store(store.path)
        if variables is not None:
            missing = [name for name in variables if name not in dataset.data_vars]
            if missing:
                raise ConfigError(
                    f"variables={list(variables)!r}: {missing!r} are not in the Zarr store "
                    f"{store.path!r} of run {store.run_id!r}.",
                    fix=f"Use some of: {', '.join(sorted(map(str, dataset.data_vars)))}.",
                    parameter="variables",
                )
            dataset = dataset[list(variables)]
        parts.append(dataset.expand_dims(run_id=[store.run_id]))
    combined = xarray.concat(parts, dim="run_id", join="outer")
    return combined.assign_coords(
        year=("run_id", [s.year for s in stores]),
        iteration=("run_id", [s.iteration for s in stores]),
    )
