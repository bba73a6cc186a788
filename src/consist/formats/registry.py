"""File formats in one place: which driver a path has, and how a table is read or written.

Rules:
- A driver has a name, the suffixes it claims and, for tables, optional ``read``/``write``
  callables. A suffix belongs to at most one driver; a name is registered once.
- The driver of a path comes from its last suffix, lower-cased, after compression suffixes
  (``.gz``, ``.bz2``, ``.zst``, ``.xz``) are stripped: ``data.CSV.gz`` → ``"csv"``.
- A suffix no driver claims names itself (``notes.txt`` → ``"txt"``), so an artifact record
  keeps its format name even when Consist cannot load it; a path without a suffix has no
  driver (``None``).
- Looking a driver up by an unknown name is an ``InvalidOptionError`` listing the known ones.
- A DataFrame or Series returned by user code is written as parquet when pyarrow is
  installed, else as csv; a Series becomes a one-column frame first.
- Beyond ``read`` (→ pandas DataFrame) a driver may ``load`` its *natural* object (a DuckDB
  relation for tables, an ``xarray.Dataset`` for NetCDF / Zarr / OMX, a GeoDataFrame for
  spatial files, an ``h5py.File`` for an HDF5 container) and ``describe`` a file's structure
  as JSON-safe metadata. Drivers of optional formats import their library only when used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from consist._libs.pandas import is_pandas_series
from consist._libs.pyarrow import pyarrow_available
from consist.errors import ConfigError, invalid_option
from consist.formats import relation, tabular

TableReader = Callable[..., Any]
TableWriter = Callable[..., None]
Loader = Callable[..., Any]
Describer = Callable[[str], dict[str, Any]]

COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".xz")


@dataclass(frozen=True, slots=True)
class Driver:
    """One file format.

    Attributes
    ----------
    name: the name recorded on artifacts (``Artifact.driver``).
    suffixes: suffixes it claims, lower-case with the dot; the first is used when writing.
    read: (path, **options) → DataFrame, for formats that load as a table.
    write: (DataFrame, path, **options) → None, for formats Consist can write a table to.
    load: (path, **options) → the format's natural object; ``read`` when not given.
    describe: path → JSON-safe structure metadata (variables, matrices, layers...).
    """

    name: str
    suffixes: tuple[str, ...]
    read: TableReader | None = None
    write: TableWriter | None = None
    load: Loader | None = None
    describe: Describer | None = None


class DriverRegistry:
    """Drivers by name and by suffix."""

    def __init__(self, drivers: Iterable[Driver] = ()) -> None:
        self._by_name: dict[str, Driver] = {}
        self._by_suffix: dict[str, Driver] = {}
        for driver in drivers:
            self.register(driver)

    def register(self, driver: Driver) -> None:
        """Add ``driver``; its name and suffixes must not be taken yet."""
        name = driver.name
        if not isinstance(name, str) or not name or name != name.lower() or "." in name:
            raise ConfigError(
                f"name={name!r} is not a valid driver name.",
                fix="Use a non-empty lower-case name without dots, e.g. 'feather'.",
                parameter="name",
            )
        if name in self._by_name:
            raise ConfigError(
                f"name={name!r}: a driver of that name is already registered.",
                fix="Pick another name for the new driver.",
                parameter="name",
            )
        if not driver.suffixes:
            raise ConfigError(
                f"suffixes=() for driver {name!r}: a driver needs at least one suffix.",
                fix="Pass suffixes=('.ext',).",
                parameter="suffixes",
            )
        for suffix in driver.suffixes:
            self._check_suffix(name, suffix)
        self._by_name[name] = driver
        for suffix in driver.suffixes:
            self._by_suffix[suffix] = driver

    def _check_suffix(self, name: str, suffix: str) -> None:
        valid = (
            isinstance(suffix, str)
            and len(suffix) > 1
            and suffix.startswith(".")
            and suffix == suffix.lower()
            and "." not in suffix[1:]
            and "/" not in suffix
        )
        if not valid or suffix in COMPRESSED_SUFFIXES:
            raise ConfigError(
                f"suffixes has {suffix!r} for driver {name!r}, which is not a plain "
                "lower-case suffix (compression suffixes are stripped before lookup).",
                fix="Pass suffixes like ('.feather',).",
                parameter="suffixes",
            )
        owner = self._by_suffix.get(suffix)
        if owner is not None:
            raise ConfigError(
                f"suffixes has {suffix!r} for driver {name!r}, but driver "
                f"{owner.name!r} already claims it.",
                fix="Drop the suffix from the new driver.",
                parameter="suffixes",
            )

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def find(self, name: str) -> Driver | None:
        """The driver called ``name``, or ``None``."""
        return self._by_name.get(name)

    def get(self, name: str) -> Driver:
        """The driver called ``name``; an unknown name lists the known ones."""
        driver = self._by_name.get(name)
        if driver is None:
            raise invalid_option("driver", name, self.names())
        return driver

    def for_path(self, path: str | os.PathLike[str]) -> Driver | None:
        """The registered driver claiming the suffix of ``path``, if any."""
        suffix = _suffix(os.fspath(path))
        return None if suffix is None else self._by_suffix.get(suffix)

    def name_for_path(self, path: str | os.PathLike[str]) -> str | None:
        """The driver name of ``path``: a registered driver's name, else the bare suffix."""
        # Called for every artifact logged, so the suffix logic is inlined here.
        name = (path if type(path) is str else os.fspath(path)).rsplit("/", 1)[-1].lower()
        if name.endswith(COMPRESSED_SUFFIXES):
            name = _strip_compression(name)
        extension = name.rpartition(".")[2] if "." in name else ""
        if not extension:
            return None
        driver = self._by_suffix.get("." + extension)
        return driver.name if driver is not None else extension


