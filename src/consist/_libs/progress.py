"""Progress on a terminal: a rich progress bar when stderr is a TTY, else nothing.

Long ingestions report rows as they stream; a batch job (no TTY: SLURM logs, CI) gets
no bar and no control characters in its logs. rich is optional: without it, nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def row_progress(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(rows)``; it draws a bar only when attached to a terminal."""
    if not sys.stderr.isatty():
        yield lambda rows: None
        return
    try:
        from rich.progress import Progress
    except ImportError:
        yield lambda rows: None
        return
    with Progress(transient=True) as progress:
        task = progress.add_task(description, total=total)

        def advance(rows: int) -> None:
            progress.update(task, advance=rows)

        yield advance
