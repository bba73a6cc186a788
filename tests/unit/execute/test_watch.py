"""execute/watch.py: which files a directory capture logs, and under which keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consist.errors import ConfigError
from consist.execute.watch import DirectoryWatch


def test_new_and_rewritten_files_are_captured_unchanged_ones_not(tmp_path: Path) -> None:
    (tmp_path / "keep.csv").write_text("same")
    (tmp_path / "edit.csv").write_text("before")
    watch = DirectoryWatch.start(tmp_path)
    (tmp_path / "edit.csv").write_text("after!")
    (tmp_path / "new.csv").write_text("new")
    assert sorted(watch.changed()) == ["edit", "new"]


def test_a_replaced_file_with_the_same_size_and_mtime_is_captured(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("1234")
    st = target.stat()
    watch = DirectoryWatch.start(tmp_path)
    other = tmp_path / "tmp.txt"
    other.write_text("5678")
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    other.replace(target)  # new inode
    assert list(watch.changed()) == ["a"]


def test_keys_keep_the_suffix_when_two_files_share_a_stem(tmp_path: Path) -> None:
    watch = DirectoryWatch.start(tmp_path)
    (tmp_path / "t.csv").write_text("1")
    (tmp_path / "t.parquet").write_text("2")
    assert sorted(watch.changed()) == ["t", "t.parquet"]


@pytest.mark.parametrize(
    ("pattern", "recursive", "expected"),
    [
        ("*.csv", False, ["top"]),
        ("*.csv", True, ["sub/deep", "top"]),
        ("**/*.csv", False, ["sub/deep", "top"]),
        ("sub/*", False, []),  # one level only: sub/ is not entered
    ],
)
def test_patterns(tmp_path: Path, pattern: str, recursive: bool, expected: list[str]) -> None:
    watch = DirectoryWatch.start(tmp_path, pattern, recursive)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.csv").write_text("1")
    (tmp_path / "top.csv").write_text("1")
    (tmp_path / "top.txt").write_text("1")
    assert sorted(watch.changed()) == expected


def test_a_directory_created_during_the_block_is_watched_from_empty(tmp_path: Path) -> None:
    watch = DirectoryWatch.start(tmp_path / "later")
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "x.txt").write_text("x")
    assert list(watch.changed()) == ["x"]


@pytest.mark.parametrize("pattern", ["", 3])
def test_bad_patterns_are_refused(tmp_path: Path, pattern: object) -> None:
    with pytest.raises(ConfigError, match="pattern"):
        DirectoryWatch.start(tmp_path, pattern)  # type: ignore[arg-type]
