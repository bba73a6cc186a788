"""The SQL of a hybrid view: ingested ("hot") rows UNION ALL BY NAME the files ("cold").

Contract:

* every row of a view carries the same provenance columns, hot or cold
  (``PROVENANCE_COLUMNS``): the run, the artifact, the run's year, iteration and
  scenario (its parent run). Hot rows got them at ingestion. The cold side is ONE
  multi-file scan per driver (``read_parquet([...], union_by_name=true)``; without
  ``union_by_name`` when every parquet file has the same columns), and each
  provenance (or attached facet) column is a list of per-file values indexed by the
  scan's ``file_index`` virtual column: a query that does not use them never computes
  them, so the view scans the files as a bare ``read_parquet`` of them would. A file
  whose path holds glob characters, or whose columns include ``file_index`` itself,
  is read in a branch of its own (values as constants) instead;
* ``mode``: ``hybrid`` reads hot rows, plus the file of every selected artifact that
  has no hot rows (an artifact is never counted twice); ``hot_only`` the hot rows;
  ``cold_only`` the files of every selected artifact;
* a selected cold file that is gone: ``missing_files="warn"`` skips it with one
  MissingFileWarning naming the files, ``"skip_silent"`` skips it, ``"error"`` raises
  MissingViewFileError before any view is created;
* only parquet, csv and json files are read cold (``COLD_READERS``); an artifact of
  another driver is skipped with a warning;
* nothing user-given is spliced: names go through ``names.check_identifier`` and
  values (paths, ids) through ``names.literal``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from consist.errors import ConfigError, ViewError, invalid_option
from consist.views.names import literal, quote_identifier

#: name -> SQL type of the provenance columns, in view order.
PROVENANCE_COLUMNS: dict[str, str] = {
    "consist_run_id": "VARCHAR",
    "consist_artifact_id": "VARCHAR",
    "consist_year": "INTEGER",
    "consist_iteration": "INTEGER",
    "consist_scenario_id": "VARCHAR",
}
#: columns dlt adds to rows it normalises; bookkeeping, never part of a view.
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")
COLD_READERS: dict[str, str] = {
    "parquet": "read_parquet({path})",
    "csv": "read_csv({path})",
    "json": "read_json_auto({path})",
}
#: ``{paths}`` is a list literal: one scan of many files, columns matched by name.
MULTI_READERS: dict[str, str] = {
    "parquet": "read_parquet({paths}, union_by_name = true)",
    "csv": "read_csv({paths}, union_by_name = true)",
    "json": "read_json_auto({paths}, union_by_name = true)",
}
_GLOB_CHARACTERS = frozenset("*?[]{}")
_FILE_INDEX = "(CAST(file_index AS BIGINT) + 1)"
MODES = ("hybrid", "hot_only", "cold_only")
MISSING_FILES = ("warn", "error", "skip_silent")
IF_EXISTS = ("replace", "error")


class MissingFileWarning(UserWarning):
    """A selected artifact's file is gone; the view was created without it."""


class MissingViewFileError(ViewError, FileNotFoundError):
    """A selected artifact's file is gone and ``missing_files="error"`` was asked for."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a row came from: the values of PROVENANCE_COLUMNS."""

    run_id: str | None
    artifact_id: str | None
    year: int | None = None
    iteration: int | None = None
    scenario_id: str | None = None

    def values(self) -> tuple[str | int | None, ...]:
        return (self.run_id, self.artifact_id, self.year, self.iteration, self.scenario_id)


@dataclass(frozen=True, slots=True)
class ColdSource:
    """One selected artifact: its file, driver and provenance (plus facet values)."""

    path: str
    driver: str | None
    provenance: Provenance
    facets: tuple[tuple[str, object], ...] = ()


def check_policies(mode: object, missing_files: object, if_exists: object) -> None:
    """Refuse an unknown mode / missing_files / if_exists before anything is read."""
    for parameter, value, allowed in (
        ("mode", mode, MODES),
        ("missing_files", missing_files, MISSING_FILES),
        ("if_exists", if_exists, IF_EXISTS),
    ):
        if value not in allowed:
            raise invalid_option(parameter, value, list(allowed))


def provenance_select(provenance: Provenance) -> str:
    """``'<run>' AS consist_run_id, ...`` typed like the hot table's columns."""
    parts = []
    for (name, kind), value in zip(PROVENANCE_COLUMNS.items(), provenance.values(), strict=True):
        parts.append(f"CAST({literal(value)} AS {kind}) AS {name}")
    return ", ".join(parts)


