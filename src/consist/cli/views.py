"""Commands over the SQL side of the store: ``views`` (list) and ``query "SQL"``.

``query`` runs DuckDB SQL through ``Tracker.run_query`` on a read-only tracker: the
store's tables (runs, artifacts, run_artifacts...), ``global_tables`` (hot data,
``run_config_kv``) and the registered views. The database is opened read-only, so a
statement that writes fails, and the file is held only while the statement runs.
Rows print as a table, or ``--json`` (a list of objects) or ``--csv`` (with a header).
Runs still pending in journals are not visible to SQL until a writer syncs them.
"""

from __future__ import annotations

import csv
import sys
from typing import Annotated

import typer

from consist._libs.sqlalchemy import sql_text
from consist.cli.render import note, print_json, print_table
from consist.cli.session import location
from consist.errors import QueryError

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def views(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the views and hot tables that SQL (consist query) can read."""
    with location(ctx).open() as tracker:
        found = tracker.list_views()
    if as_json:
        print_json(found)
        return
    if not found:
        note("No views: create some with tracker.view(...) / create_view(...).")
        return
    rows = [(v.qualified_name, v.kind, ", ".join(v.columns)) for v in found]
    print_table(("name", "kind", "columns"), rows, title=f"{len(found)} view(s)")


def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help='DuckDB SQL, e.g. "SELECT * FROM runs".')],
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV with a header.")] = False,
) -> None:
    """Run DuckDB SQL over the store and its views (read-only)."""
    if as_json and as_csv:
        raise typer.BadParameter("pass --json or --csv, not both", param_hint="--json/--csv")
    statement = sql_text(sql)
    with location(ctx).open() as tracker:
        try:
            rows = tracker.run_query(statement)
        except Exception as exc:
            if not _is_sql_error(exc):
                raise
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise QueryError(
                f"The SQL failed: {reason}",
                fix="Check the statement; `consist views` lists the views and their columns, "
                "and the store's tables are runs, artifacts and run_artifacts.",
                parameter="SQL",
            ) from None
    columns = list(rows[0]._fields) if rows else []
    records = [tuple(row) for row in rows]
    if as_json:
        print_json([dict(zip(columns, record, strict=True)) for record in records])
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        if columns:
            writer.writerow(columns)
        writer.writerows(records)
    elif not records:
        note("(no rows)")
    else:
        print_table(columns, records, title=f"{len(records)} row(s)")


def _is_sql_error(exc: Exception) -> bool:
    """An error of the database about the statement (not a bug of ours)."""
    module = type(exc).__module__
    return module.startswith(("sqlalchemy", "duckdb", "_duckdb"))


def register(app: typer.Typer) -> None:
    app.command("views")(views)
    app.command("query")(query)
