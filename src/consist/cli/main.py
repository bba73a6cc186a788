"""The console script ``consist``: checks the ``cli`` extra, then runs the Typer app.

Kept apart from app.py so a missing typer/rich is an ``Error: / Hint:`` line naming
``pip install 'consist[cli]'`` (exit code 1) instead of an ImportError traceback.
"""

from __future__ import annotations

import importlib.util
import sys


def main() -> None:
    """Entry point of ``[project.scripts] consist``."""
    missing = [name for name in ("typer", "rich") if importlib.util.find_spec(name) is None]
    if missing:
        sys.stderr.write(
            f"Error: the consist command needs {', '.join(missing)}, which is not installed.\n"
            "Hint: pip install 'consist[cli]'\n"
        )
        raise SystemExit(1)
    from consist.cli.app import app

    app()


if __name__ == "__main__":
    main()