def cold_branch(source: ColdSource, facet_columns: Mapping[str, str] | None = None) -> str:
    """``SELECT *, <provenance>[, <facets>] FROM read_<driver>('<path>')`` (one file)."""
    reader = COLD_READERS[source.driver or ""]
    extra = [provenance_select(source.provenance)]
    facets = dict(source.facets)
    for column, kind in (facet_columns or {}).items():
        value = literal(_scalar(facets.get(column)))
        extra.append(f"CAST({value} AS {kind}) AS {quote_identifier(column)}")
    return f"SELECT *, {', '.join(extra)} FROM {reader.format(path=literal(source.path))}"


def cold_scans(
    conn: Any, sources: Sequence[ColdSource], facet_columns: Mapping[str, str] | None = None
) -> list[str]:
    """The cold side: one multi-file scan per driver (see the module docstring)."""
    by_driver: dict[str, list[ColdSource]] = {}
    branches: list[str] = []
    for source in sources:
        if _GLOB_CHARACTERS.isdisjoint(source.path):
            by_driver.setdefault(source.driver or "", []).append(source)
        else:  # a glob character would make the reader expand the path
            branches.append(cold_branch(source, facet_columns))
    for driver, group in by_driver.items():
        paths = list_literal([s.path for s in group])
        reader = MULTI_READERS[driver].format(paths=paths)
        if driver == "parquet" and _same_parquet_schema(conn, paths):
            reader = f"read_parquet({paths})"  # matching by name costs ~1.5 ms per query
        columns = _columns(conn, reader)
        refuse_clash(facet_columns or {}, columns)
        if "file_index" in columns:  # a real column hides the virtual one
            branches += [cold_branch(s, facet_columns) for s in group]
            continue
        extra = []
        for position, (name, kind) in enumerate(PROVENANCE_COLUMNS.items()):
            provenance = [s.provenance.values()[position] for s in group]
            extra.append(f"CAST({list_literal(provenance)}[{_FILE_INDEX}] AS {kind}) AS {name}")
        for column, kind in (facet_columns or {}).items():
            facets = [_scalar(dict(s.facets).get(column)) for s in group]
            extra.append(
                f"CAST({list_literal(facets)}[{_FILE_INDEX}] AS {kind}) "
                f"AS {quote_identifier(column)}"
            )
        branches.append(f"SELECT *, {', '.join(extra)} FROM {reader}")
    return branches


def refuse_clash(facet_columns: Mapping[str, str], columns: Sequence[str]) -> None:
    clash = sorted(set(facet_columns) & {*columns, *PROVENANCE_COLUMNS})
    if clash:
        raise ConfigError(
            f"attach_facets would add column(s) {clash}, which the data already has.",
            fix="Attach another key, or select the data column instead.",
            parameter="attach_facets",
        )


def list_literal(values: Sequence[object]) -> str:
    """A DuckDB list literal; mixed int/float lists stay numeric, None is NULL."""
    return "[" + ", ".join(literal(v) for v in values) + "]"


def _same_parquet_schema(conn: Any, paths: str) -> bool:
    """Whether every file has the same columns (names, types, nesting, order)."""
    try:
        row = conn.execute(
            "SELECT count(DISTINCT signature) FROM (SELECT file_name, string_agg(name || ':' || "
            "coalesce(duckdb_type, '') || ':' || coalesce(CAST(num_children AS VARCHAR), ''), "
            f"'|' ORDER BY column_id) AS signature FROM parquet_schema({paths}) "
            "WHERE column_id > 0 GROUP BY file_name)"
        ).fetchone()
    except Exception:  # unreadable: the DESCRIBE that follows names the problem
        return False
    return bool(row and row[0] == 1)


def _columns(conn: Any, reader: str) -> list[str]:
    try:
        rows = conn.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except Exception as exc:
        raise ViewError(
            "The selected files cannot be read as one table.",
            cause=f"{type(exc).__name__}: {exc}",
            fix="Check the files (a corrupt or non-tabular file), or narrow the selection.",
        ) from exc
    return [row[0] for row in rows]


