"""File and directory digests, and proof that unchanged files are not re-read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import blake3
import pytest

from consist.errors import IdentityError, MissingInputError
from consist.identity import files as files_mod
from consist.identity.files import FileDigester, digest_file_uncached, stat_key


def b3(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def rewrite(path: Path, data: bytes) -> None:
    """Write new content and force a distinct mtime, as coarse clocks may not."""
    before = os.stat(path).st_mtime_ns
    path.write_bytes(data)
    os.utime(path, ns=(before + 5_000_000_000, before + 5_000_000_000))


@pytest.fixture
def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths whose bytes were read to hash them (every read goes through this function)."""
    calls: list[str] = []
    real = files_mod._digest_and_key_after

    def counting(path: str) -> tuple[str, object]:
        calls.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(files_mod, "_digest_and_key_after", counting)
    return calls


def test_file_digest_is_blake3_of_content(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_bytes(b"hello world")
    assert FileDigester().digest(target) == b3(b"hello world")
    assert digest_file_uncached(target) == b3(b"hello world")


def test_empty_file(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.write_bytes(b"")
    assert FileDigester().digest(str(target)) == b3(b"")


def test_same_content_at_two_paths_same_digest(tmp_path: Path) -> None:
    first, second = tmp_path / "one.bin", tmp_path / "sub" / "two.bin"
    second.parent.mkdir()
    first.write_bytes(b"payload")
    second.write_bytes(b"payload")
    digester = FileDigester()
    assert digester.digest(first) == digester.digest(second)


def test_changed_content_changes_digest(tmp_path: Path) -> None:
    target = tmp_path / "data.csv"
    target.write_bytes(b"a,b\n1,2\n")
    digester = FileDigester()
    old = digester.digest(target)
    rewrite(target, b"a,b\n1,3\n")
    assert digester.digest(target) == b3(b"a,b\n1,3\n") != old


def test_relative_path_is_absolutized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rel.txt").write_bytes(b"r")
    monkeypatch.chdir(tmp_path)
    digester = FileDigester()
    assert digester.digest("rel.txt") == digester.digest(tmp_path / "rel.txt") == b3(b"r")


def test_unchanged_file_not_reread_in_process(tmp_path: Path, count_reads: list[str]) -> None:
    target = tmp_path / "big.txt"
    target.write_bytes(b"x" * 100)
    digester = FileDigester()
    first = digester.digest(target)
    for _ in range(5):
        assert digester.digest(target) == first
    assert count_reads == [str(target)]
    rewrite(target, b"y" * 100)
    assert digester.digest(target) == b3(b"y" * 100)
    assert len(count_reads) == 2


def test_persistent_memo_shared_between_digesters(tmp_path: Path, count_reads: list[str]) -> None:
    target = tmp_path / "in.bin"
    target.write_bytes(b"shared")
    memo = tmp_path / "memo"
    first = FileDigester(memo).digest(target)
    assert len(count_reads) == 1
    assert list(memo.rglob("*.json")), "memo file was not written"
    # A fresh digester (think: another process) must reuse the stored digest.
    assert FileDigester(memo).digest(target) == first
    assert len(count_reads) == 1
    # Without the memo dir it has to read again.
    FileDigester().digest(target)
    assert len(count_reads) == 2


def test_persistent_memo_miss_after_change(tmp_path: Path, count_reads: list[str]) -> None:
    target = tmp_path / "in.bin"
    target.write_bytes(b"v1")
    memo = tmp_path / "memo"
    FileDigester(memo).digest(target)
    rewrite(target, b"v2")
    assert FileDigester(memo).digest(target) == b3(b"v2")
    assert len(count_reads) == 2


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[1, 2]", b'{"digest": 5}', b"\xff\xfe"])
def test_corrupt_memo_is_a_miss(tmp_path: Path, count_reads: list[str], garbage: bytes) -> None:
    target = tmp_path / "in.bin"
    target.write_bytes(b"content")
    memo = tmp_path / "memo"
    FileDigester(memo).digest(target)
    (memo_file,) = memo.rglob("*.json")
    memo_file.write_bytes(garbage)
    assert FileDigester(memo).digest(target) == b3(b"content")
    assert len(count_reads) == 2
    # The miss rewrote a valid memo, so the next fresh digester hits again.
    FileDigester(memo).digest(target)
    assert len(count_reads) == 2


def test_memo_with_wrong_digest_shape_is_ignored(tmp_path: Path, count_reads: list[str]) -> None:
    target = tmp_path / "in.bin"
    target.write_bytes(b"content")
    memo = tmp_path / "memo"
    FileDigester(memo).digest(target)
    (memo_file,) = memo.rglob("*.json")
    record = {"path": str(target), "key": list(stat_key(target)), "digest": "zz"}
    memo_file.write_text(json.dumps(record))
    assert FileDigester(memo).digest(target) == b3(b"content")
    assert len(count_reads) == 2


def test_large_file_uses_threaded_path_and_matches(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    target = tmp_path / "large.bin"
    target.write_bytes(data)
    assert FileDigester().digest(target) == b3(data)


def test_large_file_falls_back_when_mmap_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(2 * 1024 * 1024)
    target = tmp_path / "large.bin"
    target.write_bytes(data)
    expected = b3(data)
    real = blake3.blake3  # the patch below replaces this very attribute

    class NoMmap:
        AUTO = real.AUTO

        def __init__(self, *args: object, **kwargs: object) -> None:
            self._inner = real(*args, **kwargs)  # type: ignore[arg-type]

        def update_mmap(self, path: object) -> None:
            self._inner.update(b"half-fed")
            raise OSError("mmap refused")

        def update(self, data: bytes) -> None:
            self._inner.update(data)

        def hexdigest(self) -> str:
            return self._inner.hexdigest()

    monkeypatch.setattr(files_mod.blake3, "blake3", NoMmap)
    assert digest_file_uncached(target) == expected


def make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "top.txt").write_bytes(b"top")
    (root / "sub" / "mid.txt").write_bytes(b"mid")
    (root / "sub" / "deeper" / "leaf.txt").write_bytes(b"leaf")


def test_directory_digest_stable(tmp_path: Path) -> None:
    make_tree(tmp_path / "a")
    make_tree(tmp_path / "b")
    first = FileDigester().digest(tmp_path / "a")
    assert FileDigester().digest(tmp_path / "a") == first
    assert FileDigester().digest(tmp_path / "b") == first  # location-independent
    assert len(first) == 64


def test_directory_digest_tracks_nested_changes(tmp_path: Path) -> None:
    root = tmp_path / "d"
    make_tree(root)
    digester = FileDigester()
    seen = {digester.digest(root)}
    rewrite(root / "sub" / "deeper" / "leaf.txt", b"LEAF")
    seen.add(digester.digest(root))
    (root / "sub" / "new.txt").write_bytes(b"new")
    seen.add(digester.digest(root))
    (root / "sub" / "new.txt").rename(root / "sub" / "renamed.txt")
    seen.add(digester.digest(root))
    (root / "sub" / "renamed.txt").rename(root / "renamed.txt")  # same name, other dir
    seen.add(digester.digest(root))
    assert len(seen) == 5


def test_directory_differs_from_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    other_empty = tmp_path / "other"
    other_empty.mkdir()
    digester = FileDigester()
    assert digester.digest(empty) == digester.digest(other_empty)
    holder = tmp_path / "holder"
    holder.mkdir()
    (holder / "f").write_bytes(b"x")
    assert digester.digest(holder) != digester.digest(holder / "f")
    assert digester.digest(empty) != b3(b"")


def test_directory_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "d"
    make_tree(root)
    digester = FileDigester()
    plain = digester.digest(root)
    os.symlink(root, root / "loop")  # a directory link must not be followed
    assert digester.digest(root) == plain
    os.symlink(root / "top.txt", root / "alias.txt")  # a file link is followed
    assert digester.digest(root) != plain


def test_directory_files_use_memo(tmp_path: Path, count_reads: list[str]) -> None:
    root = tmp_path / "d"
    make_tree(root)
    digester = FileDigester()
    digester.digest(root)
    assert len(count_reads) == 3
    digester.digest(root)
    digester.digest(root / "top.txt")
    assert len(count_reads) == 3


def test_missing_path_raises(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "data.csv"
    with pytest.raises(MissingInputError) as info:
        FileDigester().digest(missing, what="dependency")
    assert str(missing) in str(info.value)
    assert "dependency" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, IdentityError)
    assert info.value.fix


def test_non_regular_file_rejected(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(IdentityError, match="neither a regular file"):
        FileDigester().digest(fifo)


# -- digest_fresh_file: a run's new output, hashed through one descriptor -------------


def test_fresh_file_digest_matches_and_is_memoised(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_bytes(b"fresh output")
    digester = FileDigester()
    digest, st = digester.digest_fresh_file(str(path)) or ("", None)
    assert digest == b3(b"fresh output")
    assert st is not None and st.st_size == len(b"fresh output")
    # The same digester knows it now: the general path does not read it again.
    assert digester._memo[str(path)][1] == digest
    rewrite(path, b"changed")
    assert (digester.digest_fresh_file(str(path)) or ("",))[0] == b3(b"changed")


@pytest.mark.parametrize("change", [b"same size!!!", b"a longer text than before"])
def test_a_fresh_file_changed_while_read_is_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: bytes
) -> None:
    path = tmp_path / "out.txt"
    path.write_bytes(b"first output")
    real_read = files_mod._digest_open_small

    def read_then_change(fd: int, size: int) -> str:
        digest = real_read(fd, size)
        path.write_bytes(change)  # another writer, while the digest was taken
        return digest

    monkeypatch.setattr(files_mod, "_digest_open_small", read_then_change)
    digester = FileDigester()
    assert (digester.digest_fresh_file(str(path)) or ("",))[0] == b3(b"first output")
    monkeypatch.setattr(files_mod, "_digest_open_small", real_read)

    assert digester.digest(path) == b3(change)
    assert (digester.digest_fresh_file(str(path)) or ("",))[0] == b3(change)


def test_fresh_file_reads_a_file_that_grew_since_its_stat_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "grown.bin"
    path.write_bytes(b"x" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        # As if the stat had seen 10 bytes and 90 more were written before the read.
        assert files_mod._digest_open_small(fd, 10) == b3(b"x" * 100)
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo"])
def test_fresh_file_leaves_other_paths_to_the_general_path(tmp_path: Path, kind: str) -> None:
    target = tmp_path / kind
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)  # must not block waiting for a writer
    assert FileDigester().digest_fresh_file(str(target)) is None


def test_fresh_file_leaves_files_memoised_on_disk_to_the_general_path(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"y" * 4096)
    digester = FileDigester(tmp_path / "memo", persist_min_bytes=1024)
    assert digester.digest_fresh_file(str(path)) is None
    small = tmp_path / "small.bin"
    small.write_bytes(b"y" * 10)
    assert (digester.digest_fresh_file(str(small)) or ("",))[0] == b3(b"y" * 10)


def test_the_in_process_memo_is_bounded(
    tmp_path: Path, count_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files_mod, "MEMO_ENTRIES", 2)
    paths = []
    for n in range(3):
        path = tmp_path / f"f{n}.txt"
        path.write_text(str(n))
        paths.append(path)
    digester = FileDigester()
    for path in paths:
        digester.digest(path)
    assert len(digester._memo) == 2
    count_reads.clear()
    digester.digest(paths[2])  # still known: not read again
    assert count_reads == []
    assert digester.digest(paths[0]) == b3(b"0")  # forgotten: read again, same digest
    assert count_reads == [str(paths[0])]
