"""Services: the frozen bundle of collaborators a Tracker builds and the spine unpacks."""

from __future__ import annotations

import os
from dataclasses import dataclass

from consist.cache.index import CompletedIndex, ProducedIndex
from consist.cache.locks import SignatureLocks
from consist.fs.layout import RunLayout
from consist.identity.files import FileDigester
from consist.persist.hooks import HookRegistry
from consist.persist.journal import PendingJournal
from consist.persist.recorder import RunRecorder
from consist.persist.sync import SnapshotMemoryStore, StoreSync
from consist.settings import DIGEST_MEMO_MIN_BYTES, STORE_LOCK_TIMEOUT_SECONDS, TrackerConfig
from consist.store.duckdb.store import DuckDBStore


@dataclass(frozen=True, slots=True)
class Services:
    settings: TrackerConfig
    layout: RunLayout
    digester: FileDigester
    completed: CompletedIndex
    produced: ProducedIndex
    store: DuckDBStore | SnapshotMemoryStore
    sync: StoreSync
    recorder: RunRecorder
    locks: SignatureLocks | None
    hooks: HookRegistry


def build_services(settings: TrackerConfig) -> Services:
    layout = RunLayout(settings.run_dir)
    layout.ensure()
    store: DuckDBStore | SnapshotMemoryStore
    if settings.db_path is None:
        store = SnapshotMemoryStore(layout)
    else:
        store = DuckDBStore(
            os.fspath(settings.db_path), layout=layout, lock_timeout=STORE_LOCK_TIMEOUT_SECONDS
        )
    sync = StoreSync(
        layout,
        store,
        PendingJournal(layout),
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
        hooks=HookRegistry(),
    )