def _strip_compression(name: str) -> str:
    for compressed in COMPRESSED_SUFFIXES:
        if name.endswith(compressed):
            name = name[: -len(compressed)]
    return name


def _suffix(path: str) -> str | None:
    """Last suffix of the file name with its dot, after compression suffixes are stripped."""
    name = _strip_compression(path.rsplit("/", 1)[-1].lower())
    if "." not in name:
        return None
    last = name.rsplit(".", 1)[-1]
    return "." + last if last else None


def _deferred(module: str, name: str) -> Callable[..., Any]:
    """``consist.formats.<module>.<name>``, imported at its first call: the modules of
    optional formats (HDF5, NetCDF, OMX, Zarr, spatial) cost nothing at import time."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(f"consist.formats.{module}"), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"consist.formats.{module}.{name}, imported at its first call."
    return call


DRIVERS = DriverRegistry(
    [
        Driver("csv", (".csv",), tabular.read_csv, tabular.write_csv, relation.load_csv),
        Driver("tsv", (".tsv",), tabular.read_tsv, tabular.write_tsv, relation.load_tsv),
        Driver(
            "parquet",
            (".parquet",),
            tabular.read_parquet,
            tabular.write_parquet,
            relation.load_parquet,
        ),
        Driver(
            "json",
            (".json",),
            tabular.read_json,
            tabular.write_json,
            relation.via_pandas(tabular.read_json),
        ),
        Driver(
            "feather",
            (".feather", ".arrow"),
            tabular.read_feather,
            tabular.write_feather,
            relation.via_pandas(tabular.read_feather),
        ),
        Driver("h5", (".h5", ".hdf5", ".hdf"), load=_deferred("h5", "open_container")),
        Driver(
            "netcdf",
            (".nc", ".nc4", ".netcdf", ".cdf"),
            load=_deferred("netcdf", "load_dataset"),
            describe=_deferred("netcdf", "read_metadata"),
        ),
        Driver(
            "omx",
            (".omx",),
            load=_deferred("openmatrix", "load_matrices"),
            describe=_deferred("openmatrix", "read_metadata"),
        ),
        Driver(
            "zarr",
            (".zarr",),
            load=_deferred("zarr", "load_store"),
            describe=_deferred("zarr", "read_metadata"),
        ),
        Driver(
            "geojson",
            (".geojson",),
            _deferred("spatial", "load_frame"),
            describe=_deferred("spatial", "read_metadata"),
        ),
        Driver(
            "geopackage",
            (".gpkg",),
            _deferred("spatial", "load_frame"),
            describe=_deferred("spatial", "read_metadata"),
        ),
        Driver(
            "shapefile",
            (".shp",),
            _deferred("spatial", "load_frame"),
            describe=_deferred("spatial", "read_metadata"),
        ),
    ]
)
"""The process-wide registry every caller uses."""


def register_driver(driver: Driver) -> None:
    """Add a driver to the process-wide registry (see ``DriverRegistry.register``)."""
    DRIVERS.register(driver)


def get_driver(name: str) -> Driver:
    """The driver called ``name``; ``InvalidOptionError`` lists the known names."""
    return DRIVERS.get(name)


def driver_for_path(path: str | os.PathLike[str]) -> str | None:
    """Driver name of ``path`` (``data.csv.gz`` → ``"csv"``, ``notes.txt`` → ``"txt"``)."""
    return DRIVERS.name_for_path(path)


def is_tabular(driver: str | None) -> bool:
    """True when ``driver`` names a registered driver that reads tables."""
    found = DRIVERS.find(driver) if driver is not None else None
    return found is not None and found.read is not None


def read_table(path: str | os.PathLike[str], driver: str | None = None) -> Any:
    """Load ``path`` as a DataFrame with ``driver`` (default: the driver of its suffix)."""
    name = driver if driver is not None else driver_for_path(path)
    found = DRIVERS.find(name) if name is not None else None
    if found is None or found.read is None:
        readable = [n for n in DRIVERS.names() if DRIVERS.get(n).read is not None]
        raise ConfigError(
            f"driver={name!r} cannot load {os.fspath(path)!r} as a table.",
            fix=f"Use a file of a tabular format ({', '.join(readable)}) or load it yourself.",
            parameter="driver",
        )
    return found.read(os.fspath(path))


def default_table_driver() -> str:
    """The format DataFrame returns are written in: parquet with pyarrow, else csv."""
    return "parquet" if pyarrow_available() else "csv"


def write_table(
    value: Any, path_without_suffix: str, driver: str | None = None, **options: Any
) -> str:
    """Write a DataFrame/Series to ``path_without_suffix`` + the driver's suffix; return it."""
    found = get_driver(driver if driver is not None else default_table_driver())
    if found.write is None:
        writable = [n for n in DRIVERS.names() if DRIVERS.get(n).write is not None]
        raise ConfigError(
            f"driver={found.name!r} cannot write tables.",
            fix=f"Use one of: {', '.join(writable)}.",
            parameter="driver",
        )
    frame = value.to_frame() if is_pandas_series(value) else value
    path = path_without_suffix + found.suffixes[0]
    found.write(frame, path, **options)
    return path
