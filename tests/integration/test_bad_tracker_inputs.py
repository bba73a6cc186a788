"""Bad Tracker(...) locations are refused at the call, and a refusal creates nothing.

A db_path that is a URL of a scheme other than PostgreSQL's (tests/integration/
test_postgres_store.py has those), an existing directory, or lies where no file can
be created; a run_dir that is a file or lies under one: each raises ConfigError naming
the parameter and the value, before run_dir, the DuckDB file or any folder exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from consist import Tracker
from consist.errors import ConfigError
from consist.settings import TrackerConfig


def _tree(root: Path) -> set[str]:
    """Every path under ``root`` (files and folders), relative."""
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.add(os.path.relpath(os.path.join(dirpath, name), root))
    return found


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tmp_path as the working directory, so relative paths would land inside it."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def _refused(parameter: str, **kwargs: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        Tracker(code_identity="callable_module", **kwargs)  # type: ignore[arg-type]
    error = caught.value
    assert error.context["parameter"] == parameter
    assert error.fix
    return error


URLS = [
    "sqlite:///provenance.db",
    "duckdb:///provenance.duckdb",
    "s3://bucket/provenance.duckdb",
    "file:///tmp/provenance.duckdb",
    "https://example.org/provenance.duckdb",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("access_mode", ["write", "read"])
def test_a_url_db_path_is_refused_and_creates_nothing(
    in_tmp: Path, url: str, access_mode: str
) -> None:
    error = _refused("db_path", run_dir="runs", db_path=url, access_mode=access_mode)
    text = str(error)
    assert url in text and "db_path" in text
    # The supported forms: a DuckDB file, a PostgreSQL URL, or None.
    assert "DuckDB" in text and "None" in text and "db_path='postgresql://" in text
    assert _tree(in_tmp) == set()


def test_a_url_given_as_a_path_object_is_refused_too(in_tmp: Path) -> None:
    # Path collapses '//' to '/': Path("s3://bucket/x") is "s3:/bucket/x".
    _refused("db_path", run_dir="runs", db_path=Path("s3://bucket/provenance.duckdb"))
    with pytest.raises(ConfigError):
        TrackerConfig(run_dir="runs", db_path="sqlite:///provenance.db")
    # A PostgreSQL URL is accepted as a str only: a Path has collapsed its '//'.
    with pytest.raises(ConfigError):
        TrackerConfig(run_dir="runs", db_path=Path("postgresql://user@host/db"))
    assert _tree(in_tmp) == set()


def test_a_local_folder_ending_in_a_colon_is_written_with_dot_slash(in_tmp: Path) -> None:
    tracker = Tracker(
        run_dir="runs", db_path="./stores:/db.duckdb", code_identity="callable_module"
    )
    try:
        assert tracker.db_path == in_tmp / "stores:" / "db.duckdb"
    finally:
        tracker.close()


@pytest.mark.parametrize("access_mode", ["write", "read"])
def test_a_db_path_that_is_a_directory_is_refused(in_tmp: Path, access_mode: str) -> None:
    (in_tmp / "store").mkdir()
    error = _refused("db_path", run_dir="runs", db_path="store", access_mode=access_mode)
    assert "'store'" in str(error) and "directory" in str(error)
    assert _tree(in_tmp) == {"store"}


def test_a_db_path_that_would_hold_run_dir_is_refused(in_tmp: Path) -> None:
    _refused("db_path", run_dir="data/runs", db_path="data")
    _refused("db_path", run_dir="same", db_path="same")
    assert _tree(in_tmp) == set()


def test_a_db_path_under_a_regular_file_is_refused(in_tmp: Path) -> None:
    (in_tmp / "notes.txt").write_text("a file, not a folder")
    error = _refused("db_path", run_dir="runs", db_path="notes.txt/sub/db.duckdb")
    assert "notes.txt" in str(error) and "is a file" in str(error)
    assert _tree(in_tmp) == {"notes.txt"}


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="permission bits do not stop root",
)
def test_a_db_path_in_a_folder_nobody_may_write_is_refused(in_tmp: Path) -> None:
    locked = in_tmp / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        error = _refused("db_path", run_dir="runs", db_path=locked / "sub" / "db.duckdb")
        assert "not writable" in str(error)
        _refused("db_path", run_dir="runs", db_path=locked / "db.duckdb")
        _refused("run_dir", run_dir=locked / "runs", db_path="db.duckdb")
        assert _tree(in_tmp) == {"locked"}
        # A reader writes nothing, so an unwritable folder is fine for it.
        Tracker(run_dir="runs", db_path=locked / "db.duckdb", access_mode="read").close()
    finally:
        locked.chmod(0o700)
    assert _tree(in_tmp) == {"locked"}


def test_a_run_dir_that_is_a_file_is_refused(in_tmp: Path) -> None:
    (in_tmp / "runs").write_text("a file")
    error = _refused("run_dir", run_dir="runs", db_path="db.duckdb")
    assert "'runs'" in str(error) and "file" in str(error)
    _refused("run_dir", run_dir="runs", db_path=None, access_mode="read")
    assert _tree(in_tmp) == {"runs"}


def test_a_run_dir_under_a_file_is_refused(in_tmp: Path) -> None:
    (in_tmp / "notes.txt").write_text("a file")
    error = _refused("run_dir", run_dir="notes.txt/runs", db_path="db.duckdb")
    assert "is a file" in str(error)
    assert _tree(in_tmp) == {"notes.txt"}


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"run_dir": 5}, "run_dir"),
        ({"run_dir": None}, "run_dir"),
        ({"run_dir": b"runs"}, "run_dir"),
        ({"run_dir": "runs", "db_path": 3.5}, "db_path"),
        ({"run_dir": "runs", "db_path": b"db.duckdb"}, "db_path"),
    ],
)
def test_a_location_that_is_not_a_path_is_refused(
    in_tmp: Path, kwargs: dict[str, object], parameter: str
) -> None:
    _refused(parameter, **kwargs)
    assert _tree(in_tmp) == set()


def test_a_reader_accepts_a_db_path_that_does_not_exist_yet(in_tmp: Path) -> None:
    tracker = Tracker(run_dir="runs", db_path="later/db.duckdb", access_mode="read")
    try:
        assert tracker.find_runs() == []
    finally:
        tracker.close()
    assert _tree(in_tmp) == set()


def test_good_locations_still_work_and_create_their_folders(in_tmp: Path) -> None:
    tracker = Tracker(
        run_dir="deep/runs", db_path="stores/a/db.duckdb", code_identity="callable_module"
    )
    try:
        result = tracker.run(fn=_step, config={"x": 1})
        assert tracker.find_runs() and tracker.find_runs()[0].id == result.run.id
    finally:
        tracker.close()
    assert (in_tmp / "stores" / "a" / "db.duckdb").is_file()
    assert (in_tmp / "deep" / "runs" / "consist_runs").is_dir()


def _step(config: dict[str, int]) -> None:
    """A step that does nothing."""
