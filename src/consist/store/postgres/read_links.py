"""Artifact lookups of the PostgreSQL store (SQL twin of store/links.py's LinkIndex):
store/sql_reads.py in PostgreSQL's dialect.

Every value is a bound parameter (``%s``; lists as arrays with ``= ANY``). Lineage is
walked level by level with store/links.walk_lineage (two batched link queries per
level, never one per artifact); a recursive query, as in the DuckDB store, is not
written for PostgreSQL yet.
"""

from __future__ import annotations

from functools import partial

from consist.store import sql_reads
from consist.store.postgres.read import DIALECT

query_artifacts = partial(sql_reads.query_artifacts, DIALECT)
query_links = partial(sql_reads.query_links, DIALECT)
