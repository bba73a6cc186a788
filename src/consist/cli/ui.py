"""``consist ui``: serve the read-only web app over the store (see consist/web/).

The store comes from the root command's global ``--run-dir`` / ``--db-path`` (or
``CONSIST_RUN_DIR`` / ``CONSIST_DB_PATH``), like every other command.
"""

from __future__ import annotations

from typing import Annotated

import typer

from consist._libs.web import require_ui


def ui(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to bind; the default serves this machine only.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the runs page in a browser once listening.")
    ] = False,
) -> None:
    """Browse runs, lineage, diffs and config values in a local web app (read-only)."""
    require_ui()
    from consist.web.serve import serve_ui  # the ui extra is there: safe to import now

    location = ctx.obj  # set by the root command's global options
    serve_ui(location.run_dir, location.db_path, host=host, port=port, open_browser=open_browser)


def register(app: typer.Typer) -> None:
    """Add ``consist ui`` to the root command."""
    app.command("ui")(ui)
