"""Bulk upserts into the DuckDB store.

Rows go through a newline-delimited JSON file read by DuckDB's ``read_json``: one
C-level bulk load instead of per-row parameter binding, which measured ~150x faster
(2,000 runs: 13 ms vs 3.6 s with executemany).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from consist.fs.atomic import write_bytes_atomic
from consist.model.run import ConsistRecord
from consist.store.duckdb.schema import ARTIFACT_COLUMNS, LINK_COLUMNS, RUN_COLUMNS


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
    conn.execute("BEGIN TRANSACTION")
    try:
        _bulk_upsert(conn, "runs", RUN_COLUMNS, runs.values(), scratch_dir)
        _bulk_upsert(conn, "artifacts", ARTIFACT_COLUMNS, artifacts.values(), scratch_dir)
        # A re-recorded run (running -> final) replaces its links, never accumulates them.
        conn.execute("DELETE FROM run_artifacts WHERE list_contains(?, run_id)", [list(runs)])
        _bulk_upsert(conn, "run_artifacts", LINK_COLUMNS, links.values(), scratch_dir)
        for name, offset in (journal_offsets or {}).items():
            conn.execute("INSERT OR REPLACE INTO consist_journal VALUES (?, ?)", [name, offset])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _bulk_upsert(
    conn: Any,
    table: str,
    columns: dict[str, str],
    rows: Iterable[dict[str, Any]],
    scratch_dir: str,
) -> None:
    # Sorted keys and raw UTF-8 make nested JSON compare by text (see read.py).
    lines = [
        json.dumps(
            {c: row.get(c) for c in columns}, default=repr, sort_keys=True, ensure_ascii=False
        )
        for row in rows
    ]
    if not lines:
        return
    path = os.path.join(scratch_dir, f"upsert-{table}-{os.getpid()}-{uuid.uuid4().hex}.ndjson")
    write_bytes_atomic(path, ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
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


def _object_size_limit(lines: list[str]) -> int:
    # read_json refuses a line longer than maximum_object_size (16 MB by default); a
    # record within Consist's own limits must never be refused, so size it to the batch.
    longest = max(len(line) for line in lines) * 4  # characters -> UTF-8 bytes, at worst
    return max(16 << 20, longest + 1024)


def read_journal_offsets(conn: Any) -> dict[str, int]:
    return dict(conn.execute("SELECT file, consumed FROM consist_journal").fetchall())


def forget_journal_files(conn: Any, names: list[str]) -> None:
    if names:
        conn.execute("DELETE FROM consist_journal WHERE list_contains(?, file)", [names])
