"""``consist db``: keep the SQL store honest against the JSON snapshots (the truth).

``db check`` compares them without writing (``Tracker.check_store``; safe beside a
running sweep) and exits 1 when the store has missing, extra, mismatched or unreadable
entries (runs pending in journals are no fault). ``db rebuild`` re-imports every
snapshot (``Tracker.rebuild_store``), the one command that opens the store for writing.
Both draw a progress bar when stderr is a terminal.

``db copy SRC DEST`` copies every run (config, artifacts, facets) of one store into
another: each a DuckDB file or a ``postgresql://`` URL (``maintenance.copy_store``,
verified by counts). ``SRC`` is only read; rows already in ``DEST`` with the same run
id are replaced, others kept. ``--run-dir`` is the run_dir both stores belong to
(artifact URIs are relative to it); it is not written.
"""

from __future__ import annotations

from typing import Annotated

import typer

from consist.cli.render import note, print_json, print_table, print_text, progress_bar
from consist.cli.session import location

app = typer.Typer(
    help="Check or rebuild the SQL store from the JSON snapshots.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("check")
def check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare the store with the snapshots: missing, extra and mismatched runs."""
    with location(ctx).open() as tracker, progress_bar("Checking snapshots") as update:
        result = tracker.check_store(progress=update)
    if as_json:
        print_json(result)
    else:
        rows: list[tuple[str, str, str]] = []
        rows += [
            ("missing", run_id, "in a snapshot, not in the store") for run_id in result.missing
        ]
        rows += [("extra", run_id, "in the store, no snapshot") for run_id in result.extra]
        rows += [("mismatched", m.run_id, ", ".join(m.fields)) for m in result.mismatched]
        rows += [("unreadable", run_id, "snapshot does not parse") for run_id in result.unreadable]
        rows += [("pending", run_id, "not synced yet (no fault)") for run_id in result.pending]
        if rows:
            print_table(("problem", "run", "detail"), rows)
        verdict = "ok" if result.ok else "NOT ok"
        print_text(
            f"{verdict}: {result.snapshots} snapshot(s), {result.stored} run(s) in the store, "
            f"{len(result.missing)} missing, {len(result.extra)} extra, "
            f"{len(result.mismatched)} mismatched, {len(result.unreadable)} unreadable, "
            f"{len(result.pending)} pending."
        )
    if not result.ok:
        if not as_json:
            note("Hint: consist db rebuild re-imports the snapshots into the store.")
        raise typer.Exit(1)


@app.command("rebuild")
def rebuild(ctx: typer.Context) -> None:
    """Rebuild the store from the JSON snapshots (and pending journal lines)."""
    with location(ctx).open(write=True) as tracker, progress_bar("Rebuilding") as update:
        imported = tracker.rebuild_store(progress=update)
        where = tracker.db_path
    print_text(f"Rebuilt {where} from {imported} snapshot(s).")


@app.command("copy")
def copy(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(help="The store to read: a DuckDB file or a URL.")],
    dest: Annotated[
        str, typer.Argument(help="The store to write: a DuckDB file or a postgresql:// URL.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Copy every run of the store SRC into the store DEST, verified by counts."""
    from consist.maintenance.copy import copy_store  # the stores' drivers only when used

    report = copy_store(src, dest, run_dir=location(ctx).run_dir)
    if as_json:
        print_json({"src": src, "dest": dest, **report.to_dict()})
        return
    print_text(
        f"Copied {report.runs} run(s), {report.artifact_links} artifact link(s), "
        f"{report.facets} facet(s) and {report.config_kv} facet value row(s) "
        f"from {src} to {dest}; {dest} now holds {report.dest_runs} run(s)."
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")
