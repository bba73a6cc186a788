"""Schema annotations of ``log_artifact``: ``schema=Model`` and ``profile_file_schema``.

* ``schema=Model`` stores the class name in ``artifact.meta["schema_name"]`` and the
  declared columns as the artifact's ``user_provided`` schema record;
* ``profile_file_schema=True`` profiles the file (DuckDB over a sample) and stores the
  ``file`` record; ``"if_changed"`` reuses the record of the same bytes (the content
  hash) when one exists, reading no row; ``False``/``None`` does nothing;
* ``artifact.meta["schema_id"]`` names the file profile when there is one, else the
  user-provided schema. Nothing here opens the DuckDB store.
"""

from __future__ import annotations

from typing import Any

from consist.errors import invalid_option
from consist.model.artifact import Artifact
from consist.views.schemas import (
    DEFAULT_SAMPLE_ROWS,
    SchemaStore,
    model_record,
    profile_file,
)

PROFILE_CHOICES = (None, False, True, "if_changed")


def check_profile_option(value: object) -> None:
    if not any(value is choice or value == choice for choice in PROFILE_CHOICES) or (
        isinstance(value, int) and not isinstance(value, bool)
    ):
        raise invalid_option("profile_file_schema", value, ["True", "False", "'if_changed'"])


def annotate_artifact(
    store: SchemaStore,
    artifact: Artifact,
    *,
    schema: Any = None,
    profile: bool | str | None = None,
    sample_rows: int | None = None,
) -> None:
    """Record the schemas of a just-logged artifact and note them in its meta."""
    check_profile_option(profile)
    if schema is not None:
        record = model_record(schema)
        store.save(record, artifact.id, None)
        artifact.meta["schema_name"] = schema.__name__
        artifact.meta["schema_id"] = record.schema_id
    if not profile:
        return
    found = None
    if profile == "if_changed" and artifact.hash is not None:
        found = store.by_content(artifact.hash)
    if found is None:
        found = profile_file(
            str(artifact.path), artifact.driver, sample_rows or DEFAULT_SAMPLE_ROWS
        )
    if found is not None:
        store.save(found, artifact.id, artifact.hash)
        artifact.meta["schema_id"] = found.schema_id
