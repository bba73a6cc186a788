"""Where everything lives under a tracker's run_dir, and path <-> portable URI.

::

    run_dir/
    ├── consist.json                 the most recently ended run's snapshot (hard link)
    ├── consist_runs/<run_id>.json   one JSON snapshot per run: the source of truth
    ├── outputs/<model>/<run_id>/    default artifact directory of each run
    └── .consist/                    derived state, rebuildable from the snapshots
        ├── index/<sg>/<signature>.json    completed identity -> snapshot (hard link)
        ├── steps/<hh>/<step>/y<year>.i<iteration>.json  latest completed run of a step (hard link)
        ├── produced/<hh>/<hash>.json      output path -> producing run + digest
        ├── pending/<host>-<pid>-<id>.log  journal of runs not yet copied into the SQL store
        ├── rejected/<key>.json (+ .line)  records the SQL store refused, with the reason
        ├── generation                     id of the snapshot generation the SQL store indexes
        ├── copies/<hh>/<digest>.json      where hydrated/materialised copies of bytes live
        └── digests/                       file digest memo (path, size, mtime, inode)

Portable URIs (the only form a path takes in a record): a path under run_dir is
``./relative``; a path under a mount root (``Tracker(mounts={"inputs": "/data/in"})``) is
``inputs://relative``; the longest matching root wins, so a mount inside run_dir takes
its files. Anything else stays absolute. Resolving a mounted URI refuses one that climbs
out of its mount root (``inputs://../../etc/passwd``) with PathEscapeError; a scheme no
mount names is returned unchanged (the record may come from a machine with more mounts).
A run's artifact directory is ``outputs/<model>/<run_id>`` unless ``subdir_fn`` (set by
``Tracker.set_run_subdir_fn``) names another directory under run_dir for the run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from consist.errors import ConfigError, PathEscapeError
from consist.fs.contain import check_record_name, join_inside


class RunLayout:
    """Paths of one run_dir. Pure path arithmetic; creates directories lazily on write."""

    __slots__ = (
        "run_dir",
        "snapshots_dir",
        "latest_snapshot",
        "state_dir",
        "index_dir",
        "produced_dir",
        "pending_dir",
        "rejected_dir",
        "generation_file",
        "digest_memo_dir",
        "outputs_dir",
        "mounts",
        "subdir_fn",
        "_prefix",
        "_roots",
    )

    def __init__(
        self,
        run_dir: str | Path,
        mounts: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> None:
        self.run_dir = os.path.abspath(os.fspath(run_dir))
        self.snapshots_dir = os.path.join(self.run_dir, "consist_runs")
        self.latest_snapshot = os.path.join(self.run_dir, "consist.json")
        self.state_dir = os.path.join(self.run_dir, ".consist")
        self.index_dir = os.path.join(self.state_dir, "index")
        self.produced_dir = os.path.join(self.state_dir, "produced")
        self.pending_dir = os.path.join(self.state_dir, "pending")
        self.rejected_dir = os.path.join(self.state_dir, "rejected")
        self.generation_file = os.path.join(self.state_dir, "generation")
        self.digest_memo_dir = os.path.join(self.state_dir, "digests")
        self.outputs_dir = os.path.join(self.run_dir, "outputs")
        self._prefix = self.run_dir + os.sep
        self.mounts = check_mounts(mounts)
        # Called with the Run being begun; returns its artifact dir relative to run_dir.
        self.subdir_fn: Callable[[Any], str | os.PathLike[str]] | None = None
        # (prefix, uri prefix), longest prefix first: the most specific root wins.
        roots = [(self._prefix, "./")]
        roots += [(root + os.sep, f"{name}://") for name, root in self.mounts.items()]
        self._roots = tuple(sorted(roots, key=lambda item: len(item[0]), reverse=True))

    def ensure(self) -> None:
        for directory in (self.snapshots_dir, self.index_dir, self.produced_dir, self.pending_dir):
            os.makedirs(directory, exist_ok=True)

    def snapshot_path(self, run_id: str) -> str:
        check_record_name(run_id, "run_id")
        return os.path.join(self.snapshots_dir, f"{run_id}.json")

    def artifact_dir(self, model: str, run_id: str) -> str:
        return os.path.join(self.outputs_dir, model, run_id)

    def requested_artifact_dir(self, path: str, *, allow_external: bool) -> str:
        """A run's ``artifact_dir=``: relative paths resolve under run_dir and must stay
        there; an absolute path outside run_dir needs ``allow_external``."""
        if not os.path.isabs(path):
            return join_inside(self.run_dir, path, "artifact_dir")
        resolved = os.path.normpath(path)
        if allow_external or resolved == self.run_dir or resolved.startswith(self._prefix):
            return resolved
        raise PathEscapeError(
            f"artifact_dir={path!r} is outside run_dir {self.run_dir}.",
            fix="Use a path under run_dir, or pass allow_external_paths=True.",
            parameter="artifact_dir",
            value=repr(path),
        )

    def run_artifact_dir(self, run: Any) -> str:
        """The default artifact directory of ``run`` (a Run): ``subdir_fn``'s, else
        ``outputs/<model>/<run_id>``."""
        if self.subdir_fn is None:
            return self.artifact_dir(run.model_name, run.id)
        part = self.subdir_fn(run)
        if not isinstance(part, (str, os.PathLike)):
            raise ConfigError(
                f"set_run_subdir_fn: the function returned {part!r}, not a path.",
                fix="Return a path relative to run_dir, e.g. f'outputs/{run.year}/{run.id}'.",
                parameter="fn",
            )
        return join_inside(self.run_dir, os.fspath(part), "run_subdir")

    def to_uri(self, abs_path: str) -> str:
        """Portable form of a path: ``./relative`` under run_dir, ``<mount>://relative``
        under a mount root, else the absolute POSIX path."""
        for prefix, scheme in self._roots:
            if abs_path.startswith(prefix):
                return scheme + abs_path[len(prefix) :].replace(os.sep, "/")
        return abs_path.replace(os.sep, "/")

    def from_uri(self, uri: str) -> str:
        """Local absolute path of a URI written by :meth:`to_uri` (see the module rules)."""
        if uri.startswith("./"):
            rest = uri[2:]
            if _PLAIN_RELATIVE.fullmatch(rest) and not self.run_dir.endswith(os.sep):
                # What the join below gives, for less (a hit decodes its record's URIs).
                return f"{self.run_dir}{os.sep}{rest.replace('/', os.sep)}"
            return os.path.join(self.run_dir, *rest.split("/"))
        if self.mounts and "://" in uri:
            name, _, rest = uri.partition("://")
            root = self.mounts.get(name)
            if root is not None:
                return _inside_mount(root, rest, uri)
        return uri

    def from_uri_or_none(self, uri: str) -> str | None:
        """:meth:`from_uri`, or None for a URI that escapes its mount (a damaged record
        must stay readable; only the path is withheld)."""
        try:
            return self.from_uri(uri)
        except PathEscapeError:
            return None


# Relative URI paths that os.path.join(run_dir, *parts) would only glue with os.sep: no
# empty part (a doubled or trailing slash), no absolute part.
_PLAIN_RELATIVE = re.compile(r"[^/]+(?:/[^/]+)*")
_MOUNT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*\Z")


def check_mounts(mounts: object) -> dict[str, str]:
    """``{name: root}`` with absolute, normalised roots; a bad entry is a ConfigError."""
    if mounts is None:
        return {}
    if not isinstance(mounts, Mapping):
        raise ConfigError(
            f"mounts={mounts!r} must be a mapping of name -> directory.",
            fix="Pass mounts={'inputs': '/data/in'}.",
            parameter="mounts",
        )
    checked: dict[str, str] = {}
    for name, root in mounts.items():
        if not isinstance(name, str) or not _MOUNT_NAME.match(name) or name == "file":
            raise ConfigError(
                f"mounts has the name {name!r}; a mount name is a URI scheme: a letter, "
                "then letters, digits, '+', '-' or '.' ('file' is reserved).",
                fix="Use a name like 'inputs' or 'shared-data'.",
                parameter="mounts",
                value=repr(name),
            )
        if not isinstance(root, (str, os.PathLike)) or not os.fspath(root):
            raise ConfigError(
                f"mounts[{name!r}]={root!r} must be a directory path.",
                fix="Pass the mount root as a str or pathlib.Path.",
                parameter="mounts",
                value=repr(root),
            )
        checked[name] = os.path.normpath(os.path.abspath(os.fspath(root)))
    return checked


def _inside_mount(root: str, rest: str, uri: str) -> str:
    path = os.path.normpath(os.path.join(root, rest)) if rest else root
    if (
        "\x00" in rest
        or os.path.isabs(rest)
        or (path != root and not path.startswith(root.rstrip(os.sep) + os.sep))
    ):
        raise PathEscapeError(
            f"uri={uri!r} leads outside its mount root {root}.",
            fix="Use a URI whose path stays inside the mount (no '..' that climbs out, "
            "no absolute path after the scheme).",
            parameter="uri",
            value=repr(uri),
        )
    return path
