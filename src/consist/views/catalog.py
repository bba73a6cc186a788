"""What a DuckDB store offers to SQL beside the metadata: views and hot tables.

Listed for ``Tracker.list_views`` (the CLI's ``consist views``): every view that is
not DuckDB's own (hybrid views created by ``view`` / ``create_view`` /
``create_grouped_view`` in ``main``, the store's compatibility views such as
``global_tables.run_config_kv``) and every hot table of ``global_tables`` (ingested
data), each with its columns in order. Read through a read-only connection: listing
never writes and never holds the file beyond the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_LIST_SQL = """
SELECT v.schema_name, v.view_name, 'view' FROM duckdb_views() v
 WHERE NOT v.internal AND v.database_name = current_database()
UNION ALL
SELECT t.schema_name, t.table_name, 'table' FROM duckdb_tables() t
 WHERE t.schema_name = 'global_tables' AND t.database_name = current_database()
ORDER BY 1, 2
"""

_COLUMNS_SQL = (
    "SELECT table_schema, table_name, column_name FROM information_schema.columns "
    "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, "
    "ordinal_position"
)


@dataclass(frozen=True, slots=True)
class ViewInfo:
    """One queryable relation: ``name`` in ``schema`` (``kind`` "view" or "table")."""

    name: str
    schema: str
    kind: str
    columns: tuple[str, ...]

    @property
    def qualified_name(self) -> str:
        """``name`` as SQL finds it: bare in ``main``, else ``schema.name``."""
        return self.name if self.schema == "main" else f"{self.schema}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schema": self.schema,
            "qualified_name": self.qualified_name,
            "kind": self.kind,
            "columns": list(self.columns),
        }


def list_views(conn: Any) -> list[ViewInfo]:
    """The views and hot tables of the database ``conn`` is open on (module doc)."""
    columns: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in conn.execute(_COLUMNS_SQL).fetchall():
        columns.setdefault((schema, table), []).append(column)
    return [
        ViewInfo(name, schema, kind, tuple(columns.get((schema, name), ())))
        for schema, name, kind in conn.execute(_LIST_SQL).fetchall()
    ]
