"""fs/atomic.py: a snapshot linked from a file that holds its bytes; parent directories."""

from __future__ import annotations

import os
from pathlib import Path

from consist.fs.atomic import link_if_same_bytes

RECORD = b'{"schema_version":1,"run":{"id":"step-1","name":"step"},"config":{"x":1}}'


def leftovers(directory: Path) -> list[str]:
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


def test_the_same_bytes_become_a_hard_link_replacing_the_target(tmp_path: Path) -> None:
    source, target = tmp_path / "entry.json", tmp_path / "snap.json"
    source.write_bytes(RECORD)
    target.write_bytes(b"an older running record")
    assert link_if_same_bytes(str(source), str(target), RECORD)
    assert target.read_bytes() == RECORD
    assert os.stat(source).st_ino == os.stat(target).st_ino
    assert leftovers(tmp_path) == []


def test_another_record_of_the_same_size_is_not_linked(tmp_path: Path) -> None:
    # The entry was replaced by a later run of the same signature: same length, other id.
    source, target = tmp_path / "entry.json", tmp_path / "snap.json"
    source.write_bytes(RECORD.replace(b"step-1", b"step-2"))
    assert not link_if_same_bytes(str(source), str(target), RECORD)
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_a_different_size_or_a_missing_source_is_not_linked(tmp_path: Path) -> None:
    source, target = tmp_path / "entry.json", tmp_path / "snap.json"
    source.write_bytes(RECORD + b" ")
    assert not link_if_same_bytes(str(source), str(target), RECORD)
    assert not link_if_same_bytes(str(tmp_path / "gone.json"), str(target), RECORD)
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_make_parent_creates_one_level_or_the_whole_path(tmp_path: Path) -> None:
    from consist.fs.atomic import make_parent

    make_parent(str(tmp_path / "a" / "file.json"))  # one missing level
    make_parent(str(tmp_path / "a" / "file.json"))  # already there: no error
    make_parent(str(tmp_path / "b" / "c" / "d" / "file.json"))  # several
    assert (tmp_path / "a").is_dir() and (tmp_path / "b" / "c" / "d").is_dir()


def test_a_record_that_differs_only_at_its_end_is_not_linked(tmp_path: Path) -> None:
    source, target = tmp_path / "entry.json", tmp_path / "snap.json"
    source.write_bytes(RECORD[:-2] + b"2}")
    assert not link_if_same_bytes(str(source), str(target), RECORD)
    assert not target.exists()
