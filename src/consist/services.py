"""Services: the frozen bundle of collaborators a Tracker builds and the spine unpacks.

``store`` is typed as the MetadataStore protocol: which class backs it is decided
here, once, from the settings (``db_path`` and ``access_mode``), and nothing above
``store/`` names the class again.

Before anything is created, the locations are checked on the file system (a few
``stat`` calls, no DuckDB import): ``run_dir`` and ``db_path`` must not be, or lie
under, a regular file; ``db_path`` must not be a directory (nor ``run_dir`` or one of
its parents); a writer must be able to create them. A refused construction leaves
nothing on disk. A reader may name a ``db_path`` that does not exist yet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from consist.cache.copies import CopyIndex
from consist.cache.index import CompletedIndex, ProducedIndex
from consist.cache.locks import SignatureLock, SignatureLocks
from consist.errors import ConfigError
from consist.fs.layout import RunLayout
from consist.identity.files import FileDigester
from consist.options import AccessMode
from consist.persist.hooks import HookRegistry
from consist.persist.journal import PendingJournal
from consist.persist.liveness import Liveness
from consist.persist.recorder import RunRecorder
from consist.persist.sync import SnapshotDirectory, StoreSync
from consist.settings import (
    DIGEST_MEMO_MIN_BYTES,
    POSTGRES_CONNECT_TIMEOUT_SECONDS,
    POSTGRES_RETRY_SECONDS,
    STORE_LOCK_TIMEOUT_SECONDS,
    TrackerConfig,
    postgres_url,
)
from consist.store.base import MetadataStore, SharedSignatures
from consist.store.duckdb.store import DuckDBStore
from consist.store.memory import SnapshotMemoryStore


@dataclass(frozen=True, slots=True)
class Services:
    settings: TrackerConfig
    layout: RunLayout
    digester: FileDigester
    completed: CompletedIndex
    produced: ProducedIndex
    store: MetadataStore
    sync: StoreSync
    recorder: RunRecorder
    locks: SignatureLock | None
    liveness: Liveness
    hooks: HookRegistry
    copies: CopyIndex


def open_store(settings: TrackerConfig, layout: RunLayout) -> MetadataStore:
    """The store the settings ask for: PostgreSQL for a URL, DuckDB at ``db_path``, else
    snapshots in memory."""
    if settings.db_path is None:
        return SnapshotMemoryStore(SnapshotDirectory(layout))
    url = postgres_url(settings.db_path)
    if url is not None:
        from consist.store.postgres.store import PostgresStore  # psycopg only when used

        return PostgresStore(
            url,
            layout=layout,
            connect_timeout=POSTGRES_CONNECT_TIMEOUT_SECONDS,
            retry_seconds=POSTGRES_RETRY_SECONDS,
            read_only=settings.access_mode is AccessMode.READ,
            db_path=os.fspath(settings.db_path),
        )
    return DuckDBStore(
        os.fspath(settings.db_path),
        layout=layout,
        lock_timeout=STORE_LOCK_TIMEOUT_SECONDS,
        read_only=settings.access_mode is AccessMode.READ,
    )


def build_services(settings: TrackerConfig, *, store: MetadataStore | None = None) -> Services:
    """Wire the collaborators; ``store`` overrides the one the settings would open."""
    layout = RunLayout(settings.run_dir, settings.mounts)
    access_mode = AccessMode.parse(settings.access_mode, "access_mode")
    check_locations(settings, layout, writable=access_mode is AccessMode.WRITE)
    if access_mode is AccessMode.WRITE:
        layout.ensure()  # a reader creates nothing, not even run_dir/.consist
    if store is None:
        store = open_store(settings, layout)
    liveness = Liveness(layout)
    sync = StoreSync(
        layout,
        store,
        PendingJournal(layout),
        liveness=liveness,
        access_mode=access_mode,
        every_runs=settings.sync_every_runs,
        every_seconds=settings.sync_every_seconds,
    )
    digester = FileDigester(layout.digest_memo_dir, persist_min_bytes=DIGEST_MEMO_MIN_BYTES)
    # A shared server store answers for signatures this machine has not seen, and locks
    # signatures across machines (store/postgres/); otherwise files in run_dir do both.
    shared = store if isinstance(store, SharedSignatures) else None
    completed = CompletedIndex(layout, shared.find_completed if shared else None)
    # A produced output's record may still be a journal line (persist/materialize.py).
    produced = ProducedIndex(layout, sync.find_record)
    locks: SignatureLock | None = None
    if settings.signature_locks:
        locks = shared.signature_locks() if shared else SignatureLocks(layout)
    return Services(
        settings=settings,
        layout=layout,
        digester=digester,
        completed=completed,
        produced=produced,
        store=store,
        sync=sync,
        recorder=RunRecorder(layout, sync, completed, produced),
        locks=locks,
        liveness=liveness,
        hooks=HookRegistry(),
        copies=CopyIndex(layout, digester),
    )


# --- location checks (before anything is created) -----------------------------------

_PERMISSION_FIX = "Choose a location this user can write, or fix its permissions."


def check_locations(settings: TrackerConfig, layout: RunLayout, *, writable: bool) -> None:
    """Refuse a run_dir / db_path that can never work, naming the parameter."""
    run_dir = layout.run_dir
    _refuse_under_file(settings.run_dir, run_dir, "run_dir")
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise _location_error(
            "run_dir", settings.run_dir, "is an existing file.", "Pass a directory path."
        )
    if writable:
        _refuse_unwritable(settings.run_dir, _nearest_existing(run_dir), "run_dir")
    if settings.db_path is None or postgres_url(settings.db_path) is not None:
        return  # a server URL was checked by TrackerConfig; the store connects to it
    db_path = os.path.abspath(os.fspath(settings.db_path))
    _refuse_under_file(settings.db_path, db_path, "db_path")
    if os.path.isdir(db_path) or run_dir == db_path or run_dir.startswith(db_path + os.sep):
        raise _location_error(
            "db_path",
            settings.db_path,
            f"is a directory ({db_path}), or would have to become one to hold run_dir.",
            "Name a file for the DuckDB store, e.g. db_path='./provenance.duckdb'.",
        )
    if writable:
        if os.path.exists(db_path):
            _refuse_unwritable(settings.db_path, db_path, "db_path")
        # DuckDB's file, its WAL and the gate file are created beside db_path.
        _refuse_unwritable(settings.db_path, _nearest_existing(os.path.dirname(db_path)), "db_path")


def _nearest_existing(path: str) -> str:
    """``path`` itself or its closest ancestor that exists (missing folders get created)."""
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _refuse_under_file(value: str | os.PathLike[str], path: str, parameter: str) -> None:
    parent = _nearest_existing(os.path.dirname(path))
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise _location_error(
            parameter,
            value,
            f"lies under {parent}, which is a file, not a directory.",
            "Choose a path whose parent folders are directories (or do not exist yet).",
        )


def _refuse_unwritable(value: str | os.PathLike[str], existing: str, parameter: str) -> None:
    mode = os.W_OK | (os.X_OK if os.path.isdir(existing) else 0)
    if not os.access(existing, mode):
        raise _location_error(
            parameter, value, f"cannot be written: {existing} is not writable.", _PERMISSION_FIX
        )


def _location_error(
    parameter: str, value: str | os.PathLike[str], problem: str, fix: str
) -> ConfigError:
    return ConfigError(
        f"{parameter}={os.fspath(value)!r} {problem}",
        fix=fix,
        parameter=parameter,
        value=repr(os.fspath(value)),
    )
