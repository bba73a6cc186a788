"""TrackerConfig and the limits every record is validated against. Every default lives here."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from consist.errors import ConfigError
from consist.options import AccessMode, CodeIdentityMode

#: Longest run id, run name or model name accepted (names become file names).
MAX_NAME_LENGTH = int(os.environ.get("CONSIST_MAX_NAME_LENGTH", "200"))
#: Longest tag accepted.
MAX_TAG_LENGTH = int(os.environ.get("CONSIST_MAX_TAG_LENGTH", "200"))
#: Largest canonical config (its JSON, in bytes) a run accepts. Records travel as JSON lines
#: into the store, so one huge value must be refused at the call, not at the next sync.
MAX_CONFIG_BYTES = int(os.environ.get("CONSIST_MAX_CONFIG_BYTES", str(8 << 20)))
#: Largest metadata (run meta from begin_run/log_meta, or one artifact's meta), as JSON bytes.
MAX_META_BYTES = int(os.environ.get("CONSIST_MAX_META_BYTES", str(1 << 20)))
#: Runs recorded in one process before an opportunistic store sync is attempted.
SYNC_EVERY_RUNS = int(os.environ.get("CONSIST_SYNC_EVERY_RUNS", "500"))
#: Seconds after which pending runs trigger an opportunistic store sync.
SYNC_EVERY_SECONDS = float(os.environ.get("CONSIST_SYNC_EVERY_SECONDS", "30"))
#: How long close() / interpreter exit waits for the store before leaving runs pending.
EXIT_SYNC_TIMEOUT_SECONDS = float(os.environ.get("CONSIST_EXIT_SYNC_TIMEOUT", "15"))
#: Files at least this large get an on-disk digest memo, so a new process never re-reads
#: them while unchanged; smaller files hash faster than a memo file is written.
DIGEST_MEMO_MIN_BYTES = int(os.environ.get("CONSIST_DIGEST_MEMO_MIN_BYTES", str(256 * 1024)))
#: Whether tracker.run holds a per-signature lock from lookup to cache entry (cache/locks.py).
SIGNATURE_LOCKS = os.environ.get("CONSIST_SIGNATURE_LOCKS", "1").lower() not in ("0", "false", "no")
#: How often a tracker with a run active touches its heartbeat file (persist/liveness.py).
HEARTBEAT_SECONDS = float(os.environ.get("CONSIST_HEARTBEAT_SECONDS", "30"))
#: A run owned by another host whose heartbeat is older than this is marked abandoned.
ABANDON_AFTER_SECONDS = float(os.environ.get("CONSIST_ABANDON_AFTER_SECONDS", "600"))
#: How long a blocking store session waits for another process's lock before failing.
STORE_LOCK_TIMEOUT_SECONDS = float(os.environ.get("CONSIST_STORE_LOCK_TIMEOUT", "120"))


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Typed construction settings for :class:`~consist.Tracker`.

    Parameters
    ----------
    run_dir:
        Root directory for run outputs and JSON snapshots (``consist_runs/``).
    db_path:
        Local DuckDB file for the queryable store. ``None`` keeps records in JSON
        snapshots only. A URL (``postgresql://...``, ``sqlite://...``, any scheme) is
        refused: a PostgreSQL store is planned, not available yet.
    code_identity:
        Default code identity mode for runs that do not set one.
    sync_every_runs, sync_every_seconds:
        When pending records are brought into the DuckDB store opportunistically.
    signature_locks:
        Whether two processes starting the same ``tracker.run`` signature run it once
        (the second waits, then hits). See cache/locks.py.
    access_mode:
        ``"write"`` (default) records runs; ``"read"`` only queries and never writes
        anything (see :class:`~consist.options.AccessMode`).
    mounts:
        ``{name: root}``: a path under ``root`` is recorded as ``name://relative``, so a
        record stays valid when the data moves (point the mount at the new root).
    """

    run_dir: str | Path = "./runs"
    db_path: str | Path | None = None
    code_identity: CodeIdentityMode | str = CodeIdentityMode.REPO_GIT
    sync_every_runs: int = SYNC_EVERY_RUNS
    sync_every_seconds: float = SYNC_EVERY_SECONDS
    signature_locks: bool = SIGNATURE_LOCKS
    access_mode: AccessMode | str = AccessMode.WRITE
    mounts: Mapping[str, str | Path] | None = None

    def __post_init__(self) -> None:
        _check_path_type(self.run_dir, "run_dir", optional=False)
        _check_path_type(self.db_path, "db_path", optional=True)
        if not str(self.run_dir).strip():
            raise ConfigError(
                f"run_dir={self.run_dir!r} is empty.",
                fix="Pass a directory path, for example run_dir='./runs'.",
                parameter="run_dir",
            )
        if self.db_path is not None and not str(self.db_path).strip():
            raise ConfigError(
                f"db_path={self.db_path!r} is empty.",
                fix="Pass a file path such as './provenance.duckdb', or None for JSON-only records.",
                parameter="db_path",
            )
        if self.db_path is not None:
            _refuse_url(os.fspath(self.db_path))
        object.__setattr__(
            self, "code_identity", CodeIdentityMode.parse(self.code_identity, "code_identity")
        )
        object.__setattr__(self, "access_mode", AccessMode.parse(self.access_mode, "access_mode"))


# ``scheme:/`` with a scheme of two or more letters (one letter would be a Windows drive).
# A Path collapses ``//`` to ``/``, so ``Path("s3://b/x")`` arrives as ``s3:/b/x``.
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")
_SUPPORTED_DB_PATHS = (
    "Pass a local DuckDB file path such as db_path='./provenance.duckdb', or db_path=None "
    "to keep records in JSON snapshots only. A PostgreSQL store is planned, not available yet."
)


def _check_path_type(value: object, parameter: str, *, optional: bool) -> None:
    if optional and value is None:
        return
    if isinstance(value, str) or (
        isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)
    ):
        return
    expected = "a str or pathlib.Path" + (", or None" if optional else "")
    raise ConfigError(
        f"{parameter}={value!r} is a {type(value).__name__}, not a path.",
        fix=f"Pass {expected}.",
        parameter=parameter,
        value=repr(value),
    )


def _refuse_url(db_path: str) -> None:
    """A URL is not a store Consist can open: refuse it before anything is created.

    Without this, ``postgresql://user@host/db`` became a DuckDB file in a folder
    named ``postgresql:``.
    """
    match = _URL_SCHEME.match(db_path)
    if match is None:
        return
    raise ConfigError(
        f"db_path={db_path!r} is a URL (scheme {match.group(1)!r}); the store is a local "
        "DuckDB file, so no URL is accepted.",
        fix=_SUPPORTED_DB_PATHS
        + " (A local folder whose name ends in ':' is written './name:/...'.)",
        parameter="db_path",
        value=repr(db_path),
    )
