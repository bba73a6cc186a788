"""Producer edges: the narrow table an upstream lineage walk joins (both SQL stores).

One row per (consumer run, producer run): the consumer read an artifact the producer
produced (the input names its producer: ``producer_signature`` set and ``run_id``
another run; a raw input names its reader, or nothing). Edges are written with each
record, from the record, so a rebuild from the snapshots restores them.

Walk keys (schema version 7): each edge also holds ``run_key`` / ``producer_key``, a
60-bit integer derived from the run ids (the first 15 hex digits of their MD5), so
the recursive walk hashes integers instead of strings (~2x faster at 100,000 edges).
The key is computed in Python on write and in SQL on upgrade (``key_sql``); both give
the same value for the same UTF-8 bytes. Two runs may share a key: the walk then
meets a few more runs than it should, which is harmless, because the exact graph is
cut in memory from what was fetched (store/links.walk_lineage). Keys are never
shown to users and never compared across databases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from consist.model.run import ConsistRecord

#: Columns of ``producer_edges`` (the keys last: an upgraded table has them last).
EDGE_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "producer_run_id": "VARCHAR",
    "run_key": "BIGINT",  # schema version 7
    "producer_key": "BIGINT",  # schema version 7
}

#: SQL computing a walk key from a VARCHAR expression ``{}``, per dialect.
KEY_SQL = {
    "duckdb": "('0x' || substr(md5({}), 1, 15))::BIGINT",
    "postgres": "('x' || substr(md5({}), 1, 15))::bit(60)::bigint",
}


def walk_key(run_id: str) -> int:
    """The walk key of a run id (see the module doc); fits a signed BIGINT."""
    digest = hashlib.md5(run_id.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return int(digest.hexdigest()[:15], 16)


def key_sql(dialect: str, expression: str) -> str:
    return KEY_SQL[dialect].format(expression)


def backfill_keys_sql(dialect: str) -> str:
    """Fill the keys of edges written before schema version 7."""
    return (
        f"UPDATE producer_edges SET run_key = {key_sql(dialect, 'run_id')}, "
        f"producer_key = {key_sql(dialect, 'producer_run_id')} WHERE run_key IS NULL"
    )


def edge_rows(records: Iterable[ConsistRecord]) -> dict[tuple[str, str], tuple[str, str, int, int]]:
    """(consumer, producer) -> the row of ``EDGE_COLUMNS``, for the inputs of ``records``."""
    edges: dict[tuple[str, str], tuple[str, str, int, int]] = {}
    for record in records:
        run_id = record.run.id
        for artifact in record.inputs:
            producer = artifact.run_id
            if artifact.producer_signature is not None and producer and producer != run_id:
                if (run_id, producer) not in edges:
                    edges[(run_id, producer)] = (
                        run_id,
                        producer,
                        walk_key(run_id),
                        walk_key(producer),
                    )
    return edges
