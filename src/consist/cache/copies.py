"""Where else the bytes of an output live: the copy index behind recovery.

Hydration (``cache_hydration``) and :meth:`Tracker.materialize` copy cached outputs to new
places. Each copy is noted here, keyed by the content digest, so that when an output's
own file is deleted (ghost mode) a cache hit can restore it instead of re-running the
step that produced it.

Rules:

* One small JSON file per digest, ``.consist/copies/<hh>/<digest>.json``, holding a list
  of portable URIs (``./relative`` under run_dir, ``<mount>://...``, else absolute), so
  the index survives moving run_dir or re-pointing a mount.
* Nothing on the hot path reads it: only a hit whose output is missing, ``materialize``
  of a missing file and ``inputs-missing`` hydration look here.
* A copy is trusted only after its bytes are re-hashed (through the digest memo) and
  match the digest; a stale entry is skipped, never copied.
* Concurrent writers may drop each other's newest entry (read-modify-rename): the index
  only saves re-executions, it is never the record of truth.
"""

from __future__ import annotations

import json
import os

from consist.errors import ConsistError
from consist.fs.atomic import copy_atomic, read_bytes_or_none, write_bytes_atomic
from consist.fs.layout import RunLayout
from consist.identity.files import FileDigester
from consist.model.artifact import Artifact

# A digest keeps at most this many copies (the oldest are forgotten first).
MAX_COPIES = 16


class CopyIndex:
    """Content digest -> paths holding a copy of those bytes."""

    __slots__ = ("_layout", "_digester")

    def __init__(self, layout: RunLayout, digester: FileDigester) -> None:
        self._layout = layout
        self._digester = digester

    def _path(self, digest: str) -> str:
        return os.path.join(self._layout.state_dir, "copies", digest[:2], f"{digest}.json")

    def add(self, digest: str | None, abs_path: str) -> None:
        """Note that ``abs_path`` holds bytes with ``digest``."""
        if not digest:
            return
        uri = self._layout.to_uri(abs_path)
        uris = [u for u in self._uris(digest) if u != uri]
        uris.append(uri)
        try:
            write_bytes_atomic(self._path(digest), json.dumps(uris[-MAX_COPIES:]).encode())
        except OSError:
            pass  # the index only saves re-executions; a full disk must not fail a run

    def _uris(self, digest: str) -> list[str]:
        data = read_bytes_or_none(self._path(digest))
        if data is None:
            return []
        try:
            uris = json.loads(data)
        except ValueError:
            return []
        return [u for u in uris if isinstance(u, str)] if isinstance(uris, list) else []

    def find(self, digest: str | None, *, exclude: str | None = None) -> str | None:
        """A path whose current bytes have ``digest`` (re-hashed to be sure), or None."""
        if not digest:
            return None
        for uri in reversed(self._uris(digest)):  # newest first
            try:
                path = self._layout.from_uri(uri)
            except ConsistError:
                continue  # an entry that no longer resolves (mount removed)
            if path == exclude or not os.path.exists(path):
                continue
            try:
                if self._digester.digest(path, what="recorded copy") == digest:
                    return path
            except ConsistError:
                continue
        return None

    def restore(self, artifact: Artifact, target: str | None = None) -> bool:
        """Copy a recorded copy of ``artifact``'s bytes to ``target`` (default: its own
        path); False when no copy exists."""
        destination = target or artifact.abs_path or self._layout.from_uri(artifact.uri)
        source = self.find(artifact.hash, exclude=destination)
        if source is None:
            return False
        copy_atomic(source, destination)
        return True
