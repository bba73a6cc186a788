"""Every format Consist knows, on small real files the tests write: driver, load, DataFrame,
structure metadata, and the error a missing extra gives."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from consist.errors import ConfigError, MissingDependencyError, MissingInputError
from consist.formats import h5, netcdf, openmatrix, spatial, zarr
from consist.formats.load import load_frame, load_path
from consist.formats.registry import driver_for_path

FRAME = pd.DataFrame({"zone": [1, 2, 3], "name": ["a", "b", "c"], "pop": [10.5, 20.0, 30.25]})


def _grid() -> xr.Dataset:
    return xr.Dataset(
        {"temp": (("time", "x"), np.arange(6.0).reshape(2, 3), {"units": "K"})},
        coords={"time": [0, 1], "x": [10, 20, 30]},
        attrs={"title": "test grid", "version": np.int32(3)},
    )


# --- tables --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("t.csv", lambda p: FRAME.to_csv(p, index=False)),
        ("t.tsv", lambda p: FRAME.to_csv(p, sep="\t", index=False)),
        ("t.csv.gz", lambda p: FRAME.to_csv(p, index=False)),
        ("t.csv.bz2", lambda p: FRAME.to_csv(p, index=False)),
        ("t.parquet", lambda p: FRAME.to_parquet(p)),
        ("t.json", lambda p: FRAME.to_json(p)),
        ("t.feather", lambda p: FRAME.to_feather(p)),
        ("t.arrow", lambda p: FRAME.to_feather(p)),
    ],
)
def test_tables_load_as_duckdb_relations_and_frames(tmp_path: Path, name: str, write) -> None:
    path = tmp_path / name
    write(path)
    relation = load_path(str(path))
    assert type(relation).__name__ == "DuckDBPyRelation"
    assert relation.aggregate("sum(pop), count(*)").fetchall() == [(60.75, 3)]
    assert sorted(relation.columns) == ["name", "pop", "zone"]
    frame = load_frame(str(path))
    assert frame["pop"].sum() == 60.75
    assert list(frame["name"]) == ["a", "b", "c"]


def test_options_reach_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("zone;pop\n1;2\n")
    assert load_frame(str(path), sep=";").to_dict("list") == {"zone": [1], "pop": [2]}
    assert load_path(str(path), sep=";").fetchall() == [(1, 2)]


def test_a_missing_file_and_an_unloadable_driver_are_clear(tmp_path: Path) -> None:
    with pytest.raises(MissingInputError, match="does not exist"):
        load_path(str(tmp_path / "gone.parquet"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConfigError, match="driver='txt' cannot load") as info:
        load_path(str(tmp_path / "notes.txt"))
    assert "h5_table" in str(info.value) and "netcdf" in str(info.value)


@pytest.mark.parametrize(
    ("path", "driver"),
    [
        ("a.feather", "feather"),
        ("a.arrow", "feather"),
        ("a.h5", "h5"),
        ("a.hdf5", "h5"),
        ("a.nc", "netcdf"),
        ("a.omx", "omx"),
        ("skims.zarr", "zarr"),
        ("a.geojson", "geojson"),
        ("a.gpkg", "geopackage"),
        ("a.shp", "shapefile"),
    ],
)
def test_new_formats_are_inferred_from_the_suffix(path: str, driver: str) -> None:
    assert driver_for_path(path) == driver


# --- HDF5 ----------------------------------------------------------------------------


def _h5(path: Path) -> Path:
    FRAME.to_hdf(path, key="households", format="table")
    FRAME.to_hdf(path, key="y2025/persons", format="fixed")
    with h5py.File(path, "a") as handle:
        handle["skims/dist"] = np.arange(6.0).reshape(2, 3)
        handle["records"] = np.array([(1, 2.5), (3, 4.5)], dtype=[("i", "i4"), ("f", "f8")])
        handle["cube"] = np.zeros((2, 2, 2))
    return path


def test_h5_tables_are_discovered_in_file_order(tmp_path: Path) -> None:
    tables = h5.list_tables(str(_h5(tmp_path / "d.h5")))
    assert [(t.path, t.kind, t.rows) for t in tables] == [
        ("/cube", "dataset", 2),
        ("/households", "pandas", 3),
        ("/records", "dataset", 2),
        ("/skims/dist", "dataset", 2),
        ("/y2025/persons", "pandas", 3),
    ]
    assert tables[1].pandas_type == "frame_table"


def test_h5_table_filter_by_list_or_callable(tmp_path: Path) -> None:
    tables = h5.list_tables(str(_h5(tmp_path / "d.h5")))
    picked = h5.select_tables(tables, ["households", "/y2025/persons"])
    assert [t.path for t in picked] == ["/households", "/y2025/persons"]
    assert [t.path for t in h5.select_tables(tables, lambda n: n.startswith("/y2025/"))] == [
        "/y2025/persons"
    ]
    with pytest.raises(ConfigError, match="table_filter"):
        h5.select_tables(tables, "households")


def test_h5_tables_read_as_frames(tmp_path: Path) -> None:
    path = str(_h5(tmp_path / "d.h5"))
    pd.testing.assert_frame_equal(h5.read_table(path, "/households"), FRAME)
    pd.testing.assert_frame_equal(h5.read_table(path, "/y2025/persons"), FRAME)
    assert h5.read_table(path, "/records").to_dict("list") == {"i": [1, 3], "f": [2.5, 4.5]}
    assert h5.read_table(path, "/skims/dist").shape == (2, 3)
    with pytest.raises(ConfigError, match="3-D dataset"):
        h5.read_table(path, "/cube")
    with pytest.raises(ConfigError, match="not a table") as info:
        h5.read_table(path, "/skims")
    assert "/households" in str(info.value)
    with h5.open_container(path) as handle:
        assert "households" in handle


def test_h5_table_hash_follows_the_table_values_only(tmp_path: Path) -> None:
    path = str(_h5(tmp_path / "d.h5"))
    before = {t.path: h5.hash_table(path, t.path) for t in h5.list_tables(path)}
    assert len(set(before.values())) == len(before)
    # The chunk size bounds memory; it does not change the digest.
    assert h5.hash_table(path, "/households", chunk_rows=1) == before["/households"]
    with h5py.File(path, "a") as handle:
        handle["skims/dist"][0, 0] = 99.0
    after = {t.path: h5.hash_table(path, t.path) for t in h5.list_tables(path)}
    assert after["/skims/dist"] != before["/skims/dist"]
    assert {k: v for k, v in after.items() if k != "/skims/dist"} == {
        k: v for k, v in before.items() if k != "/skims/dist"
    }
    with pytest.raises(ConfigError, match="table_hash_chunk_rows"):
        h5.hash_table(path, "/households", chunk_rows=0)


def test_h5_object_columns_hash_by_value(tmp_path: Path) -> None:
    # pandas' fixed format stores strings as pickled objects: equal frames, equal hashes.
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    FRAME.to_hdf(a, key="t", format="fixed")
    FRAME.copy().to_hdf(b, key="t", format="fixed")
    assert h5.hash_table(str(a), "/t") == h5.hash_table(str(b), "/t")
    FRAME.assign(name=["a", "b", "z"]).to_hdf(b, key="t", format="fixed")
    assert h5.hash_table(str(a), "/t") != h5.hash_table(str(b), "/t")


def test_load_path_of_h5_container_and_table(tmp_path: Path) -> None:
    path = str(_h5(tmp_path / "d.h5"))
    with load_path(path) as handle:
        assert sorted(handle) == ["cube", "households", "records", "skims", "y2025"]
    pd.testing.assert_frame_equal(load_path(path, "h5_table", table_path="/households"), FRAME)
    pd.testing.assert_frame_equal(load_frame(path, table_path="/households"), FRAME)
    with pytest.raises(ConfigError, match="needs table_path"):
        load_frame(path)


# --- NetCDF / Zarr / OpenMatrix --------------------------------------------------------


def test_netcdf_loads_as_xarray_and_describes_itself(tmp_path: Path) -> None:
    path = tmp_path / "g.nc"
    _grid().to_netcdf(path, engine="h5netcdf")
    with load_path(str(path)) as loaded:
        assert isinstance(loaded, xr.Dataset)
        assert float(loaded["temp"].sum()) == 15.0
    meta = netcdf.read_metadata(str(path))
    assert meta["dimensions"] == {"time": 2, "x": 3}
    assert meta["variables"]["temp"] == {
        "dims": ["time", "x"],
        "shape": [2, 3],
        "dtype": "float64",
        "attrs": {"units": "K"},
    }
    assert set(meta["coordinates"]) == {"time", "x"}
    assert meta["attributes"] == {"title": "test grid", "version": 3}
    frame = load_frame(str(path))
    assert len(frame) == 6 and frame["temp"].sum() == 15.0


def test_zarr_store_loads_and_describes_itself(tmp_path: Path) -> None:
    path = tmp_path / "g.zarr"
    _grid().to_zarr(path)
    loaded = load_path(str(path))
    assert isinstance(loaded, xr.Dataset)
    assert float(loaded["temp"].sum()) == 15.0
    assert zarr.read_metadata(str(path))["dimensions"] == {"time": 2, "x": 3}


def _omx(path: Path) -> Path:
    import openmatrix as omx

    handle = omx.open_file(str(path), "w")
    handle["dist"] = np.arange(9.0).reshape(3, 3)
    handle["time"] = np.ones((3, 3))
    handle.create_mapping("taz", [10, 20, 30])
    handle.root._v_attrs["scenario"] = "base"
    handle.close()
    return path


def test_openmatrix_files_written_by_openmatrix_are_read(tmp_path: Path) -> None:
    path = str(_omx(tmp_path / "skims.omx"))
    meta = openmatrix.read_metadata(path)
    assert meta["omx_version"] == "0.2"
    assert meta["shape"] == [3, 3] and meta["zones"] == 3
    assert sorted(meta["matrices"]) == ["dist", "time"]
    assert meta["matrices"]["dist"]["shape"] == [3, 3]
    assert meta["lookups"] == {"taz": {"length": 3, "dtype": "uint32"}}
    assert meta["attributes"] == {"OMX_CREATED_WITH": "python omx 0.3.3", "scenario": "base"}
    loaded = load_path(path)
    assert list(loaded["origin"].values) == [10, 20, 30]
    assert float(loaded["dist"].sel(origin=20, destination=30)) == 5.0
    only = openmatrix.load_matrices(path, ["time"])
    assert list(only.data_vars) == ["time"]
    with pytest.raises(ConfigError, match="matrices"):
        openmatrix.load_matrices(path, ["nope"])


def test_a_plain_h5_file_is_not_taken_for_an_omx_file(tmp_path: Path) -> None:
    path = tmp_path / "x.omx"
    with h5py.File(path, "w") as handle:
        handle["a"] = [1]
    with pytest.raises(ConfigError, match="not an OpenMatrix file"):
        openmatrix.read_metadata(str(path))


def test_zarr_runs_concatenate_along_run_id(tmp_path: Path) -> None:
    stores = []
    for i, year in enumerate([2020, 2030]):
        path = tmp_path / f"r{i}.zarr"
        (_grid() + i).to_zarr(path)
        stores.append(zarr.RunStore(f"run{i}", str(path), year, i))
    combined = zarr.concat_runs(stores, ["temp"])
    assert list(combined["run_id"].values) == ["run0", "run1"]
    assert list(combined["year"].values) == [2020, 2030]
    assert float(combined["temp"].sel(run_id="run1").sum()) == 15.0 + 6
    with pytest.raises(ConfigError, match="not in the Zarr store"):
        zarr.concat_runs(stores, ["salinity"])


# --- spatial -------------------------------------------------------------------------


def _geo() -> object:
    import geopandas as gpd
    from shapely.geometry import Point

    return gpd.GeoDataFrame(
        {"name": ["a", "b", "c"], "size": [1, 2, 3]},
        geometry=[Point(0, 0), Point(1, 2), Point(3, 1)],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize(
    ("name", "driver"),
    [("p.geojson", "GeoJSON"), ("p.gpkg", "GPKG"), ("p.shp", "ESRI Shapefile")],
)
def test_spatial_files_load_and_describe_themselves(tmp_path: Path, name: str, driver: str) -> None:
    path = tmp_path / name
    _geo().to_file(path, driver=driver)  # type: ignore[attr-defined]
    loaded = load_path(str(path))
    assert type(loaded).__name__ == "GeoDataFrame"
    assert list(loaded["name"]) == ["a", "b", "c"]
    meta = spatial.read_metadata(str(path))
    assert meta["crs"] == "EPSG:4326"
    assert meta["geometry_type"] == "Point"
    assert meta["feature_count"] == 3
    assert meta["bounds"] == [0.0, 0.0, 3.0, 2.0]
    assert set(meta["columns"]) == {"name", "size"}
    assert meta["driver"] == driver and len(meta["layers"]) == 1


# --- missing extras ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocked", "call", "extra"),
    [
        ("h5py", lambda p: h5.list_tables(str(p)), "hdf5"),
        ("xarray", lambda p: netcdf.load_dataset(str(p)), "netcdf"),
        ("zarr", lambda p: zarr.load_store(str(p)), "zarr"),
        ("h5py", lambda p: openmatrix.read_metadata(str(p)), "openmatrix"),
        ("geopandas", lambda p: spatial.load_frame(str(p)), "spatial"),
        ("pyogrio", lambda p: spatial.read_metadata(str(p)), "spatial"),
    ],
)
def test_a_missing_extra_names_the_pip_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocked: str, call, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, blocked, None)  # the import now fails as if absent
    with pytest.raises(MissingDependencyError) as info:
        call(tmp_path / "any")
    assert f"pip install 'consist[{extra}]'" in str(info.value)
    assert repr(blocked) in str(info.value)
    assert isinstance(info.value, ImportError)


def test_netcdf_without_any_engine_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h5netcdf", None)
    monkeypatch.setitem(sys.modules, "netCDF4", None)
    with pytest.raises(MissingDependencyError, match=r"consist\[netcdf\]"):
        netcdf.load_dataset("x.nc")
