"""TrackerConfig and the limits every record is validated against. Every default lives here."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

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
        Local DuckDB file for the queryable store, or a PostgreSQL URL
        (``postgresql://user@host:port/db`` or ``postgresql+psycopg://...``) for a store
        shared by many machines (``pip install 'consist[postgres]'``). ``None`` keeps
        records in JSON snapshots only. Any other URL scheme is refused.
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
        if self.db_path is not None and postgres_url(self.db_path) is None:
            _refuse_url(os.fspath(self.db_path))
        object.__setattr__(
            self, "code_identity", CodeIdentityMode.parse(self.code_identity, "code_identity")
        )
        object.__setattr__(self, "access_mode", AccessMode.parse(self.access_mode, "access_mode"))


# ``scheme:/`` with a scheme of two or more letters (one letter would be a Windows drive).
# A Path collapses ``//`` to ``/``, so ``Path("s3://b/x")`` arrives as ``s3:/b/x``.
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")
_SUPPORTED_DB_PATHS = (
    "Pass a local DuckDB file path such as db_path='./provenance.duckdb', a PostgreSQL URL "
    "such as db_path='postgresql://user@host:5432/db', or db_path=None to keep records in "
    "JSON snapshots only."
)
_POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
#: Seconds a PostgreSQL store waits for the server to answer a connect (never a hang).
POSTGRES_CONNECT_TIMEOUT_SECONDS = int(os.environ.get("CONSIST_POSTGRES_CONNECT_TIMEOUT", "10"))
#: How long a PostgreSQL write keeps retrying transient errors (backoff) before giving up.
POSTGRES_RETRY_SECONDS = float(os.environ.get("CONSIST_POSTGRES_RETRY_SECONDS", "60"))


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


def postgres_url(db_path: str | os.PathLike[str]) -> str | None:
    """The libpq URL (``postgresql://...``) of a PostgreSQL ``db_path``, or None if
    ``db_path`` is not one. A malformed PostgreSQL URL is a ConfigError naming db_path."""
    if not isinstance(db_path, str):
        return None  # a Path collapses '//': never a URL Consist opens
    match = _URL_SCHEME.match(db_path)
    if match is None or match.group(1).lower() not in _POSTGRES_SCHEMES:
        return None
    rest = db_path[len(match.group(1)) + 1 :]  # after 'scheme:'
    problem = None
    if not rest.startswith("//"):
        problem = "has no '//' after the scheme"
    else:
        parts = urlsplit("postgresql:" + rest)
        try:
            parts.port  # noqa: B018 - validates the port
        except ValueError:
            problem = "has a port that is not a number"
        else:
            if not parts.path.strip("/"):
                problem = "names no database (the '/dbname' part)"
            elif not parts.hostname and "host=" not in parts.query:
                problem = "names no host"
    if problem is not None:
        raise ConfigError(
            f"db_path={db_path!r} is not a usable PostgreSQL URL: it {problem}.",
            fix="Write it as db_path='postgresql://user:password@host:5432/dbname'.",
            parameter="db_path",
            value=repr(db_path),
        )
    return "postgresql:" + rest


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
        "DuckDB file or a PostgreSQL server, so no other URL is accepted.",
        fix=_SUPPORTED_DB_PATHS
        + " (A local folder whose name ends in ':' is written './name:/...'.)",
        parameter="db_path",
        value=repr(db_path),
    )
