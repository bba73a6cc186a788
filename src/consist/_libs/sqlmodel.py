"""Gateway to SQLModel: the typed class ``Tracker.view`` returns for a hybrid view."""

from __future__ import annotations

from typing import Any

from consist.errors import MissingDependencyError


def view_class(model: Any, view_name: str, extra_columns: dict[str, Any]) -> Any:
    """A non-table SQLModel class with ``model``'s fields (all optional) plus
    ``extra_columns``, whose ``__tablename__`` is the view's name."""
    try:
        from sqlmodel import SQLModel
    except ImportError as exc:
        raise MissingDependencyError(
            "Tracker.view needs sqlmodel, which is not installed.",
            fix="pip install 'consist[ingest]'",
        ) from exc
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__tablename__": view_name, "__module__": model.__module__}
    for name, info in model.model_fields.items():
        annotations[name] = info.annotation | None
        namespace[name] = None
    for name, kind in extra_columns.items():
        annotations[name] = kind | None
        namespace[name] = None
    namespace["__annotations__"] = annotations
    return type(f"{model.__name__}View", (SQLModel,), namespace)