def hot_branch(
    table: str,
    columns: Sequence[str],
    artifact_ids: Sequence[str] | None,
    facets: Sequence[ColdSource] = (),
    facet_columns: Mapping[str, str] | None = None,
) -> str:
    """Rows of ``global_tables.<table>`` (of ``artifact_ids`` when given), without dlt
    columns; with ``facet_columns``, each row gets its artifact's facet values."""
    dropped = [quote_identifier(c) for c in DLT_COLUMNS if c in columns]
    star = f"* EXCLUDE ({', '.join(dropped)})" if dropped else "*"
    sql = f"SELECT {star} FROM global_tables.{quote_identifier(table)}"
    if facet_columns and facets:
        sql = _facet_join(sql, facets, facet_columns)
    elif facet_columns:
        typed = [f"CAST(NULL AS {k}) AS {quote_identifier(c)}" for c, k in facet_columns.items()]
        sql = f"SELECT *, {', '.join(typed)} FROM ({sql})"
    if artifact_ids is not None:
        ids = ", ".join(literal(a) for a in artifact_ids) or "NULL"
        sql = f"SELECT * FROM ({sql}) WHERE consist_artifact_id IN ({ids})"
    return sql


def _facet_join(sql: str, facets: Sequence[ColdSource], facet_columns: Mapping[str, str]) -> str:
    """Hot rows LEFT JOIN their artifact's facet values (a hash join on the artifact id)."""
    rows = []
    for source in facets:
        values = dict(source.facets)
        row = [literal(source.provenance.artifact_id)]
        row += [literal(_scalar(values.get(c))) for c in facet_columns]
        rows.append(f"({', '.join(row)})")
    names = ", ".join(["consist__artifact", *(quote_identifier(c) for c in facet_columns)])
    typed = ", ".join(
        f"CAST(f.{quote_identifier(c)} AS {kind}) AS {quote_identifier(c)}"
        for c, kind in facet_columns.items()
    )
    return (
        f"SELECT h.*, {typed} FROM ({sql}) h LEFT JOIN (VALUES {', '.join(rows)}) "
        f"f({names}) ON h.consist_artifact_id = f.consist__artifact"
    )


def split_cold(
    sources: Sequence[ColdSource], missing_files: str, what: str
) -> tuple[list[ColdSource], list[ColdSource]]:
    """(readable, skipped) cold sources, applying the missing-file policy."""
    readable: list[ColdSource] = []
    missing: list[ColdSource] = []
    unreadable: list[ColdSource] = []
    for source in sources:
        if (source.driver or "") not in COLD_READERS:
            unreadable.append(source)
        elif not os.path.exists(source.path):
            missing.append(source)
        else:
            readable.append(source)
    if unreadable:
        names = sorted({s.driver or "(none)" for s in unreadable})
        warnings.warn(
            f"{what}: {len(unreadable)} artifact(s) of driver {names} cannot be read as "
            f"tables and were left out; ingest them to include their rows.",
            MissingFileWarning,
            stacklevel=4,
        )
    if missing and missing_files == "error":
        raise MissingViewFileError(
            f"{what}: {len(missing)} selected file(s) are missing: "
            + ", ".join(repr(s.path) for s in missing[:5]),
            fix="Restore the files (materialize), ingest them before deleting, or pass "
            "missing_files='warn' or 'skip_silent'.",
            parameter="missing_files",
            path=missing[0].path,
        )
    if missing and missing_files == "warn":
        warnings.warn(
            f"{what}: {len(missing)} selected file(s) are missing and were left out: "
            + ", ".join(repr(s.path) for s in missing[:5]),
            MissingFileWarning,
            stacklevel=4,
        )
    return readable, missing + unreadable


def empty_select(columns: dict[str, str]) -> str:
    """A typed, empty SELECT (a view over a concept with no rows yet)."""
    body = ", ".join(
        f"CAST(NULL AS {kind}) AS {quote_identifier(name)}" for name, kind in columns.items()
    )
    return f"SELECT {body} WHERE FALSE"


def union_sql(branches: Sequence[str]) -> str:
    return " UNION ALL BY NAME ".join(f"({b})" for b in branches)


def create_view_sql(name: str, body: str, *, replace: bool, system_columns: bool) -> str:
    if not system_columns:
        hidden = ", ".join(PROVENANCE_COLUMNS)
        body = f"SELECT * EXCLUDE ({hidden}) FROM ({body})"
    verb = "CREATE OR REPLACE VIEW" if replace else "CREATE VIEW"
    return f"{verb} {quote_identifier(name)} AS {body}"


def _scalar(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ConfigError(f"facet value {value!r} is not a scalar.", fix="Attach scalar facets only.")
