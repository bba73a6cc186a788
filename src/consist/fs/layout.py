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
        └── digests/                       file digest memo (path, size, mtime, inode)
"""

from __future__ import annotations

import os
from pathlib import Path

from consist.errors import PathEscapeError
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
        "_prefix",
    )

    def __init__(self, run_dir: str | Path) -> None:
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

    def to_uri(self, abs_path: str) -> str:
        """Portable form of a path: ``./relative`` under run_dir, else the absolute POSIX path."""
        if abs_path.startswith(self._prefix):
            return "./" + abs_path[len(self._prefix) :].replace(os.sep, "/")
        return abs_path.replace(os.sep, "/")

    def from_uri(self, uri: str) -> str:
        """Local absolute path of a URI written by :meth:`to_uri`."""
        if uri.startswith("./"):
            return os.path.join(self.run_dir, *uri[2:].split("/"))
        return uri
