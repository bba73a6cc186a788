"""Schema records: the columns of a file, of an ingested table or of a SQLModel class.

Rules:

* a schema is its ordered columns (name, DuckDB type, nullable); its id is the digest of
  those, so the same columns found twice are one record (deduplicated);
* records are JSON files beside the snapshots, not DuckDB rows, so they survive a store
  rebuild, work without a store, and profiling at ``log_artifact`` never opens the
  DuckDB file (the hot path stays file-only):
  ``run_dir/.consist/schemas/<schema_id>.json`` (the columns; written once),
  ``.../artifacts/<artifact_id>.json`` (per source ``file`` / ``duckdb`` /
  ``user_provided``: the schema id, the stats of the sample and the class or table
  name), ``.../content/<hash>.json`` (the file profile of those bytes, for
  ``profile_file_schema="if_changed"``);
* the artifact's ``meta`` also carries ``schema_id`` (and ``schema_name`` for a
  SQLModel class), so a later session finds the class by name
  (``Tracker.get_registered_schema``) and views select artifacts by schema;
* a file is profiled with an in-memory DuckDB over at most ``sample_rows`` rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from consist.errors import QueryError
from consist.fs.atomic import read_bytes_or_none, write_bytes_atomic, write_bytes_if_absent
from consist.identity.canonical import canonical_json, digest_bytes
from consist.views.hybrid import COLD_READERS, DLT_COLUMNS
from consist.views.names import literal, quote_identifier

SOURCES = ("file", "duckdb", "user_provided")
DEFAULT_SAMPLE_ROWS = 1000
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_:\-]{0,199}")

_PYTHON_TO_SQL: dict[Any, str] = {
    bool: "BOOLEAN",
    int: "BIGINT",
    float: "DOUBLE",
    str: "VARCHAR",
    bytes: "BLOB",
    dt.datetime: "TIMESTAMP",
    dt.date: "DATE",
    dt.time: "TIME",
}


class SchemaNotFoundError(QueryError, KeyError):
    """No schema record matches the selector (a KeyError, as the reference documents)."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return Exception.__str__(self)


@dataclass(frozen=True, slots=True)
class SchemaColumn:
    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class SchemaRecord:
    """One source's schema of an artifact: the columns, stats of a sample, a name."""

    schema_id: str
    columns: tuple[SchemaColumn, ...]
    source: str
    name: str | None = None
    stats: dict[str, dict[str, Any]] | None = None


class SchemaStore:
    """The schema files of one run_dir (see the module docstring)."""

    def __init__(self, state_dir: str) -> None:
        self.root = os.path.join(state_dir, "schemas")

    def save(self, record: SchemaRecord, artifact_id: str | None, content_hash: str | None) -> None:
        body = {"schema_id": record.schema_id, "columns": [_col(c) for c in record.columns]}
        write_bytes_if_absent(self._path(record.schema_id), canonical_json(body))
        link = {"schema_id": record.schema_id, "name": record.name, "stats": record.stats}
        if artifact_id is not None:
            links = self._read(os.path.join("artifacts", artifact_id)) or {}
            links[record.source] = link
            write_bytes_atomic(self._path(os.path.join("artifacts", artifact_id)), _dump(links))
        if content_hash is not None and record.source == "file":
            write_bytes_atomic(self._path(os.path.join("content", content_hash)), _dump(link))

    def by_content(self, content_hash: str) -> SchemaRecord | None:
        link = self._read(os.path.join("content", content_hash))
        return None if link is None else self._record(link, "file")

    def get(self, schema_id: str) -> SchemaRecord | None:
        body = self._read(schema_id)
        if body is None:
            return None
        return SchemaRecord(schema_id, _columns(body), "unknown")

    def for_artifact(self, artifact_id: str, prefer_source: str | None) -> SchemaRecord:
        links = self._read(os.path.join("artifacts", artifact_id)) or {}
        order = ["user_provided", prefer_source or "file", *SOURCES]
        for source in order:
            if source in links:
                return self._record(links[source], source)
        raise SchemaNotFoundError(
            f"No schema is recorded for artifact {artifact_id!r}.",
            fix="Log it with profile_file_schema=True, ingest it, or log it with schema=Model.",
            artifact_id=artifact_id,
        )

    def table_of(self, artifact_id: str) -> str | None:
        """The hot table an artifact was ingested into, if any."""
        links = self._read(os.path.join("artifacts", artifact_id)) or {}
        found = links.get("duckdb", {}).get("name")
        return str(found) if found else None

    def all_ids(self) -> list[str]:
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n[:-5] for n in names if n.endswith(".json"))

    def _record(self, link: dict[str, Any], source: str) -> SchemaRecord:
        body = self._read(link["schema_id"]) or {"columns": []}
        return SchemaRecord(
            link["schema_id"], _columns(body), source, link.get("name"), link.get("stats")
        )

    def _path(self, name: str) -> str:
        # Ids come from callers (export_schema_sqlmodel(artifact_id=...)): one safe name
        # per path part, so no id reads a file outside the schema directory.
        for part in name.split(os.sep):
            if _SAFE_NAME.fullmatch(part) is None:
                raise SchemaNotFoundError(
                    f"{part!r} is not a schema or artifact id.",
                    fix="Pass the id as Consist reported it (hex characters).",
                    value=repr(part),
                )
        return os.path.join(self.root, name + ".json")

    def _read(self, name: str) -> dict[str, Any] | None:
        data = read_bytes_or_none(self._path(name))
        return None if data is None else dict(json.loads(data))


