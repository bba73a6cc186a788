"""fs/layout.py mounts: path <-> portable URI, the most specific root wins, no escape."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.errors import PathEscapeError
from consist.fs.layout import RunLayout


def test_paths_under_mounts_become_scheme_uris_and_back(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs", {"inputs": tmp_path / "data", "big": "/mnt/big"})
    path = str(tmp_path / "data" / "zones" / "taz.csv")
    assert layout.to_uri(path) == "inputs://zones/taz.csv"
    assert layout.from_uri("inputs://zones/taz.csv") == path
    assert layout.to_uri("/mnt/big/x") == "big://x"
    assert layout.to_uri("/elsewhere/x") == "/elsewhere/x"
    # A sibling whose name starts like the root is not under it.
    assert layout.to_uri(str(tmp_path / "data2" / "x")) == str(tmp_path / "data2" / "x")


def test_the_most_specific_root_wins(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs", {"staged": tmp_path / "runs" / "staged"})
    assert layout.to_uri(str(tmp_path / "runs" / "staged" / "a")) == "staged://a"
    assert layout.to_uri(str(tmp_path / "runs" / "other" / "a")) == "./other/a"
    outer = RunLayout(tmp_path / "runs", {"all": tmp_path})
    assert outer.to_uri(str(tmp_path / "runs" / "a")) == "./a"
    assert outer.to_uri(str(tmp_path / "x")) == "all://x"


@pytest.mark.parametrize(
    "uri", ["inputs://..", "inputs://../x", "inputs://a/../../x", "inputs:///etc/passwd"]
)
def test_escaping_uris_are_refused_and_unreadable_in_records(tmp_path: Path, uri: str) -> None:
    layout = RunLayout(tmp_path / "runs", {"inputs": tmp_path / "data"})
    with pytest.raises(PathEscapeError, match="outside its mount root"):
        layout.from_uri(uri)
    assert layout.from_uri_or_none(uri) is None


def test_without_mounts_nothing_changes(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs")
    assert layout.to_uri(str(tmp_path / "runs" / "a")) == "./a"
    assert layout.from_uri("inputs://x") == "inputs://x"
