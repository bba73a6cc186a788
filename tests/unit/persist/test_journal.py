"""The pending journal: complete lines only, offsets, and safe deletion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consist.fs.layout import RunLayout
from consist.persist import journal as journal_module
from consist.persist.journal import PendingJournal


@pytest.fixture
def journal(tmp_path: Path) -> PendingJournal:
    return PendingJournal(RunLayout(tmp_path / "runs"))


def journal_files(journal: PendingJournal) -> list[str]:
    return journal._names()


def test_scan_returns_complete_lines_from_the_consumed_offset(journal: PendingJournal) -> None:
    journal.append(b'{"n":1}')
    journal.append(b'{"n":2}')
    (name,) = journal_files(journal)
    first = journal.scan({})
    assert first[0].lines == [b'{"n":1}', b'{"n":2}']
    journal.append(b'{"n":3}')
    second = journal.scan({name: first[0].end_offset})
    assert second[0].lines == [b'{"n":3}']


def test_a_line_being_written_is_left_for_the_next_scan(journal: PendingJournal) -> None:
    journal.append(b'{"n":1}')
    (name,) = journal_files(journal)
    path = os.path.join(journal._dir, name)
    with open(path, "ab") as handle:
        handle.write(b'{"n":2')  # no newline yet: a writer mid-append
    chunk = journal.scan({})[0]
    assert chunk.lines == [b'{"n":1}']
    assert chunk.end_offset == len(b'{"n":1}\n')


def test_own_file_is_removed_only_when_fully_consumed(journal: PendingJournal) -> None:
    journal.append(b'{"n":1}')
    (name,) = journal_files(journal)
    size = os.path.getsize(os.path.join(journal._dir, name))
    assert journal.remove_consumed({name: size - 1}) == []
    assert journal.remove_consumed({name: size}) == [name]
    assert journal_files(journal) == []
    journal.append(b'{"n":2}')  # a new file is opened for later runs
    assert len(journal_files(journal)) == 1


def test_a_line_appended_during_removal_is_never_lost(
    journal: PendingJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal.append(b'{"n":1}')
    (name,) = journal_files(journal)
    path = os.path.join(journal._dir, name)
    consumed = {name: os.path.getsize(path)}
    real_getsize = os.path.getsize
    appended: list[bool] = []

    def getsize_then_another_thread_appends(target: str) -> int:
        size = real_getsize(target)
        if not appended:  # right after the first size check, a run ends and appends
            appended.append(True)
            journal.append(b'{"n":2}')
        return size

    monkeypatch.setattr(journal_module.os.path, "getsize", getsize_then_another_thread_appends)
    assert journal.remove_consumed(consumed) == []
    monkeypatch.undo()
    assert os.path.exists(path)
    assert journal.scan(consumed)[0].lines == [b'{"n":2}']


def test_files_of_a_dead_process_are_removed_once_consumed(
    journal: PendingJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.makedirs(journal._dir, exist_ok=True)
    other = f"{journal_module._HOST}-999999-deadbeef.log"
    with open(os.path.join(journal._dir, other), "wb") as handle:
        handle.write(b'{"n":1}\n')
    alive = f"{journal_module._HOST}-{os.getpid()}-cafef00d.log"
    with open(os.path.join(journal._dir, alive), "wb") as handle:
        handle.write(b'{"n":1}\n')
    monkeypatch.setattr(journal_module, "_owner_gone", lambda name: name == other)
    removed = journal.remove_consumed({other: 8, alive: 8})
    assert removed == [other]
    assert journal_files(journal) == [alive]


def test_has_unconsumed_compares_file_sizes_with_known_offsets(journal: PendingJournal) -> None:
    assert not journal.has_unconsumed()  # no journal directory at all
    journal.append(b'{"n":1}')
    (name,) = journal_files(journal)
    size = os.path.getsize(os.path.join(journal._dir, name))
    assert journal.has_unconsumed()
    journal.note_consumed({name: size - 1})
    assert journal.has_unconsumed()
    journal.note_consumed({name: size})
    assert not journal.has_unconsumed()
    journal.append(b'{"n":2}')
    assert journal.has_unconsumed()
    # remove_consumed learns the offsets it was given (they were just committed).
    size = os.path.getsize(os.path.join(journal._dir, name))
    other = os.path.join(journal._dir, f"{journal_module._HOST}-{os.getppid()}-0000.log")
    with open(other, "wb") as handle:
        handle.write(b'{"n":3}\n')
    assert journal.remove_consumed({name: size, os.path.basename(other): 8}) == [name]
    assert not journal.has_unconsumed()


def test_a_dead_writers_torn_last_line_is_skipped_and_the_file_consumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layout = RunLayout(tmp_path / "runs")
    journal = PendingJournal(layout)
    os.makedirs(layout.pending_dir)
    dead = os.path.join(layout.pending_dir, "host-1-dead.log")
    with open(dead, "wb") as handle:
        handle.write(b'{"a":1}\n{"torn')
    monkeypatch.setattr(journal_module, "_owner_gone", lambda name: name == "host-1-dead.log")
    (chunk,) = journal.scan({})
    assert chunk.lines == [b'{"a":1}'] and chunk.end_offset == os.path.getsize(dead)
    assert journal.remove_consumed({chunk.name: chunk.end_offset}) == [chunk.name]


def test_a_live_writers_incomplete_line_waits(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs")
    journal = PendingJournal(layout)
    os.makedirs(layout.pending_dir)
    live = os.path.join(layout.pending_dir, f"{journal_module._HOST}-{os.getpid()}-live.log")
    with open(live, "wb") as handle:
        handle.write(b'{"a":1}\n{"being written')
    (chunk,) = journal.scan({})
    assert chunk.end_offset == len(b'{"a":1}\n')
