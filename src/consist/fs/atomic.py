"""Atomic file writes that are safe with many processes writing one run_dir.

Readers must never see a half-written JSON record, so every record file is
written to a unique temporary name in the same directory and then renamed over
its final name (rename is atomic on POSIX filesystems, NFS included).
(:func:`write_bytes_new` is the one exception, for readers that treat a torn file as
absent.) We do not fsync: a record lost in a power cut is a cache miss, not corruption,
and fsync would cost more than the whole cache-hit budget.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

# next() on itertools.count is atomic under the GIL, so threads never share a name.
_counter = itertools.count()


def _temp_name(path: str) -> str:
    # pid + per-process counter is unique among all live writers of a directory.
    return f"{path}.{os.getpid()}.{next(_counter)}.tmp"


def make_parent(path: str) -> None:
    """Create the directory of ``path`` (and its parents if need be).

    Usually only the last level is missing (a fan-out directory of an index): one
    ``mkdir``, not ``os.makedirs``' walk of the path.
    """
    parent = os.path.dirname(path)
    try:
        os.mkdir(parent)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(parent, exist_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes, *, make_parents: bool = True) -> None:
    """Write ``data`` to ``path`` so readers see either the old or the new content."""
    target = os.fspath(path)
    tmp = _write_temp(target, data, make_parents)
    try:
        os.replace(tmp, target)
    except BaseException:
        unlink_quietly(tmp)
        raise


def write_bytes_if_absent(path: str | Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` unless it exists; never replaces a file. Readers see
    the whole file or none. Returns whether this call created it."""
    target = os.fspath(path)
    tmp = _write_temp(target, data, True)
    try:
        os.link(tmp, target)  # unlike a rename, fails on an existing target
    except FileExistsError:
        return False
    finally:
        unlink_quietly(tmp)
    return True


def write_bytes_new(path: str | Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` in place (no temp file, no rename); False if it exists.

    Cheaper than :func:`write_bytes_atomic` by a rename, for files whose readers treat a
    torn or empty file as absent (the cache index: a damaged entry is a miss). A writer
    killed mid-write leaves such a file; the next writer replaces it atomically.
    """
    target = os.fspath(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        return False
    except FileNotFoundError:
        make_parent(target)
        try:
            fd = os.open(target, flags, 0o644)
        except FileExistsError:
            return False
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return True


def _write_temp(target: str, data: bytes, make_parents: bool) -> str:
    tmp = _temp_name(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        if not make_parents:
            raise
        make_parent(target)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return tmp


def link_atomic(source: str | Path, target: str | Path) -> None:
    """Make ``target`` a hard link to ``source``, replacing any existing ``target``.

    Falls back to a copy where the filesystem has no hard links.
    """
    target_s = os.fspath(target)
    tmp = _temp_name(target_s)
    try:
        os.link(source, tmp)
    except FileNotFoundError:
        make_parent(target_s)
        os.link(source, tmp)
    except OSError:
        with open(source, "rb") as handle:
            write_bytes_atomic(target_s, handle.read())
        return
    os.replace(tmp, target_s)


def link_if_same_bytes(source: str, target: str, data: bytes) -> bool:
    """Make ``target`` (atomically replaced) a hard link to ``source`` if ``source``
    holds exactly ``data``; False, changing nothing, when it does not or cannot be
    linked (no such file, a filesystem without hard links): the caller writes ``data``.

    The bytes are read from the new link, not from ``source``: they are those of the
    inode that was linked, even if ``source`` is replaced between the two calls. (One
    read: what costs on a disk is creating a file, not reading 2 kB.)
    """
    tmp = _temp_name(target)
    try:
        os.link(source, tmp)
    except OSError:
        return False
    try:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            same = os.fstat(fd).st_size == len(data) and os.read(fd, len(data) + 1) == data
        finally:
            os.close(fd)
        if same:
            os.replace(tmp, target)
            return True
    except OSError:
        pass
    unlink_quietly(tmp)
    return False


def read_bytes_or_none(path: str | Path) -> bytes | None:
    """Return the file's bytes, or None when it does not exist."""
    # os.open, not open(): a miss of the cache index is a failed open on every run, and
    # the io layer's file object costs more than the syscall itself.
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def unlink_quietly(path: str) -> None:
    """Remove ``path``; a file already gone (or not removable) is not an error."""
    try:
        os.unlink(path)
    except OSError:
        pass


def copy_atomic(source: str | Path, target: str | Path) -> None:
    """Copy a file or directory tree so ``target`` appears complete or not at all.

    Bytes go to a temporary name beside ``target`` first, then are renamed over it
    (a directory ``target`` that already exists is replaced as a whole).
    """
    source_s, target_s = os.fspath(source), os.fspath(target)
    parent = os.path.dirname(target_s)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = _temp_name(target_s)
    try:
        if os.path.isdir(source_s):
            shutil.copytree(source_s, tmp, symlinks=True)
            if os.path.isdir(target_s):
                shutil.rmtree(target_s)
        else:
            shutil.copy2(source_s, tmp)
        os.replace(tmp, target_s)
    except BaseException:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            unlink_quietly(tmp)
        raise
