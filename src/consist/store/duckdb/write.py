"""Bulk upserts into the DuckDB store.

Rows go through a newline-delimited JSON file read by DuckDB's ``read_json``: one
C-level bulk load instead of per-row parameter binding, which measured ~150x faster
(2,000 runs: 13 ms vs 3.6 s with executemany).

One bad record must not block the others (``upsert_isolating``): the batch is tried
whole first (the fast path, one transaction); if DuckDB refuses its data, it is split
in halves, each tried in its own transaction, down to the records that fail alone.
Those are handed to ``reject``; the rest are stored, then the journal offsets commit
(past the bad lines too). Only data errors are isolated: an I/O or lock error says
nothing about a record and propagates.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import duckdb
import orjson

from consist.fs.atomic import write_bytes_atomic
from consist.model import codec
from consist.model.run import ConsistRecord
from consist.store.duckdb.facets import upsert_facets
from consist.store.edges import EDGE_COLUMNS, edge_rows
from consist.store.sql_tables import ARTIFACT_COLUMNS, LINK_COLUMNS, RUN_COLUMNS


def upsert_records(
    conn: Any,
    records: Sequence[ConsistRecord],
    scratch_dir: str,
    journal_offsets: dict[str, int] | None = None,
) -> None:
    """Insert or replace runs, artifacts and links of ``records`` in one transaction.

    ``journal_offsets`` (journal file -> consumed bytes) commit in the same transaction,
    so the store never claims a run it does not hold, nor holds one it will copy twice.
    """
    if not records and not journal_offsets:
        return
    runs: dict[str, dict[str, Any]] = {}
    artifacts: dict[str, dict[str, Any]] = {}
    links: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in records:
        row = record.run.to_dict()
        row["config"] = record.config
        runs[record.run.id] = row
        for direction, items in (("input", record.inputs), ("output", record.outputs)):
            for artifact in items:
                artifacts[artifact.id] = artifact.to_dict()
                links[(record.run.id, artifact.id, direction)] = {
                    "run_id": record.run.id,
                    "artifact_id": artifact.id,
                    "direction": direction,
                    "key": artifact.key,
                }
    edges = [dict(zip(EDGE_COLUMNS, row, strict=True)) for row in edge_rows(records).values()]
    conn.execute("BEGIN TRANSACTION")
    try:
        _bulk_upsert(conn, "runs", RUN_COLUMNS, runs.values(), scratch_dir)
        _bulk_upsert(conn, "artifacts", ARTIFACT_COLUMNS, artifacts.values(), scratch_dir)
        # A re-recorded run (running -> final) replaces its links, never accumulates them.
        conn.execute("DELETE FROM run_artifacts WHERE list_contains(?, run_id)", [list(runs)])
        _bulk_upsert(conn, "run_artifacts", LINK_COLUMNS, links.values(), scratch_dir)
        upsert_facets(
            records, lambda name, cols, rows: _bulk_upsert(conn, name, cols, rows, scratch_dir)
        )
        conn.execute("DELETE FROM producer_edges WHERE list_contains(?, run_id)", [list(runs)])
        _bulk_upsert(conn, "producer_edges", EDGE_COLUMNS, edges, scratch_dir)
        for name, offset in (journal_offsets or {}).items():
            conn.execute("INSERT OR REPLACE INTO consist_journal VALUES (?, ?)", [name, offset])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


#: Errors that mean "this data cannot be stored", as opposed to "the store failed".
DATA_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
    duckdb.ConstraintException,
    UnicodeError,
    ValueError,
    TypeError,
    OverflowError,
    RecursionError,
)

_SCRATCH_FILE = re.compile(r' in file "[^"]*upsert-[^"]*"')

#: Called with (record, reason) for each record that cannot be stored.
RejectRecord = Callable[[ConsistRecord, str], None]


def upsert_isolating(
    conn: Any,
    records: Sequence[ConsistRecord],
    scratch_dir: str,
    reject: RejectRecord,
    journal_offsets: dict[str, int] | None = None,
) -> int:
    """Like :func:`upsert_records`, but records the store refuses go to ``reject``
    instead of failing the batch (see the module doc); return how many were stored."""
    try:
        upsert_records(conn, records, scratch_dir, journal_offsets)
        return len(records)
    except DATA_ERRORS:
        pass  # find the culprits below; the rolled-back batch left nothing behind
    stored = _store_halves(conn, list(records), scratch_dir, reject)
    upsert_records(conn, [], scratch_dir, journal_offsets)
    return stored


def _store_halves(
    conn: Any, records: list[ConsistRecord], scratch_dir: str, reject: RejectRecord
) -> int:
    # Halves in order, so the last record of a run still wins, as in one batch.
    if len(records) == 1:
        try:
            upsert_records(conn, records, scratch_dir)
            return 1
        except DATA_ERRORS as exc:
            reject(records[0], f"{type(exc).__name__}: {_first_line(exc)}")
            return 0
    middle = len(records) // 2
    stored = 0
    for half in (records[:middle], records[middle:]):
        try:
            upsert_records(conn, half, scratch_dir)
            stored += len(half)
        except DATA_ERRORS:
            stored += _store_halves(conn, half, scratch_dir, reject)
    return stored


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # The scratch file's name says nothing about the record (and differs every time).
    return _SCRATCH_FILE.sub("", text.splitlines()[0]) if text else repr(exc)


def _bulk_upsert(
    conn: Any,
    table: str,
    columns: dict[str, str],
    rows: Iterable[dict[str, Any]],
    scratch_dir: str,
) -> None:
    # Sorted keys and raw UTF-8 make nested JSON compare by text (see read.py).
    lines = [_row_line({c: row.get(c) for c in columns}) for row in rows]
    if not lines:
        return
    path = os.path.join(scratch_dir, f"upsert-{table}-{os.getpid()}-{uuid.uuid4().hex}.ndjson")
    write_bytes_atomic(path, b"\n".join(lines) + b"\n")
    spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    # Columns by name: a migrated table has its added columns last, a new one in
    # the order of schema.py.
    names = ", ".join(f'"{name}"' for name in columns)
    try:
        conn.execute(
            f"INSERT OR REPLACE INTO {table} ({names}) SELECT {names} FROM read_json(?, "
            f"format='newline_delimited', columns={{{spec}}}, "
            f"maximum_object_size={_object_size_limit(lines)})",
            [path],
        )
    finally:
        os.unlink(path)


_ROW_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


#: Structured columns Consist fills itself, never with a user's float: a config is
#: canonical (NaN/inf tagged, identity/canonical.py); a decision holds digests, names and
#: the integer year / iteration / cache version; an owner holds host, pid and times.
_NO_USER_FLOATS = frozenset({"config", "cache_decision", "owner"})


def _may_hold_non_finite(row: dict[str, Any]) -> bool:
    for key, value in row.items():
        kind = type(value)
        if kind is float:
            if value - value != 0:  # NaN or +/-inf
                return True
        elif (kind is dict or kind is list) and key not in _NO_USER_FLOATS:
            if codec.has_non_finite(value):
                return True
        elif kind not in (str, int, bool, type(None), dict, list) and codec.has_non_finite(value):
            return True  # a float subclass, a tuple...
    return False


def _row_line(row: dict[str, Any]) -> bytes:
    # orjson (~10x json.dumps) unless it would turn NaN/inf into null, or refuses the row
    # (64-bit overflow, lone surrogates): then the standard library, as model/codec.py.
    if not _may_hold_non_finite(row):
        try:
            return orjson.dumps(row, default=repr, option=_ROW_OPTIONS)
        except orjson.JSONEncodeError:
            pass
    text = json.dumps(row, default=repr, sort_keys=True, ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def _object_size_limit(lines: list[bytes]) -> int:
    # read_json refuses a line longer than maximum_object_size (16 MB by default); a
    # record within Consist's own limits must never be refused, so size it to the batch.
    longest = max(len(line) for line in lines)
    return max(16 << 20, longest + 1024)


def read_journal_offsets(conn: Any) -> dict[str, int]:
    return dict(conn.execute("SELECT file, consumed FROM consist_journal").fetchall())


def forget_journal_files(conn: Any, names: list[str]) -> None:
    if names:
        conn.execute("DELETE FROM consist_journal WHERE list_contains(?, file)", [names])
