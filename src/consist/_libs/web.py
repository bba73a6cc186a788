"""Gateway to the web app's libraries (the ``ui`` extra): Starlette, Jinja2, uvicorn.

``require_ui()`` imports them or raises :class:`MissingDependencyError` whose fix is
``pip install 'consist[ui]'``; callers import ``consist.web`` only after it passed.
"""

from __future__ import annotations

import importlib

from consist.errors import MissingDependencyError

UI_MODULES = ("starlette", "jinja2", "uvicorn")


def require_ui(feature: str = "consist ui") -> None:
    for module in UI_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise MissingDependencyError(
                f"{feature} needs the Python package {module!r}, which is not installed.",
                fix="pip install 'consist[ui]'",
                module=module,
                extra="ui",
            ) from exc
