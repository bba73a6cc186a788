"""cache/index.ProducedIndex: its in-process memo is bounded; the files keep the answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.cache import index as index_module
from consist.cache.index import ProducedIndex
from consist.fs.layout import RunLayout
from consist.model.artifact import ProducedFile


def test_a_forgotten_produced_file_is_found_from_its_index_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "PRODUCED_MEMO_ENTRIES", 1)
    layout = RunLayout(tmp_path / "runs")
    produced = ProducedIndex(layout)
    entries = {}
    for n in range(2):
        path = str(tmp_path / "shared" / f"table{n}.csv")  # outside any run's directory
        entries[path] = ProducedFile(f"{n}" * 64, f"{n}d" * 32, f"run-{n}", f"a{n}")
        produced.record(path, entries[path])
    first, second = list(entries)
    assert list(produced._memo) == [second]  # the memo holds one entry
    assert produced.lookup(first) == entries[first]  # read back from its file
    assert produced.lookup(second) == entries[second]
