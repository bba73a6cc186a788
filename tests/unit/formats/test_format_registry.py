"""The driver registry: suffix and name lookup, registration rules, table read/write."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from consist.errors import ConfigError, InvalidOptionError
from consist.formats import registry
from consist.formats.registry import (
    Driver,
    DriverRegistry,
    default_table_driver,
    driver_for_path,
    get_driver,
    is_tabular,
    read_table,
    write_table,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data.csv", "csv"),
        ("/a/b/data.parquet", "parquet"),
        ("DATA.CSV", "csv"),
        ("data.csv.gz", "csv"),
        ("data.tsv.bz2", "tsv"),
        ("data.json.zst", "json"),
        ("data.parquet.xz", "parquet"),
        ("data.csv.xz.gz", "csv"),
        ("notes.txt", "txt"),
        ("archive.tar.gz", "tar"),
        ("skims.omx", "omx"),
        ("dir.v2/README", None),
        ("no_suffix", None),
        ("trailing.", None),
        ("only.gz", None),
        (Path("x") / "table.csv", "csv"),
    ],
)
def test_driver_for_path(path: str | Path, expected: str | None) -> None:
    assert driver_for_path(path) == expected


def test_get_driver_by_name_and_unknown_name_lists_the_known_ones() -> None:
    assert get_driver("parquet").suffixes == (".parquet",)
    with pytest.raises(InvalidOptionError) as info:
        get_driver("xlsx")
    message = str(info.value)
    for name in ("'csv'", "'json'", "'parquet'", "'tsv'", "'feather'", "'netcdf'"):
        assert name in message
    assert "'xlsx'" in message
    assert info.value.context["parameter"] == "driver"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("csv", True),
        ("tsv", True),
        ("parquet", True),
        ("json", True),
        ("txt", False),
        (None, False),
    ],
)
def test_is_tabular(name: str | None, expected: bool) -> None:
    assert is_tabular(name) is expected


def _reader(path: str) -> str:
    return f"read {path}"


def test_a_registered_driver_is_found_by_suffix_and_name() -> None:
    drivers = DriverRegistry([Driver("csv", (".csv",))])
    feather = Driver("feather", (".feather", ".fea"), read=_reader)
    drivers.register(feather)

    assert drivers.for_path("t.FEA.gz") is feather
    assert drivers.name_for_path("t.feather") == "feather"
    assert drivers.name_for_path("t.txt") == "txt"
    assert drivers.for_path("t.txt") is None
    assert drivers.get("feather") is feather
    assert drivers.find("nope") is None
    assert drivers.names() == ["csv", "feather"]


@pytest.mark.parametrize(
    ("driver", "parameter", "fragment"),
    [
        (Driver("csv", (".csv2",)), "name", "already registered"),
        (Driver("", (".x",)), "name", "not a valid driver name"),
        (Driver("Feather", (".x",)), "name", "not a valid driver name"),
        (Driver("a.b", (".x",)), "name", "not a valid driver name"),
        (Driver("other", (".csv",)), "suffixes", "'csv' already claims it"),
        (Driver("other", (".gz",)), "suffixes", "not a plain"),
        (Driver("other", ("x",)), "suffixes", "not a plain"),
        (Driver("other", (".X",)), "suffixes", "not a plain"),
        (Driver("other", (".a.b",)), "suffixes", "not a plain"),
        (Driver("other", ()), "suffixes", "at least one suffix"),
    ],
)
def test_registration_refuses_taken_or_malformed_names_and_suffixes(
    driver: Driver, parameter: str, fragment: str
) -> None:
    drivers = DriverRegistry([Driver("csv", (".csv",))])
    with pytest.raises(ConfigError, match=fragment) as info:
        drivers.register(driver)
    assert info.value.context["parameter"] == parameter
    # A refused driver leaves nothing behind.
    assert drivers.names() == ["csv"]
    assert drivers.name_for_path("t.x") == "x"


def test_a_driver_with_one_bad_suffix_claims_none_of_its_suffixes() -> None:
    drivers = DriverRegistry([Driver("csv", (".csv",))])
    with pytest.raises(ConfigError):
        drivers.register(Driver("other", (".oth", ".csv")))
    assert drivers.for_path("t.oth") is None


FRAME = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]})


@pytest.mark.parametrize("name", ["csv", "tsv", "parquet", "json"])
def test_each_tabular_driver_round_trips_a_frame(tmp_path: Path, name: str) -> None:
    path = write_table(FRAME, str(tmp_path / "table"), driver=name)

    assert path == str(tmp_path / "table") + get_driver(name).suffixes[0]
    assert driver_for_path(path) == name
    pd.testing.assert_frame_equal(read_table(path), FRAME)
    pd.testing.assert_frame_equal(read_table(path, name), FRAME)


def test_tsv_is_read_with_tabs(tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2\n")
    assert list(read_table(tmp_path / "t.tsv").columns) == ["a", "b"]


def test_compressed_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    frame = read_table(path)
    assert frame.to_dict("list") == {"a": [1], "b": [2]}


def test_default_write_is_parquet_with_pyarrow_and_csv_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert default_table_driver() == "parquet"
    with_arrow = write_table(FRAME, str(tmp_path / "a"))
    assert with_arrow.endswith("a.parquet")

    monkeypatch.setattr(registry, "pyarrow_available", lambda: False)
    assert default_table_driver() == "csv"
    without = write_table(FRAME, str(tmp_path / "b"))
    assert without.endswith("b.csv")
    # csv is written without the index, so the file reads back as the same frame.
    assert Path(without).read_text().splitlines()[0] == "id,name"
    pd.testing.assert_frame_equal(read_table(without), FRAME)


def test_a_series_is_written_as_a_one_column_frame(tmp_path: Path) -> None:
    series = pd.Series([1.5, 2.5], name="speed")
    path = write_table(series, str(tmp_path / "s"), driver="csv")
    assert read_table(path).to_dict("list") == {"speed": [1.5, 2.5]}


def test_read_table_refuses_formats_without_a_reader(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load") as info:
        read_table(tmp_path / "notes.txt")
    assert info.value.context["parameter"] == "driver"
    assert "csv, feather, geojson, geopackage, json, parquet, shapefile, tsv" in str(info.value)


def test_write_table_refuses_unknown_and_read_only_drivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidOptionError):
        write_table(FRAME, str(tmp_path / "t"), driver="xlsx")
    monkeypatch.setattr(registry, "DRIVERS", DriverRegistry([Driver("ro", (".ro",), read=_reader)]))
    with pytest.raises(ConfigError, match="cannot write tables"):
        write_table(FRAME, str(tmp_path / "t"), driver="ro")
    assert not list(tmp_path.iterdir())


def test_importing_the_registry_loads_no_pandas_or_pyarrow() -> None:
    code = (
        "import sys, consist.formats.registry, consist.execute.python;"
        "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
