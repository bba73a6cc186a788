"""Config facet queries and raw SQL of Tracker: get_config_*, diff_runs, run_query.

Facets are recorded with ``facet=`` / ``facet_from=`` on run / trace / begin_run
(request/facet.py); the rules of the flattened rows are in model/facet.py, the query
arguments are checked in query/config.py. Each method here is one delegation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from consist.errors import NoDatabaseError
from consist.model.facet import ConfigFacet, ConfigKV
from consist.model.run import Run
from consist.store.base import MetadataStore
from consist.tracker._base import TrackerBase, refuse_unknown_keywords

T = TypeVar("T")


class FacetMethods(TrackerBase):
    def _read_store(self, read: Callable[[MetadataStore], T]) -> T:
        return self._services.sync.read_store(read)

    def _namespace_of(self, run_id: object, namespace: str | None) -> str | None:
        """``namespace``, or the run's model name when the run is known (the default)."""
        if namespace is not None or not isinstance(run_id, str):
            return namespace
        record = self._services.sync.find_record(run_id)
        return record.run.model_name if record is not None else None

    def get_config_facet(self, facet_id: str) -> ConfigFacet | None:
        """The persisted facet with this id (``ConfigFacet.id``), or None."""
        from consist.query import config as facet_query

        facet_query.check_str(facet_id, "facet_id")
        found = facet_query.facets(self._read_store, facet_id=facet_id, limit=1)
        return found[0] if found else None

    @refuse_unknown_keywords
    def get_config_facets(
        self, *, namespace: str | None = None, schema_name: str | None = None, limit: int = 100
    ) -> list[ConfigFacet]:
        """Persisted facets, optionally filtered by namespace (model name) and schema name
        (the pydantic model / dataclass class name of the facet)."""
        from consist.query import config as facet_query

        return facet_query.facets(
            self._read_store, namespace=namespace, schema_name=schema_name, limit=limit
        )

    @refuse_unknown_keywords
    def get_run_config_kv(
        self,
        run_id: str,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        limit: int = 10_000,
    ) -> list[ConfigKV]:
        """Flattened key/value rows of a run's facets (rows of ``run_config_kv``), by key.

        Each row has ``key``, ``value_type``, the typed ``value_str`` / ``value_num`` /
        ``value_bool`` / ``value_json`` columns and ``.value`` (the original value).
        """
        from consist.query import config as facet_query

        return facet_query.config_kv(
            self._read_store, run_id, namespace=namespace, prefix=prefix, limit=limit
        )

    @refuse_unknown_keywords
    def get_config_values(
        self,
        run_id: str,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        keys: Iterable[str] | None = None,
        limit: int = 10_000,
    ) -> dict[str, Any]:
        """A run's flattened facet as ``{key: value}``; ``namespace`` defaults to the run's
        model name. Keys are dotted paths; a literal dot in a key is stored as ``\\.``.

        Examples
        --------
        >>> tracker.get_config_values(run.id, prefix="demand.")  # doctest: +SKIP
        {'demand.growth': 0.02, 'demand.year': 2030}
        """
        from consist.query import config as facet_query

        return facet_query.config_values(
            self._read_store,
            run_id,
            self._namespace_of(run_id, namespace),
            prefix=prefix,
            keys=keys,
            limit=limit,
        )

    @refuse_unknown_keywords
    def get_config_value(
        self, run_id: str, key: str, *, namespace: str | None = None, default: Any = None
    ) -> Any:
        """One flattened facet value of a run, or ``default`` when the key is missing."""
        from consist.query import config as facet_query

        facet_query.check_str(key, "key")
        values = self.get_config_values(run_id, namespace=namespace, keys=[key])
        return values.get(key, default)

    @refuse_unknown_keywords
    def find_runs_by_facet_kv(
        self,
        *,
        namespace: str,
        key: str,
        value_type: str | None = None,
        value_str: str | None = None,
        value_num: float | None = None,
        value_bool: bool | None = None,
        limit: int = 100,
    ) -> list[Run]:
        """Runs (newest first) whose facet in ``namespace`` has ``key`` equal to every
        value given. ``value_num`` matches ints and floats alike (3 matches 3.0);
        ``value_type`` is one of "null", "bool", "int", "float", "str", "json"."""
        from consist.query import config as facet_query

        return facet_query.find_runs_by_value(
            self._read_store,
            namespace=namespace,
            key=key,
            value_type=value_type,
            value_str=value_str,
            value_num=value_num,
            value_bool=value_bool,
            limit=limit,
        )

    @refuse_unknown_keywords
    def diff_runs(
        self,
        run_id_a: str,
        run_id_b: str,
        *,
        namespace: str | None = None,
        prefix: str | None = None,
        keys: Iterable[str] | None = None,
        limit: int = 10_000,
        include_equal: bool = False,
    ) -> dict[str, Any]:
        """Compare the flattened facets of two runs.

        Returns
        -------
        dict
            ``{"run_id_a", "run_id_b", "changed": {key: (a, b)}, "added": {key: b},
            "removed": {key: a}}``, plus ``"equal": {key: value}`` with
            ``include_equal=True``. ``namespace`` defaults to each run's model name.
        """
        from consist.query import config as facet_query

        a, b = (
            facet_query.config_values(
                self._read_store,
                run_id,
                self._namespace_of(run_id, namespace),
                prefix=prefix,
                keys=keys,
                limit=limit,
            )
            for run_id in (run_id_a, run_id_b)
        )
        diff = facet_query.diff_values(a, b, include_equal=bool(include_equal))
        return {"run_id_a": run_id_a, "run_id_b": run_id_b, **diff}

    def run_query(self, query: Any) -> list[Any]:
        """Execute a SQLAlchemy statement on the metadata store and return its rows.

        Values are bound as parameters (``text(...).params(...)`` or ``select(...)``), so
        they are data, never SQL. Pending runs are synced first (write mode); the
        connection is never committed, so the store is not changed.

        Raises
        ------
        NoDatabaseError
            (a RuntimeError) if the tracker has no database (``db_path=None``), or a
            read-only tracker's database does not exist yet.

        Examples
        --------
        >>> from sqlalchemy import text  # doctest: +SKIP
        >>> tracker.run_query(text(
        ...     "SELECT run_id, value_num FROM global_tables.run_config_kv "
        ...     "WHERE key = :metric ORDER BY value_num DESC LIMIT :k"
        ... ).params(metric="rmse", k=3))
        """
        engine = self.engine  # type: ignore[attr-defined]  # Tracker's property
        if engine is None:
            raise NoDatabaseError(
                "run_query needs a SQL database, but this tracker has none"
                + (" yet." if self._services.store.location else " (db_path=None)."),
                fix="Create the Tracker with db_path='provenance.duckdb' (a read-only "
                "tracker needs a writer to have created it).",
            )
        from consist._libs.sqlalchemy import execute_query

        return execute_query(engine, query)
