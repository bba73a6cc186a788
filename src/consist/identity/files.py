"""Content digests of input files and directories, memoized by ``stat``.

Hashing inputs on every cache lookup would cost far more than the lookup
itself, so a file is only read when its stat key (device, inode, size, mtime,
ctime) is unknown. The key -> digest memo lives in this process and, when a
``memo_dir`` is given, in one small JSON file per path so other processes and
later sessions skip the read too.

Digests are BLAKE3 hex strings of the raw bytes. A directory digest hashes a
manifest of ``[posix relative path, file digest]`` pairs behind a ``dir-v1``
prefix, so a directory can never collide with a file.
"""

from __future__ import annotations

import json
import os
import stat as _stat
from pathlib import Path

import blake3

from consist.errors import IdentityError, MissingInputError
from consist.fs.atomic import read_bytes_or_none, write_bytes_atomic
from consist.identity.canonical import canonical_json
from consist.model.memo import remember

StatKey = tuple[int, int, int, int, int]

# Below this size one read + single-threaded hash beats mmap and thread start-up.
_WHOLE_READ_LIMIT = 1 << 20
_CHUNK = 8 << 20
_DIR_PREFIX = b"consist:dir-v1\0"
#: Files the in-process memo knows (~0.3 kB each); older ones are hashed again (or
#: read from the on-disk memo) when next asked (model/memo.py).
MEMO_ENTRIES = 16384


def stat_key(path: str | Path) -> StatKey:
    """The memo key of ``path``: changes whenever its content may have changed."""
    return _key_of(os.stat(path))


def _key_of(st: os.stat_result) -> StatKey:
    # ctime catches writes that restore the old mtime (e.g. `touch -d`, rsync -t).
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def digest_file_uncached(path: str | Path) -> str:
    """Read ``path`` and return the BLAKE3 hex digest of its bytes (no memo)."""
    return _digest_and_key_after(os.fspath(path))[0]


