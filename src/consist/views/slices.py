"""Config slices in global_tables: has a slice artifact been ingested already?

A config slice artifact (``config_role == "table"``, adapters/apply.py) is content
addressed: the same configuration gives the same artifact id in every run. Its rows are
therefore ingested into ``global_tables.<table>`` once, by the first run that logs it;
later runs of that configuration find the rows by ``consist_artifact_id``.
"""

from __future__ import annotations

from consist.views.ingest import HotStore
from consist.views.names import quote_identifier


def slice_ingested(hot: HotStore, table: str, artifact_id: str) -> bool:
    """True when ``global_tables.<table>`` holds rows of ``artifact_id``."""
    with hot.read_connection() as conn:
        if conn is None:
            return False
        exists = conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'global_tables' AND table_name = ?",
            [table],
        ).fetchone()
        if not exists or not exists[0]:
            return False
        row = conn.execute(
            f"SELECT 1 FROM global_tables.{quote_identifier(table)} "
            "WHERE consist_artifact_id = ? LIMIT 1",
            [artifact_id],
        ).fetchone()
        return row is not None
