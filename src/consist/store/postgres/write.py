"""Upserts into the PostgreSQL store, safe with many writers at once.

A batch of records is one transaction: runs, artifacts, then the runs' links (a
re-recorded run replaces its links), facets, value rows and producer edges (facets.py).
Rows are upserted with ``INSERT ... ON CONFLICT DO UPDATE`` in key order, so two writers
sharing an artifact lock its row in the same order and cannot deadlock each other (a
deadlock or serialization failure would still be retried by connect.PgLink).

One round trip per batch: the statements (one multi-row ``VALUES`` per table) are bound
on the client (psycopg's ClientCursor quotes every value as a literal: values are data,
never SQL) and sent as ONE simple query. PostgreSQL runs a multi-statement query as one
implicit transaction, so a failure leaves nothing behind. A batch that must release
signature locks once it is durable (the final record of a step, locks.py) is wrapped in
an explicit ``BEGIN ... COMMIT`` followed by the unlocks, in the same message: another
worker that then takes the lock finds the committed run. Measured on loopback: 0.15 ms
for such a message, against 0.32 ms for the same statements pipelined with parameters.

One bad record must not block the others: like the DuckDB store, a batch the server
refuses for its data is split in halves down to the records that fail alone, which go
to ``reject``; only data errors are isolated (a lost connection says nothing about a
record and propagates, to be retried).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from consist._libs.psycopg import psycopg
from consist.model.run import ConsistRecord
from consist.store.postgres.facets import upsert_facets_and_edges
from consist.store.sql_tables import ARTIFACT_COLUMNS, LINK_COLUMNS, RUN_COLUMNS

RejectRecord = Callable[[ConsistRecord, str], None]


def _placeholder(kind: str) -> str:
    return "%s::json" if kind == "JSON" else "%s"


class Script:
    """Statements and their parameters, sent as one message (see the module doc)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def upsert(
        self,
        table: str,
        columns: dict[str, str],
        rows: Sequence[tuple[Any, ...]],
        key: tuple[str, ...],
    ) -> None:
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        row = "(" + ", ".join(_placeholder(kind) for kind in columns.values()) + ")"
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in key)
        conflict = ", ".join(f'"{c}"' for c in key)
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        values = ", ".join([row] * len(rows))
        self.add(
            f"INSERT INTO {table} ({names}) VALUES {values} ON CONFLICT ({conflict}) {action}",
            [value for item in rows for value in item],
        )

    def send(self, conn: Any) -> None:
        if not self.parts:
            return
        with psycopg().ClientCursor(conn) as cur:
            cur.execute("; ".join(self.parts), self.params)


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "JSON":
        # Sorted keys and raw UTF-8, as in the DuckDB store, so nested JSON compares by text.
        return json.dumps(value, default=repr, sort_keys=True, ensure_ascii=False)
    if kind == "TIMESTAMP" and isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment
    if kind == "VARCHAR[]":
        return list(value)
    return value


def _row(columns: dict[str, str], data: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(_value(kind, data.get(name)) for name, kind in columns.items())


def record_script(records: Sequence[ConsistRecord], unlock_keys: Sequence[int] = ()) -> Script:
    """The statements that insert or replace ``records``, then release ``unlock_keys``."""
    script = Script()
    if not records:
        for key in unlock_keys:
            script.add("SELECT pg_advisory_unlock(%s)", [key])
        return script
    runs: dict[str, tuple[Any, ...]] = {}
    artifacts: dict[str, tuple[Any, ...]] = {}
    links: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for record in records:
        data = record.run.to_dict()
        data["config"] = record.config
        runs[record.run.id] = _row(RUN_COLUMNS, data)
        for direction, items in (("input", record.inputs), ("output", record.outputs)):
            for artifact in items:
                artifacts[artifact.id] = _row(ARTIFACT_COLUMNS, artifact.to_dict())
                link = {
                    "run_id": record.run.id,
                    "artifact_id": artifact.id,
                    "direction": direction,
                    "key": artifact.key,
                }
                links[(record.run.id, artifact.id, direction)] = _row(LINK_COLUMNS, link)
    if unlock_keys:
        script.add("BEGIN")
    run_ids = sorted(runs)
    script.upsert("runs", RUN_COLUMNS, [runs[k] for k in run_ids], ("id",))
    script.upsert("artifacts", ARTIFACT_COLUMNS, [artifacts[k] for k in sorted(artifacts)], ("id",))
    script.add("DELETE FROM run_artifacts WHERE run_id = ANY(%s)", [run_ids])
    script.upsert(
        "run_artifacts",
        LINK_COLUMNS,
        [links[k] for k in sorted(links)],
        ("run_id", "artifact_id", "direction"),
    )
    upsert_facets_and_edges(records, run_ids, script)
    if unlock_keys:
        script.add("COMMIT")
        for key in unlock_keys:
            script.add("SELECT pg_advisory_unlock(%s)", [key])
    return script


def upsert_records(
    conn: Any, records: Sequence[ConsistRecord], unlock_keys: Sequence[int] = ()
) -> None:
    """Insert or replace the runs, artifacts and links of ``records`` in one transaction
    (one message), then release the advisory locks ``unlock_keys``."""
    record_script(records, unlock_keys).send(conn)


def data_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "this data cannot be stored", as opposed to "the store failed"."""
    pg = psycopg()
    return (
        pg.DataError,
        pg.IntegrityError,
        pg.errors.UntranslatableCharacter,
        UnicodeError,
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
    )


def upsert_isolating(
    run: Callable[[Callable[[Any], None]], None],
    records: Sequence[ConsistRecord],
    reject: RejectRecord,
    *,
    first: Callable[[Any], None] | None = None,
) -> int:
    """Store ``records`` (each try through ``run``: one transaction); records the server
    refuses go to ``reject``. Return how many were stored. ``first`` writes the whole
    batch on the first try (with its lock releases); the halves release nothing."""
    errors = data_errors()
    try:
        run(first or (lambda conn: upsert_records(conn, records)))
        return len(records)
    except errors:
        pass  # find the culprits; the rolled-back batch left nothing behind
    return _store_halves(run, list(records), reject, errors)


def _store_halves(
    run: Callable[[Callable[[Any], None]], None],
    records: list[ConsistRecord],
    reject: RejectRecord,
    errors: tuple[type[BaseException], ...],
) -> int:
    # Halves in order, so the last record of a run still wins, as in one batch.
    if len(records) == 1:
        try:
            run(lambda conn: upsert_records(conn, records))
            return 1
        except errors as exc:
            text = str(exc).strip()
            reject(records[0], f"{type(exc).__name__}: {text.splitlines()[0] if text else exc!r}")
            return 0
    middle = len(records) // 2
    stored = 0
    for half in (records[:middle], records[middle:]):
        try:
            run(lambda conn, half=half: upsert_records(conn, half))  # type: ignore[misc]
            stored += len(half)
        except errors:
            stored += _store_halves(run, half, reject, errors)
    return stored
