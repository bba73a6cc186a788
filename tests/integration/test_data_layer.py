"""The data layer through the Tracker: log_dataframe, load / load_df, HDF5 containers,
NetCDF / OpenMatrix logging and their metadata views, spatial metadata, load_matrix."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import consist
from consist import ConfigError, MissingDependencyError, QueryError, Tracker
from consist.errors import RunStateError

FRAME = pd.DataFrame({"zone": [1, 2, 3], "trips": [5, 7, 11]})


# --- log_dataframe / load / load_df ---------------------------------------------------


@pytest.mark.parametrize("driver", ["parquet", "csv", "feather", "json"])
def test_log_dataframe_writes_logs_and_loads_back(tracker: Tracker, driver: str) -> None:
    with tracker.start_run("write", model="m"):
        art = consist.log_dataframe(FRAME, "trips", driver=driver)
        assert art.driver == driver
        assert art.path.name == f"trips.{'feather' if driver == 'feather' else driver}"
        assert art.path.is_file() and art.hash
        relation = consist.load(art)
        assert relation.aggregate("sum(trips)").fetchall() == [(23,)]
    record = tracker.get_run_record(tracker.last_run.run.id)
    stored = record.outputs_by_key()["trips"]
    assert stored.hash == art.hash and stored.driver == driver
    # Loaded again later, through the tracker and the module helper, from the record.
    pd.testing.assert_frame_equal(consist.load_df(stored, tracker=tracker), FRAME)
    assert tracker.load(stored).aggregate("count(*)").fetchall() == [(3,)]


def test_log_dataframe_default_driver_path_options_and_profile(
    tracker: Tracker, tmp_path: Path
) -> None:
    with tracker.start_run("write", model="m"):
        default = tracker.log_dataframe(FRAME, "a")
        placed = tracker.log_dataframe(FRAME, "b", path=tmp_path / "out" / "b.csv", sep=";")
        profiled = tracker.log_dataframe(
            FRAME, "c", profile_file_schema=True, file_schema_sample_rows=2, meta={"note": 1}
        )
        series = tracker.log_dataframe(FRAME["trips"], "d", driver="csv")
        inp = tracker.log_dataframe(FRAME, "e", direction="input", driver="csv")
    assert default.driver == "parquet"
    assert placed.driver == "csv" and placed.path == tmp_path / "out" / "b.csv"
    assert placed.path.read_text().splitlines()[0] == "zone;trips"
    assert profiled.meta["note"] == 1
    assert profiled.meta["file_schema"] == {
        "columns": {"zone": "int64", "trips": "int64"},
        "sampled_rows": 2,
    }
    assert consist.load_df(series)["trips"].tolist() == [5, 7, 11]
    assert "e" in tracker.get_run_inputs(tracker.last_run.run.id)
    assert inp.driver == "csv"


def test_log_dataframe_refuses_bad_input(tracker: Tracker) -> None:
    with pytest.raises(RunStateError):
        tracker.log_dataframe(FRAME, "x")
    with tracker.start_run("bad", model="m"):
        with pytest.raises(ConfigError, match="driver='netcdf' cannot write") as info:
            tracker.log_dataframe(FRAME, "x", driver="netcdf")
        assert isinstance(info.value, ValueError)
        assert "parquet" in str(info.value)
        with pytest.raises(ConfigError, match="not a pandas DataFrame"):
            tracker.log_dataframe([1, 2], "x")
        if not hasattr(tracker, "ingest"):  # until ingestion lands, schema= is refused
            with pytest.raises(ConfigError, match="schema"):
                tracker.log_dataframe(FRAME, "x", schema=object)


def test_dataframe_returned_by_a_step_loads_as_a_relation(tracker: Tracker) -> None:
    def step() -> pd.DataFrame:
        return FRAME

    result = tracker.run(fn=step, outputs=["table"])
    assert consist.load(result.outputs["table"], tracker).aggregate("max(trips)").fetchall() == [
        (11,)
    ]


def test_consist_load_without_a_tracker_takes_a_path(tmp_path: Path) -> None:
    FRAME.to_parquet(tmp_path / "t.parquet")
    assert consist.load(tmp_path / "t.parquet").aggregate("sum(zone)").fetchall() == [(6,)]
    pd.testing.assert_frame_equal(consist.load_df(str(tmp_path / "t.parquet")), FRAME)
    with pytest.raises(ConfigError, match="is not an Artifact or a path"):
        consist.load(42)


# --- HDF5 containers ------------------------------------------------------------------


def _h5(path: Path) -> Path:
    FRAME.to_hdf(path, key="households", format="table")
    (FRAME * 2).to_hdf(path, key="y2025/persons", format="table")
    with h5py.File(path, "a") as handle:
        handle["y2025/skims"] = np.arange(4.0).reshape(2, 2)
    return path


def test_log_h5_container_discovers_tables_as_children(tracker: Tracker, tmp_path: Path) -> None:
    path = _h5(tmp_path / "data.h5")
    with tracker.start_run("h5", model="m"):
        container, tables = tracker.log_h5_container(path, key="urbansim")
    assert container.driver == "h5" and container.key == "urbansim"
    assert container.meta["h5_tables"] == ["/households", "/y2025/persons", "/y2025/skims"]
    assert [t.key for t in tables] == [
        "urbansim/households",
        "urbansim/y2025/persons",
        "urbansim/y2025/skims",
    ]
    assert {t.driver for t in tables} == {"h5_table"}
    assert all(t.meta["parent_artifact_id"] == container.id for t in tables)
    assert len({t.hash for t in tables} | {container.hash}) == 4
    outputs = tracker.get_run_outputs(tracker.last_run.run.id)
    assert set(outputs) == {"urbansim", *(t.key for t in tables)}
    loaded = consist.load(outputs["urbansim/households"], tracker=tracker)
    pd.testing.assert_frame_equal(loaded, FRAME)
    with consist.load(outputs["urbansim"], tracker=tracker) as handle:
        assert "households" in handle


def test_log_h5_container_filters_and_hash_modes(tracker: Tracker, tmp_path: Path) -> None:
    path = _h5(tmp_path / "data.h5")
    with tracker.start_run("h5", model="m"):
        _, listed = tracker.log_h5_container(path, key="a", table_filter=["households"])
        _, called = tracker.log_h5_container(
            path, key="b", table_filter=lambda name: name.startswith("/y2025/")
        )
        _, always = tracker.log_h5_container(path, key="c", hash_tables="always")
        container, never = tracker.log_h5_container(path, key="d", hash_tables="never")
        bare, none = tracker.log_h5_container(path, key="e", discover_tables=False)
        with pytest.raises(ConfigError, match="hash_tables"):
            tracker.log_h5_container(path, key="f", hash_tables="sometimes")
    assert [t.meta["table_path"] for t in listed] == ["/households"]
    assert [t.meta["table_path"] for t in called] == ["/y2025/persons", "/y2025/skims"]
    memo = {t.meta["table_path"]: t.hash for t in listed + called}
    assert {t.meta["table_path"]: t.hash for t in always} == memo
    assert {t.hash for t in never} == {container.hash}
    assert none == [] and "h5_tables" not in bare.meta


def test_a_changed_table_changes_only_its_own_hash(tracker: Tracker, tmp_path: Path) -> None:
    path = _h5(tmp_path / "data.h5")
    with tracker.start_run("v1", model="m"):
        first, before = tracker.log_h5_container(path, key="d")
    with h5py.File(path, "a") as handle:
        handle["y2025/skims"][0, 0] = 42.0
    with tracker.start_run("v2", model="m"):
        second, after = tracker.log_h5_container(path, key="d")
    assert first.hash != second.hash
    changed = [b.key for b, a in zip(before, after, strict=True) if b.hash != a.hash]
    assert changed == ["d/y2025/skims"]


def test_log_h5_table_alone_with_parent_and_profile(tracker: Tracker, tmp_path: Path) -> None:
    path = _h5(tmp_path / "data.h5")
    with tracker.start_run("h5", model="m"):
        parent = tracker.log_artifact(path, key="container")
        table = tracker.log_h5_table(
            path,
            table_path="/y2025/persons",
            parent=parent,
            profile_file_schema=True,
            file_schema_sample_rows=2,
        )
        with pytest.raises(ConfigError, match="table_path='/nope'"):
            tracker.log_h5_table(path, table_path="/nope")
    assert table.key == "persons" and table.driver == "h5_table"
    assert table.meta["parent_key"] == "container" and table.meta["rows"] == 3
    assert table.meta["file_schema"]["columns"] == {"zone": "int64", "trips": "int64"}
    assert table.meta["file_schema"]["sampled_rows"] == 2
    pd.testing.assert_frame_equal(consist.load_df(table), FRAME * 2)


def test_h5_tables_as_inputs_keep_distinct_ids_and_hashes(tracker: Tracker, tmp_path: Path) -> None:
    path = _h5(tmp_path / "data.h5")
    with tracker.start_run("reader", model="m"):
        container, tables = tracker.log_h5_container(path, key="src", direction="input")
    inputs = tracker.get_run_inputs(tracker.last_run.run.id)
    assert set(inputs) == {"src", *(t.key for t in tables)}
    assert len({a.id for a in inputs.values()}) == 4
    assert len({a.hash for a in inputs.values()}) == 4
    assert {inputs[t.key].driver for t in tables} == {"h5_table"}


def test_a_container_output_still_links_downstream_runs(tracker: Tracker, tmp_path: Path) -> None:
    # The tables share the container's path; the container's own record must stay the
    # producer of that path, so a later run reading the file links to this run.
    def make() -> None:
        path = _h5(Path("data.h5"))
        consist.current_tracker().log_h5_container(path, key="data")

    made = tracker.run(fn=make)
    produced = tracker.get_run_outputs(made.run.id)["data"]

    def use(data: Path) -> None:
        pass

    used = tracker.run(fn=use, inputs={"data": Path("data.h5")})
    linked = tracker.get_run_inputs(used.run.id)["data"]
    assert linked.hash == produced.hash
    assert linked.producer_signature == made.run.signature


# --- NetCDF / OpenMatrix / spatial views -----------------------------------------------


def _grid(offset: float = 0.0) -> xr.Dataset:
    return xr.Dataset(
        {"flow": (("origin", "destination"), np.arange(4.0).reshape(2, 2) + offset)},
        coords={"origin": [1, 2], "destination": [1, 2]},
        attrs={"scenario": "base"},
    )


def test_log_netcdf_file_records_structure_and_the_view_reads_it(
    tracker: Tracker, tmp_path: Path
) -> None:
    path = tmp_path / "grid.nc"
    _grid().to_netcdf(path, engine="h5netcdf")
    with tracker.start_run("nc", model="m"):
        art = tracker.log_netcdf_file(path, key="grid", units="veh")
    assert art.driver == "netcdf" and art.meta["units"] == "veh"
    assert art.meta["netcdf"]["dimensions"] == {"origin": 2, "destination": 2}
    path.unlink()  # the view answers from the record, not the file
    view = tracker.netcdf_metadata("grid")
    assert view.get_dimensions() == {"origin": 2, "destination": 2}
    assert view.get_variables()["flow"]["dims"] == ["origin", "destination"]
    assert set(view.get_coordinates()) == {"origin", "destination"}
    assert view.get_attributes() == {"scenario": "base"}
    assert view.run_ids() == [tracker.last_run.run.id]
    with pytest.raises(QueryError, match="run_id='nope'"):
        view.get_dimensions(run_id="nope")
    with pytest.raises(QueryError, match="No run recorded"):
        tracker.netcdf_metadata("absent")


def test_netcdf_view_inspects_a_plainly_logged_file(tracker: Tracker, tmp_path: Path) -> None:
    with tracker.start_run("a", model="m"):
        _grid().to_netcdf(tmp_path / "g1.nc", engine="h5netcdf")
        tracker.log_artifact(tmp_path / "g1.nc", key="g")
    first = tracker.last_run.run.id
    with tracker.start_run("b", model="m"):
        _grid().isel(origin=[0]).to_netcdf(tmp_path / "g2.nc", engine="h5netcdf")
        tracker.log_artifact(tmp_path / "g2.nc", key="g")
    view = tracker.netcdf_metadata("g")
    assert view.get_dimensions() == {"origin": 1, "destination": 2}  # newest first
    assert view.get_dimensions(run_id=first) == {"origin": 2, "destination": 2}


def test_log_openmatrix_file_and_view(tracker: Tracker, tmp_path: Path) -> None:
    import openmatrix as omx

    path = tmp_path / "skims.omx"
    handle = omx.open_file(str(path), "w")
    handle["dist"] = np.arange(9.0).reshape(3, 3)
    handle.create_mapping("taz", [101, 102, 103])
    handle.close()
    with tracker.start_run("omx", model="m"):
        art = tracker.log_openmatrix_file(path, key="skims")
    assert art.driver == "omx"
    view = tracker.openmatrix_metadata("skims")
    assert view.get_zones() == 3 and view.get_shape() == [3, 3]
    assert list(view.get_matrices()) == ["dist"]
    assert view.get_lookups() == {"taz": {"length": 3, "dtype": "uint32"}}
    loaded = consist.load(art)
    assert list(loaded["origin"].values) == [101, 102, 103]


def test_log_netcdf_file_without_the_extra_logs_nothing(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "grid.nc"
    _grid().to_netcdf(path, engine="h5netcdf")
    monkeypatch.setitem(sys.modules, "xarray", None)
    with tracker.start_run("nc", model="m"):
        with pytest.raises(MissingDependencyError, match=r"pip install 'consist\[netcdf\]'"):
            tracker.log_netcdf_file(path, key="grid")
    assert tracker.get_run_outputs(tracker.last_run.run.id) == {}


def test_spatial_metadata_of_a_logged_geopackage(tracker: Tracker, tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"name": ["a", "b"]}, geometry=[Point(0, 0), Point(2, 1)], crs="EPSG:4326"
    )
    frame.to_file(tmp_path / "stops.gpkg", layer="stops", driver="GPKG")
    with tracker.start_run("geo", model="m"):
        art = tracker.log_artifact(tmp_path / "stops.gpkg", key="stops")
    assert art.driver == "geopackage"
    view = tracker.spatial_metadata("stops")
    assert view.get_layers() == ["stops"]
    assert view.get_crs() == "EPSG:4326"
    assert view.get_geometry_type() == "Point"
    assert view.get_feature_count() == 2
    assert view.get_bounds() == [0.0, 0.0, 2.0, 1.0]
    assert view.get_columns() == {"name": "object"}
    assert list(consist.load(art)["name"]) == ["a", "b"]


# --- load_matrix -----------------------------------------------------------------------


def test_load_matrix_concatenates_zarr_outputs_along_run_id(tracker: Tracker) -> None:
    def skims(config: dict[str, float]) -> Path:
        offset = config["offset"]
        out = consist.output_path("skims", ext="zarr")
        _grid(offset).assign(time=_grid(offset)["flow"] * 2).to_zarr(out)
        return out

    ids = []
    for year, offset in [(2020, 0.0), (2030, 10.0), (2040, 20.0)]:
        result = tracker.run(
            fn=skims, name="assign", config={"offset": offset}, year=year, iteration=1,
            outputs=["skims"],
        )  # fmt: skip
        assert result.outputs["skims"].driver == "zarr"
        ids.append(result.run.id)

    matrix = tracker.load_matrix("skims", ["flow"])
    assert isinstance(matrix, xr.Dataset) and list(matrix.data_vars) == ["flow"]
    assert list(matrix["run_id"].values) == ids
    assert list(matrix["year"].values) == [2020, 2030, 2040]
    assert list(matrix["iteration"].values) == [1, 1, 1]
    totals = matrix["flow"].sum(dim=["origin", "destination"]).values.tolist()
    assert totals == [6.0, 46.0, 86.0]

    picked = tracker.load_matrix("skims", run_ids=[ids[2], ids[0]])
    assert list(picked["run_id"].values) == [ids[2], ids[0]]
    assert set(picked.data_vars) == {"flow", "time"}
    with pytest.raises(QueryError, match="Zarr artifact with key 'nothing'"):
        tracker.load_matrix("nothing")
    with pytest.raises(ConfigError, match="run_ids"):
        tracker.load_matrix("skims", run_ids=ids[0])  # type: ignore[arg-type]


def test_load_matrix_filters_by_model(tracker: Tracker) -> None:
    for model in ("a", "b"):
        with tracker.start_run(f"r-{model}", model=model, year=2020):
            out = tracker.run_dir / f"{model}.zarr"
            _grid().to_zarr(out)
            tracker.log_artifact(out, key="m")
    only_b = tracker.load_matrix("m", model="b")
    assert only_b.sizes["run_id"] == 1
    assert tracker.get_run(str(only_b["run_id"].values[0])).model_name == "b"
