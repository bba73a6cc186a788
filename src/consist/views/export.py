"""Render a schema record as the source of an editable SQLModel class.

The stub is meant to be edited and checked in: one typed field per column (nullable
columns are ``X | None = None``), the DuckDB type and sample stats as trailing comments.
``abstract=True`` (the default) renders a plain ``SQLModel`` data class: no table, no
primary key needed. ``abstract=False`` renders ``table=True`` with ``__tablename__``;
a mapped table needs a primary key, so the first column is marked as one and a
comment says so (choose the real key when editing). Column names that are not Python
identifiers keep their SQL name through ``Field(alias=...)``.
"""

from __future__ import annotations

import keyword
import re

from consist.views.hybrid import PROVENANCE_COLUMNS
from consist.views.schemas import SchemaRecord

_PYTHON_TYPES = (
    (re.compile(r"^(BOOLEAN|BOOL)$"), "bool"),
    (re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?\d*|U?HUGEINT)$"), "int"),
    (re.compile(r"^(DOUBLE|FLOAT\d*|REAL)$"), "float"),
    (re.compile(r"^DECIMAL"), "Decimal"),
    (re.compile(r"^TIMESTAMP"), "datetime"),
    (re.compile(r"^DATE$"), "date"),
    (re.compile(r"^TIME$"), "time"),
    (re.compile(r"^BLOB$"), "bytes"),
)


def python_type(sql_type: str) -> str:
    for pattern, name in _PYTHON_TYPES:
        if pattern.match(sql_type.upper()):
            return name
    return "str"  # VARCHAR, and nested types kept as text in the stub (see the comment)


def render_sqlmodel(
    record: SchemaRecord,
    *,
    class_name: str | None = None,
    table_name: str | None = None,
    abstract: bool = True,
    include_system_cols: bool = False,
    include_stats_comments: bool = True,
) -> str:
    """Python source of a SQLModel class for ``record``."""
    base = record.name or "exported"
    table = table_name or _identifier(base.lower())
    cls = class_name or "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", base) if p)
    cls = _identifier(cls or "Exported")
    columns = [c for c in record.columns if include_system_cols or c.name not in PROVENANCE_COLUMNS]
    used = {python_type(c.type) for c in columns}
    lines = [
        f'"""SQLModel schema {record.schema_id} exported by Consist '
        f'(source: {record.source}). Edit freely."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    stdlib = sorted(used & {"datetime", "date", "time"})
    if stdlib:
        lines.append(f"from datetime import {', '.join(stdlib)}")
    if "Decimal" in used:
        lines.append("from decimal import Decimal")
    lines += ["", "from sqlmodel import Field, SQLModel", "", ""]
    lines.append(f"class {cls}(SQLModel{'' if abstract else ', table=True'}):")
    if not abstract:
        lines.append(f"    __tablename__ = {table!r}")
        lines.append("")
    if not columns:
        lines.append("    pass")
    for index, column in enumerate(columns):
        lines.append(
            "    " + _field(column, index == 0 and not abstract, record, include_stats_comments)
        )
    return "\n".join(lines) + "\n"


def _field(column, primary_key: bool, record: SchemaRecord, stats: bool) -> str:  # type: ignore[no-untyped-def]
    kind = python_type(column.type)
    name = column.name
    args = []
    attribute = name
    if not name.isidentifier() or keyword.iskeyword(name):
        attribute = _identifier(name)
        args.append(f"alias={name!r}")
    if primary_key:
        args.append("primary_key=True")
    nullable = column.nullable or primary_key
    annotation = f"{kind} | None" if nullable else kind
    default = "default=None" if nullable else ""
    call = ", ".join(a for a in [default, *args] if a)
    text = f"{attribute}: {annotation} = Field({call})" if call else f"{attribute}: {annotation}"
    notes = [column.type]
    if primary_key:
        notes.append("primary key: the first column, change it")
    if stats and record.stats and name in record.stats:
        item = record.stats[name]
        notes += [
            f"{k}={item[k]}"
            for k in ("null_percentage", "approx_unique", "min", "max")
            if item.get(k) is not None
        ]
    return f"{text}  # {', '.join(str(n) for n in notes)}"


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_") or "column"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "f_" + name
    return name
