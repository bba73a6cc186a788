"""Output of the CLI: rich tables on stdout, JSON for ``--json``, errors and progress on stderr.

Rules: data goes to stdout (a table, JSON or CSV) so it pipes; messages, errors and
progress go to stderr. Output that is not a terminal gets a wide, colourless table so
ids are never cut or wrapped in logs. A progress bar is drawn only when stderr is a
terminal; a batch job (SLURM log, CI, a pipe) gets none and no control characters.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

_PIPE_WIDTH = 240  # columns for output that is not a terminal: ids stay whole


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout/stderr (made per call: tests swap the streams)."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(
        file=stream,
        width=None if terminal else _PIPE_WIDTH,
        no_color=not terminal,
        highlight=False,
        soft_wrap=not terminal,
    )


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready data (records through ``to_dict``; tuples as lists)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return to_plain(to_dict())
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(to_plain(value), indent=2, default=str) + "\n")


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None
) -> None:
    """A rich table on stdout; ``None`` cells print as empty."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console().print(table)


def print_text(text: str) -> None:
    console().print(text, markup=False)


def note(text: str) -> None:
    """A message for the person at the terminal (stderr), e.g. "no runs match"."""
    sys.stderr.write(text + "\n")


def short(digest: str | None, width: int = 12) -> str:
    return "" if not digest else digest[:width]


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``; it draws a bar only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.progress import Progress

    with Progress(console=Console(file=sys.stderr), transient=True) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
