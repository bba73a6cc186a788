"""Services: the frozen bundle of collaborators a Tracker builds and the spine unpacks.

``store`` is typed as the MetadataStore protocol: which class backs it is decided
here, once, from the settings (``db_path`` and ``access_mode``), and nothing above
``store/`` names the class again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from consist.cache.index import CompletedIndex, ProducedIndex
from consist.cache.locks import SignatureLocks
from consist.fs.layout import RunLayout
from consist.identity.files import FileDigester
from consist.options import AccessMode
from consist.persist.hooks import HookRegistry
from consist.persist.journal import PendingJournal
from consist.persist.liveness import Liveness
from consist.persist.recorder import RunRecorder
from consist.persist.sync import SnapshotDirectory, StoreSync
from consist.settings import DIGEST_MEMO_MIN_BYTES, STORE_LOCK_TIMEOUT_SECONDS, TrackerConfig
from consist.store.base import MetadataStore
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
    locks: SignatureLocks | None
    liveness: Liveness
    hooks: HookRegistry


def open_store(settings: TrackerConfig, layout: RunLayout) -> MetadataStore:
    """The store the settings ask for: DuckDB at ``db_path``, else snapshots in memory."""
    if settings.db_path is None:
        return SnapshotMemoryStore(SnapshotDirectory(layout))
    return DuckDBStore(
        os.fspath(settings.db_path),
        layout=layout,
        lock_timeout=STORE_LOCK_TIMEOUT_SECONDS,
        read_only=settings.access_mode is AccessMode.READ,
    )


def build_services(settings: TrackerConfig, *, store: MetadataStore | None = None) -> Services:
    """Wire the collaborators; ``store`` overrides the one the settings would open."""
    layout = RunLayout(settings.run_dir)
    access_mode = AccessMode.parse(settings.access_mode, "access_mode")
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
    completed, produced = CompletedIndex(layout), ProducedIndex(layout)
    return Services(
        settings=settings,
        layout=layout,
        digester=FileDigester(layout.digest_memo_dir, persist_min_bytes=DIGEST_MEMO_MIN_BYTES),
        completed=completed,
        produced=produced,
        store=store,
        sync=sync,
        recorder=RunRecorder(layout, sync, completed, produced),
        locks=SignatureLocks(layout) if settings.signature_locks else None,
        liveness=liveness,
        hooks=HookRegistry(),
    )
