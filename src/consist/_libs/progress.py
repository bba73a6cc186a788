"""Progress on a terminal: a rich progress bar when stderr is a TTY, else nothing.

Long ingestions report rows as they stream; a batch job (no TTY: SLURM logs, CI) gets
no bar and no control characters in its logs. rich is optional: without it, nothing.
``stream`` (default: ``sys.stderr`` at call time) is where the bar would be drawn.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO


@contextmanager
def row_progress(
    description: str, total: int | None = None, stream: IO[str] | None = None
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(rows)``; it draws a bar only when ``stream`` is a terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not (callable(isatty) and isatty()):
        yield lambda rows: None
        return
    try:
        from rich.console import Console
        from rich.progress import Progress
    except ImportError:
        yield lambda rows: None
        return
    console = Console(file=stream, force_terminal=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)

        def advance(rows: int) -> None:
            progress.update(task, advance=rows)

        yield advance
