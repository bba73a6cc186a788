"""The storage seam: what the rest of Consist may ask of a metadata store.

Everything a caller needs is declared by :class:`MetadataStore`; nothing outside
``store/`` names a concrete store class. Stores live below ``persist/``, so what they
need from it (the pending journal, the snapshots, a line decoder) comes in as the
small protocols below.

Transaction model: every write method is one transaction; ``record_runs`` upserts
(run, artifacts, links) for a batch of records atomically, keyed by run id and
artifact id, so replaying the same records (after a crash between commit and journal
cleanup) changes nothing. ``session`` groups writes under one lock holder (a store
shared between processes serialises whole sessions); ``read_session`` groups reads
and never writes, never creates a file, and sees one consistent state.

How records arrive: a store shared between processes (``journaled``) receives each
record through the writing process's pending journal and copies it in with
``catch_up``; a store private to one process takes records at once through
``record_runs`` and catches up with other processes by re-reading the snapshots.

A record the store cannot ingest (a value a typed column refuses, a journal line
that is not a record...) never blocks the others: given a ``RejectedRecords`` sink,
``record_runs`` and ``catch_up`` store every other record, hand the bad one to the
sink (persist/rejected.py keeps it where users can list it) and, for the journal,
still commit the offsets past it. Without a sink the error propagates.

Self-healing: a store that can be lost apart from the snapshots (a file) reports its
``lineage`` in a write session: which snapshot *generations* (run_dir marker ids) it
indexes and whether the session had to create it. persist/sync.py compares that with
the run_dir's marker and rebuilds from the snapshots when they disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from consist.errors import StoreError
from consist.model import codec
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.store.links import (
    ArtifactLink,
    ArtifactQuery,
    LineageGraph,
    LinkQuery,
    RunResolver,
)


class StoreBusy(Exception):
    """Internal: a non-blocking session found the store held by another process."""


class StoreCorrupt(StoreError):
    """The store's file exists but cannot be opened as a store (garbage, truncated)."""


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Filters for run lookups; ``None`` means "any". ``tags`` must all be present;
    of ``any_tags``, at least one."""

    tags: tuple[str, ...] | None = None
    any_tags: tuple[str, ...] | None = None
    year: int | None = None
    iteration: int | None = None
    stage: str | None = None
    phase: str | None = None
    model: str | None = None
    status: str | None = None
    parent_id: str | None = None
    name: str | None = None
    metadata: dict[str, Any] | None = field(default=None, hash=False)
    signature: str | None = None
    config_hash: str | None = None
    input_hash: str | None = None
    git_hash: str | None = None
    limit: int | None = 100
    # "created": newest first. "latest": highest iteration first, then newest.
    order: str = "created"
    # Rows skipped before ``limit`` applies (paging, e.g. the web app's runs table).
    offset: int = 0

    def window(self, runs: list[Run]) -> list[Run]:
        """The ``offset``/``limit`` slice of runs already filtered and sorted."""
        end = None if self.limit is None else self.offset + self.limit
        return runs[self.offset : end]


class JournalChunkLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def end_offset(self) -> int: ...

    @property
    def lines(self) -> list[bytes]: ...

    @property
    def mine(self) -> bool:
        """Written by this process (a store taking records directly already has them)."""
        ...


ChunkT = TypeVar("ChunkT", bound=JournalChunkLike)


# Every record line the recorder writes starts so (persist/snapshot.encode_record).
_RECORD_PREFIX = b'{"schema_version":1,"run":{"id":"'


def line_run_id(line: bytes) -> str | None:
    """The run id a journal line starts with, or None when it cannot be read cheaply
    (another shape, an escaped id): such a line is decoded in full instead."""
    if not line.startswith(_RECORD_PREFIX):
        return None
    start = len(_RECORD_PREFIX)
    end = line.find(b'"', start)
    raw = line[start:end] if end > 0 else b"\\"
    if b"\\" in raw:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


def latest_lines(chunks: Sequence[ChunkT]) -> list[tuple[ChunkT, bytes]]:
    """(journal chunk, line) of the last line of each run, in the order of those lines.

    A run's lines are in one journal file, in order, each superseding the one before,
    so only the last needs decoding. A line whose run id is not read cheaply is kept
    (its decoded record then orders after the lines before it, as before).
    """
    latest: dict[object, tuple[ChunkT, bytes]] = {}
    for chunk in chunks:
        for line in chunk.lines:
            key: object = line_run_id(line)
            if key is None:
                key = object()
            else:
                latest.pop(key, None)  # keep the order of last lines
            latest[key] = (chunk, line)
    return list(latest.values())


def guess_run_id(line: bytes) -> str | None:
    """The run id a journal line names, if it names one (also for a line that is not a
    valid record: the rejected-records list then says whose it was)."""
    run_id = line_run_id(line)
    if run_id is not None:
        return run_id
    try:
        run_id = codec.decode(line)["run"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return run_id if isinstance(run_id, str) else None


def decode_latest(
    chunks: Sequence[ChunkT],
    decode: RecordDecoder,
    rejected: RejectedRecords | None,
) -> list[tuple[ConsistRecord, ChunkT, bytes]]:
    """(record, chunk, line) of the last line of each run (``decode`` may materialise
    it), in order. A line that is not a record is set aside in ``rejected`` with the
    reason (without ``rejected``, the error propagates)."""
    decoded: list[tuple[ConsistRecord, ChunkT, bytes]] = []
    for chunk, line in latest_lines(chunks):
        try:
            record = decode(line)
        except Exception as exc:
            if rejected is None:
                raise
            reason = f"unreadable journal line: {type(exc).__name__}: {exc}"
            rejected.set_aside(guess_run_id(line), reason, chunk.name, line)
            continue
        if record is not None:
            decoded.append((record, chunk, line))
    return decoded


class PendingRecords(Protocol):
    """What a store needs of the pending journal (persist/journal.py) to ingest it."""

    def scan(self, consumed: dict[str, int]) -> Sequence[JournalChunkLike]: ...

    def remove_consumed(self, consumed: dict[str, int]) -> list[str]: ...


#: Turns one journal line into a record, or None for a line to skip. It may raise
#: (any Exception) for a line that is not a record: the store sets the line aside.
RecordDecoder = Callable[[bytes], ConsistRecord | None]


class RejectedRecords(Protocol):
    """Where a store sets aside what it cannot ingest (persist/rejected.py).

    ``origin`` names where the record came from (a journal file, "snapshot"); ``line``
    is the raw journal line, or None when the record's snapshot is what keeps it.
    Must be idempotent: after a sync that failed before committing, the same record
    is set aside again (and warned about only once).
    """

    def set_aside(
        self, run_id: str | None, reason: str, origin: str, line: bytes | None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class StoreLineage:
    """What a store knows of its own origin, read in a session (see the module doc).

    ``generations``: the snapshot generations (run_dir marker ids) it was built from.
    ``created``: why this session created the store ("missing", or "corrupt: moved
    aside to <path>"), None if it was there already. ``empty``: it holds no run.
    """

    generations: frozenset[str]
    created: str | None = None
    empty: bool = False


class SnapshotSource(Protocol):
    """The snapshot directory (persist/snapshot.py), read-only."""

    def list_ids(self) -> list[str]: ...

    def load(self, run_id: str) -> ConsistRecord | None: ...


# RunQuery field -> Run field, for the plain equality filters every store applies.
EQUALITY_FILTERS = (
    ("year", "year"),
    ("iteration", "iteration"),
    ("stage", "stage"),
    ("phase", "phase"),
    ("model", "model_name"),
    ("status", "status"),
    ("parent_id", "parent_run_id"),
    ("name", "name"),
    ("signature", "signature"),
    ("config_hash", "config_hash"),
    ("input_hash", "input_hash"),
    ("git_hash", "git_hash"),
)


@runtime_checkable
class MetadataStore(Protocol):
    """What a metadata store implements (MemoryStore, SnapshotMemoryStore, DuckDBStore)."""

    @property
    def location(self) -> str | None:
        """Where the store lives (a file path), or None for a store in memory."""
        ...

    @property
    def journaled(self) -> bool:
        """True if records reach the store through the pending journal (see module doc)."""
        ...

    def session(
        self, *, blocking: bool = True, timeout: float | None = None
    ) -> AbstractContextManager[None]:
        """Group writes (and reads) under one lock holder.

        Raises StoreBusy at once if ``blocking`` is False and another process holds the
        store; StoreError after ``timeout`` seconds otherwise. Sessions nest.
        """
        ...

    def read_session(self) -> AbstractContextManager[None]:
        """Group reads: one consistent state, no write, no file created. Nests in session()."""
        ...

    def record_runs(
        self, records: Sequence[ConsistRecord], *, rejected: RejectedRecords | None = None
    ) -> None:
        """Upsert ``records``; with ``rejected``, one the store refuses is set aside
        (origin "snapshot") and the others are stored."""
        ...

    def catch_up(
        self,
        pending: PendingRecords,
        decode: RecordDecoder,
        *,
        rejected: RejectedRecords | None = None,
    ) -> int:
        """Copy in what other writers persisted since the last call; return how many runs.

        A journaled store ingests the pending journal (and commits how far it read in
        the same transaction); a process-private store re-reads the snapshots. With
        ``rejected``, lines it cannot ingest are set aside and read past.
        """
        ...

    def lineage(self) -> StoreLineage | None:
        """The store's lineage (see the module doc), or None for a store that cannot be
        lost apart from the snapshots (one in memory). In a read session it reports
        what it finds and creates nothing (a missing file reads as empty)."""
        ...

    def add_generation(self, generation: str) -> None:
        """Record (in a write session) that the store now indexes this generation."""
        ...

    def journal_offsets(self) -> dict[str, int]:
        """How far each pending-journal file has been copied in (empty if not journaled)."""
        ...

    def get_run(self, run_id: str) -> Run | None: ...

    def query_runs(self, query: RunQuery) -> list[Run]: ...

    def get_run_artifacts(self, run_id: str) -> tuple[list[Artifact], list[Artifact]]:
        """(inputs, outputs) of a run."""
        ...

    def find_artifacts_by_uri(self, uri: str) -> list[Artifact]:
        """Every artifact recorded at ``uri`` (as input or output of any run), newest
        ``created_at`` first, ties by id."""
        ...

    def count_runs(self) -> int: ...

    def query_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        """Distinct artifacts matching ``query`` (rules in store/links.py)."""
        ...

    def query_links(self, query: LinkQuery) -> list[ArtifactLink]:
        """Run-artifact links matching ``query`` (rules in store/links.py)."""
        ...

    def get_lineage(
        self,
        artifact_id: str,
        *,
        direction: str,
        max_depth: int | None,
        resolve_runs: RunResolver | None = None,
    ) -> LineageGraph | None:
        """The lineage walk from one artifact (store/links.py), or None if it is unknown.
        A SQL store answers with a constant number of queries, whatever the depth.
        ``resolve_runs``: the caller's copies of runs, which the store may use instead of
        fetching them (store/links.py)."""
        ...

    def sql_engine(self) -> object | None:
        """A SQLAlchemy engine over the store that holds no connection between uses, or
        None for a store without SQL (or, read-only, without a database yet)."""
        ...

    def close(self) -> None:
        """Release what the store holds (an engine); the store stays usable."""
        ...


@runtime_checkable
class SharedSignatures(Protocol):
    """Optional: a store shared by many machines (store/postgres/) also answers the cache
    lookup of a signature this machine has not seen, gives the record of a run another
    machine wrote (its snapshot is not here), and locks signatures for all of them (the
    object returned has cache/locks.py's ``acquire`` / ``release``)."""

    def find_completed(self, signature: str) -> ConsistRecord | None: ...

    def get_record(self, run_id: str) -> ConsistRecord | None: ...

    def signature_locks(self) -> Any: ...


def metadata_kind(value: Any) -> str:
    """How a ``metadata=`` filter value is compared, identically in every store.

    Scalars compare by JSON type and value (``1`` matches ``1.0``; ``True`` does not
    match ``1``); lists and dicts compare by their key-sorted JSON text.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    return "json"


def canonical_meta_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def metadata_matches(stored: Any, wanted: Any) -> bool:
    """Python twin of the SQL comparison built in store/duckdb/read.py."""
    kind = metadata_kind(wanted)
    if kind != metadata_kind(stored):
        return False
    if kind == "json":
        return canonical_meta_json(stored) == canonical_meta_json(wanted)
    return bool(stored == wanted)


def run_sort_key(order: str):  # type: ignore[no-untyped-def]
    """Python twin of the SQL ORDER BY used by stores, so both agree."""
    if order == "latest":
        return lambda run: (
            run.iteration is not None,
            run.iteration if run.iteration is not None else 0,
            run.created_at or "",
            run.id,
        )
    return lambda run: (run.created_at or "", run.id)