def make_record(
    columns: list[SchemaColumn],
    source: str,
    name: str | None = None,
    stats: dict[str, dict[str, Any]] | None = None,
) -> SchemaRecord:
    body = {"columns": [_col(c) for c in columns]}
    schema_id = digest_bytes(canonical_json(body))[:32]
    return SchemaRecord(schema_id, tuple(columns), source, name, stats)


def profile_file(path: str, driver: str | None, sample_rows: int) -> SchemaRecord | None:
    """The columns and sample stats of a tabular file, or None for a non-tabular driver."""
    reader = COLD_READERS.get(driver or "")
    if reader is None or not os.path.isfile(path):
        return None
    source = f"(SELECT * FROM {reader.format(path=literal(path))} LIMIT {int(sample_rows)})"
    import duckdb

    conn = duckdb.connect()
    try:
        described = conn.execute(f"DESCRIBE {source}").fetchall()
        summary = conn.execute(f"SUMMARIZE {source}").fetchall()
        names = [d[0] for d in conn.description or ()]
    finally:
        conn.close()
    stats: dict[str, dict[str, Any]] = {}
    for row in summary:
        item = dict(zip(names, row, strict=True))
        stats[str(item["column_name"])] = {
            k: _plain(item.get(k)) for k in ("min", "max", "approx_unique", "null_percentage")
        }
        stats[str(item["column_name"])]["sampled_rows"] = _plain(item.get("count"))
    columns = [SchemaColumn(row[0], row[1], row[2] != "NO") for row in described]
    return make_record(columns, "file", os.path.basename(path).split(".", 1)[0], stats)


def profile_table(conn: Any, table: str) -> SchemaRecord:
    """The columns of ``global_tables.<table>`` after ingestion (dlt bookkeeping left out)."""
    rows = conn.execute(f"DESCRIBE global_tables.{quote_identifier(table)}").fetchall()
    columns = [SchemaColumn(r[0], r[1], r[2] != "NO") for r in rows if r[0] not in DLT_COLUMNS]
    return make_record(columns, "duckdb", table)


def model_record(model: type) -> SchemaRecord:
    """The declared columns of a SQLModel (pydantic) class: the user-provided schema."""
    fields = getattr(model, "model_fields", None)
    if not isinstance(fields, dict):
        from consist.errors import ConfigError

        raise ConfigError(
            f"schema={model!r} is not a SQLModel / pydantic model class.",
            fix="Pass a class deriving from sqlmodel.SQLModel.",
            parameter="schema",
        )
    columns = []
    for name, info in fields.items():
        kind, nullable = sql_type_of(info.annotation)
        columns.append(SchemaColumn(name, kind, nullable))
    return make_record(columns, "user_provided", model.__name__)


def sql_type_of(annotation: Any) -> tuple[str, bool]:
    """(DuckDB type, nullable) of a field annotation; unknown types are VARCHAR."""
    nullable = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        annotation = args[0] if len(args) == 1 else str
    return _PYTHON_TO_SQL.get(annotation, "VARCHAR"), nullable


def _col(column: SchemaColumn) -> dict[str, Any]:
    return {"name": column.name, "type": column.type, "nullable": column.nullable}


def _columns(body: dict[str, Any]) -> tuple[SchemaColumn, ...]:
    return tuple(SchemaColumn(c["name"], c["type"], bool(c["nullable"])) for c in body["columns"])


def _dump(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=str).encode()


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)