def _digest_and_key_after(target: str) -> tuple[str, StatKey | None]:
    """The file's digest and its stat key once read (None when it cannot be taken).

    A small file is read with os-level calls and re-checked with fstat on the open
    descriptor: the common case (a fresh small output) costs one open, not a path
    stat more and an io file object.
    """
    fd = os.open(target, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if st.st_size < _WHOLE_READ_LIMIT:
            return _digest_open_small(fd, st.st_size), _key_of(os.fstat(fd))
    finally:
        os.close(fd)
    digest = _digest_large_file(target)
    try:
        return digest, stat_key(target)
    except OSError:
        return digest, None


def _digest_open_small(fd: int, size: int) -> str:
    """BLAKE3 of a small file open at ``fd``; one read when it still has ``size`` bytes."""
    data = os.read(fd, size + 1)  # one byte more: a short read is the end of the file
    if len(data) > size:  # it grew since its stat: read to the end
        chunks = [data]
        while chunk := os.read(fd, _WHOLE_READ_LIMIT):
            chunks.append(chunk)
        data = b"".join(chunks)
    return blake3.blake3(data).hexdigest()


def _digest_large_file(target: str) -> str:
    """BLAKE3 of a large file: memory-mapped and multi-threaded, else read in chunks."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    try:
        hasher.update_mmap(target)
    except (OSError, ValueError):
        # Some filesystems refuse mmap; start over since the hasher may be half-fed.
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        with open(target, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
    return hasher.hexdigest()


def _is_hex_digest(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


class FileDigester:
    """Digest files and directories, reading a file only when its stat key is new."""

    def __init__(self, memo_dir: str | Path | None = None, *, persist_min_bytes: int = 0) -> None:
        # Files smaller than persist_min_bytes are re-hashed by a new process rather than
        # memoised on disk: below ~256 KiB hashing is cheaper than writing a memo file.
        self._memo_dir = None if memo_dir is None else os.path.abspath(memo_dir)
        self._persist_min_bytes = persist_min_bytes
        # Files below this size are hashed in one read and memoised in memory only.
        self._fresh_limit = (
            _WHOLE_READ_LIMIT if memo_dir is None else min(_WHOLE_READ_LIMIT, persist_min_bytes)
        )
        # abspath -> (stat key, digest); single dict get/set is atomic under the GIL.
        self._memo: dict[str, tuple[StatKey, str]] = {}

    def digest(self, path: str | Path, *, what: str = "input") -> str:
        """Return the content digest of the file or directory at ``path``.

        ``what`` names the role of the path in error messages ("input", "dependency"...).
        """
        return self.digest_and_stat(os.path.abspath(path), what=what)[0]

    def digest_and_stat(self, target: str, *, what: str = "input") -> tuple[str, os.stat_result]:
        """Digest of the absolute path ``target`` and the stat it was taken with (one
        stat call serves the memo key, the kind of path and the caller's size)."""
        try:
            st = os.stat(target)
        except (FileNotFoundError, NotADirectoryError):
            raise MissingInputError(
                f"The {what} path {target} does not exist.",
                fix=f"Create the {what} before the run, or correct the path.",
                path=target,
                what=what,
            ) from None
        except OSError as exc:
            raise IdentityError(
                f"Cannot stat the {what} path {target}.",
                cause=str(exc),
                fix="Check the path and its permissions.",
                path=target,
                what=what,
            ) from exc
        if _stat.S_ISREG(st.st_mode):
            return self._file_digest(target, st), st
        if _stat.S_ISDIR(st.st_mode):
            return self._dir_digest(target, what), st
        raise IdentityError(
            f"The {what} path {target} is neither a regular file nor a directory.",
            cause="Pipes, sockets and devices have no stable content to hash.",
            fix="Pass a regular file or a directory.",
            path=target,
            what=what,
        )

    def digest_fresh_file(self, target: str) -> tuple[str, os.stat_result] | None:
        """Digest and stat of a small regular file just written (a run's output), taken
        through one descriptor: open, fstat, read (no path stat first, since the memo
        rarely knows a new file). None when the file is not such a file (missing, a
        directory, large, or memoised on disk): use :meth:`digest_and_stat`, which also
        words the errors.

        The memo keeps the key of the stat taken before the read. A file changed while
        it was read has another key (its ctime, often its size) at the next lookup,
        which hashes it again; a second fstat after the read would only have skipped
        memoising an entry that can never match.
        """
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            size = st.st_size
            if not _stat.S_ISREG(st.st_mode) or size >= self._fresh_limit:
                return None
            key = _key_of(st)
            hit = self._memo.get(target)
            if hit is not None and hit[0] == key:
                return hit[1], st
            digest = _digest_open_small(fd, size)
        except OSError:
            return None
        finally:
            os.close(fd)
        remember(self._memo, target, (key, digest), MEMO_ENTRIES)
        return digest, st

    def _file_digest(self, target: str, st: os.stat_result) -> str:
        key = _key_of(st)
        hit = self._memo.get(target)
        if hit is not None and hit[0] == key:
            return hit[1]
        persist = st.st_size >= self._persist_min_bytes
        digest = self._load_persistent(target, key) if persist else None
        if digest is None:
            try:
                digest, after = _digest_and_key_after(target)
            except OSError as exc:
                raise IdentityError(
                    f"Cannot read {target} to hash it.",
                    cause=str(exc),
                    fix="Check the file's permissions.",
                    path=target,
                ) from exc
            # Memoize only if the file did not change while we read it; the
            # next call then re-hashes instead of trusting a torn digest.
            if after != key:
                return digest
            if persist:
                self._store_persistent(target, key, digest)
        remember(self._memo, target, (key, digest), MEMO_ENTRIES)
        return digest

    def _memo_path(self, target: str) -> str | None:
        if self._memo_dir is None:
            return None
        name = blake3.blake3(os.fsencode(target)).hexdigest()
        return os.path.join(self._memo_dir, name[:2], name + ".json")

    def _load_persistent(self, target: str, key: StatKey) -> str | None:
        memo_path = self._memo_path(target)
        if memo_path is None:
            return None
        try:
            raw = read_bytes_or_none(memo_path)
            if raw is None:
                return None
            record = json.loads(raw)
        except (OSError, ValueError):
            # Unreadable or corrupt memo: a miss, never an error.
            return None
        if not isinstance(record, dict):
            return None
        digest = record.get("digest")
        # The path check guards against (astronomically unlikely) name collisions.
        if record.get("path") != target or record.get("key") != list(key):
            return None
        return digest if _is_hex_digest(digest) else None

    def _store_persistent(self, target: str, key: StatKey, digest: str) -> None:
        memo_path = self._memo_path(target)
        if memo_path is None:
            return
        record = {"path": target, "key": list(key), "digest": digest}
        data = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")
        try:
            write_bytes_atomic(memo_path, data)
        except OSError:
            # The memo only saves time; a read-only or full disk must not fail a run.
            pass

    def _dir_digest(self, root: str, what: str) -> str:
        manifest: list[list[str]] = []
        self._walk(root, "", manifest)
        manifest.sort()
        try:
            payload = canonical_json(manifest)
        except ValueError as exc:
            raise IdentityError(
                f"Cannot build the manifest of the {what} directory {root}.",
                cause=str(exc),
                path=root,
                what=what,
            ) from exc
        return blake3.blake3(_DIR_PREFIX + payload).hexdigest()

    def _walk(self, directory: str, prefix: str, manifest: list[list[str]]) -> None:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda entry: entry.name)
        for entry in entries:
            rel = prefix + entry.name
            try:
                # Symlinked directories are not followed: they can form loops.
                if entry.is_dir(follow_symlinks=False):
                    self._walk(entry.path, rel + "/", manifest)
                    continue
                st = entry.stat()  # follows symlinked files
            except FileNotFoundError:
                # Vanished mid-walk, or a dangling symlink: nothing to hash.
                continue
            if _stat.S_ISREG(st.st_mode):
                manifest.append([rel, self._file_digest(entry.path, st)])
