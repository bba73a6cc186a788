"""Gateway to dlt (ingestion into the hot tables): import it lazily or name the extra."""

from __future__ import annotations

import os
from typing import Any

from consist.errors import MissingDependencyError

# dlt reports anonymous usage to its makers unless told not to; Consist runs on clusters
# without network and must never phone home on a user's behalf.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def import_dlt() -> Any:
    """The ``dlt`` module; raises MissingDependencyError naming ``consist[ingest]``."""
    try:
        import dlt
    except ImportError as exc:
        raise MissingDependencyError(
            "Ingestion needs dlt, which is not installed.",
            fix="pip install 'consist[ingest]'",
        ) from exc
    return dlt


def arrow_columns(arrow_schema: Any) -> dict[str, Any]:
    """dlt column hints for a pyarrow schema (an imported file must declare its columns)."""
    from dlt.common.libs.pyarrow import py_arrow_to_table_schema_columns

    columns: dict[str, Any] = py_arrow_to_table_schema_columns(arrow_schema)
    return columns


def model_columns(model: Any) -> dict[str, Any]:
    """dlt column hints for a pydantic / SQLModel class (typed columns, even when null)."""
    from dlt.common.libs.pydantic import pydantic_to_table_schema_columns

    columns: dict[str, Any] = pydantic_to_table_schema_columns(model)
    return columns
