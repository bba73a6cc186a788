"""Directory capture: files that are new or modified while a block runs become outputs.

``capture_outputs(directory, pattern, recursive)`` and ``capture_dir`` / ``capture_pattern``
on run / trace take a *before* picture of the directory when the block starts and an
*after* picture when it ends. Rules:

* The picture is one ``stat`` per matching regular file: (size, mtime_ns, inode). A file
  is captured when it is absent before, or any of the three differs (a rewrite that
  keeps size and mtime but replaces the file changes the inode).
* ``pattern`` is a glob matched against the path relative to ``directory`` with
  :meth:`pathlib.PurePath.match` semantics for one level (``"*.csv"``); with
  ``recursive=True`` every sub-directory is scanned and the pattern is matched against
  the file name. A pattern containing ``**`` always scans recursively.
* The key of a captured file is its path relative to ``directory``, POSIX style, without
  the last suffix (``"zones/taz.csv"`` -> ``"zones/taz"``); if two captured files would
  share a key the second keeps its suffix.
* A directory that does not exist when the block starts is watched from empty: every
  file it holds at the end is new.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from consist.errors import ConfigError
from consist.model.artifact import Artifact

Picture = dict[str, tuple[int, int, int]]


def check_dir(directory: object, parameter: str) -> str:
    if not isinstance(directory, (str, os.PathLike)) or not os.fspath(directory):
        raise ConfigError(
            f"{parameter}={directory!r} must be a directory path.",
            fix=f"Pass {parameter} as a str or pathlib.Path.",
            parameter=parameter,
        )
    path = os.path.abspath(os.fspath(directory))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(
            f"{parameter}={os.fspath(directory)!r} is a file, not a directory.",
            fix=f"Pass the directory the outputs are written to as {parameter}.",
            parameter=parameter,
        )
    return path


@dataclass(slots=True)
class DirectoryWatch:
    """The before picture of one directory, and what changed since."""

    directory: str
    pattern: str = "*"
    recursive: bool = False
    before: Picture = field(default_factory=dict)
    #: The outputs logged when the block ended (filled by the caller), by key.
    artifacts: dict[str, Artifact] = field(default_factory=dict)

    @classmethod
    def start(
        cls, directory: object, pattern: str = "*", recursive: bool = False, *,
        parameter: str = "directory",
    ) -> DirectoryWatch:  # fmt: skip
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(
                f"pattern={pattern!r} must be a non-empty glob pattern.",
                fix="Pass pattern='*.csv' (or leave the default '*').",
                parameter="pattern",
            )
        watch = cls(check_dir(directory, parameter), pattern, recursive or "**" in pattern)
        watch.before = watch.picture()
        return watch

    def picture(self) -> Picture:
        found: Picture = {}
        if not os.path.isdir(self.directory):
            return found
        for root, dirs, files in os.walk(self.directory):
            rel_root = os.path.relpath(root, self.directory)
            for name in files:
                rel = name if rel_root == "." else os.path.join(rel_root, name)
                if not self._matches(rel, name):
                    continue
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                found[path] = (st.st_size, st.st_mtime_ns, st.st_ino)
            if not self.recursive:
                dirs.clear()
        return found

    def _matches(self, rel: str, name: str) -> bool:
        pattern = self.pattern
        if "**" in pattern:
            # "**/x" also matches "x" at the top level, as pathlib's glob does.
            tail = pattern.split("**/")[-1]
            return fnmatch.fnmatch(rel.replace(os.sep, "/"), pattern) or fnmatch.fnmatch(name, tail)
        if self.recursive:
            return fnmatch.fnmatch(name, pattern)
        return fnmatch.fnmatch(rel, pattern)

    def changed(self) -> dict[str, str]:
        """key -> absolute path of every file new or modified since :meth:`start`."""
        after = self.picture()
        keys: dict[str, str] = {}
        for path in sorted(after):
            if self.before.get(path) == after[path]:
                continue
            rel = os.path.relpath(path, self.directory).replace(os.sep, "/")
            stem, _ = os.path.splitext(rel)
            key = stem if stem and stem not in keys else rel
            keys[key] = path
        return keys
