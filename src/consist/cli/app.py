"""The ``consist`` command: the Typer root, global options and the error policy.

Every command is a client of the public ``Tracker`` API (cli/session.py opens it).

Exit codes: 0 success; 1 a user error: a ConsistError, printed as ``Error: <problem>``
(``Cause: <cause>``) ``Hint: <fix>`` on stderr, never a traceback; 2 a usage error
(unknown command or option, bad option value: click's own message); 130 interrupted.

Registering commands: each module of this package exposes ``register(app)``, called
once below in ``_COMMAND_MODULES`` order. A new front end (``consist ui``) adds its
module (``consist.cli.ui``) to that list; command modules import heavy packages
inside their command bodies, so ``consist --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from consist.cli.session import DEFAULT_DB_PATH, DEFAULT_RUN_DIR, StoreLocation
from consist.errors import ConsistError

# Command modules, in --help order; each has register(app). ``ui`` is added by the web app.
_COMMAND_MODULES = ("runs", "artifacts", "views", "db", "ui")


def report_error(error: ConsistError) -> None:
    """The user-error format on stderr: Error / Cause / Hint lines."""
    lines = [f"Error: {error.problem}"]
    if error.cause:
        lines.append(f"Cause: {error.cause}")
    if error.fix:
        lines.append(f"Hint: {error.fix}")
    sys.stderr.write("\n".join(lines) + "\n")


class ConsistGroup(TyperGroup):
    """The root group: a ConsistError from any command becomes exit code 1."""

    def invoke(self, ctx: Any) -> Any:  # typer's (vendored) click Context
        try:
            return super().invoke(ctx)
        except ConsistError as error:
            report_error(error)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted.\n")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=ConsistGroup,
    name="consist",
    help="Browse Consist runs, lineage, diffs and views; check and rebuild the store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    run_dir: Annotated[
        Path,
        typer.Option(
            "--run-dir",
            envvar="CONSIST_RUN_DIR",
            help="The Tracker's run_dir (JSON snapshots).",
            show_default=True,
        ),
    ] = Path(DEFAULT_RUN_DIR),
    db_path: Annotated[
        Path,
        typer.Option(
            "--db-path",
            envvar="CONSIST_DB_PATH",
            help="The DuckDB store.",
            show_default=True,
        ),
    ] = Path(DEFAULT_DB_PATH),
) -> None:
    """Browse Consist runs, lineage, diffs and views; check and rebuild the store."""
    ctx.obj = StoreLocation(run_dir=run_dir, db_path=db_path)


for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"consist.cli.{_name}")
    except ModuleNotFoundError as _missing:
        if _missing.name != f"consist.cli.{_name}":
            raise
        continue  # a front end not part of this installation (e.g. ``ui``)
    _module.register(app)
