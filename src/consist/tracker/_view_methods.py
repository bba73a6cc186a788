"""Data-layer methods of Tracker: registered schemas, ingest, hybrid views, schema export.

The hot tables and views live in the DuckDB file of ``db_path`` (the spec's
``hot_data_store``), reached through the store's own sessions (docs/concurrency.md),
so they need a store; a JSON-only tracker refuses them with a RunStateError. Pending
runs are synced before a view selects artifacts, so a just-ended run is included.
See docs/data.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from consist.errors import ConfigError, RunStateError
from consist.model.artifact import Artifact
from consist.model.run import Run
from consist.store.duckdb.store import DuckDBStore
from consist.tracker._base import TrackerBase

if TYPE_CHECKING:
    from consist.store.duckdb.selection import ArtifactFilter
    from consist.views.hybrid import Provenance
    from consist.views.schemas import SchemaStore


class ViewMethods(TrackerBase):
    _schemas: dict[str, type]

    # --- registered schemas -------------------------------------------------------

    @property
    def registered_schemas(self) -> Mapping[str, type]:
        """SQLModel classes passed as ``Tracker(schemas=[...])``, by class name (read-only)."""
        return MappingProxyType(self._schemas)

    def get_registered_schema(self, schema_name: str, default: type | None = None) -> type | None:
        """The registered SQLModel class named ``schema_name`` (exact match), or ``default``.

        Raises
        ------
        TypeError
            If ``schema_name`` is not a string.
        ValueError
            If ``schema_name`` is empty.
        """
        if not isinstance(schema_name, str):
            raise TypeError(f"schema_name must be a str, got {type(schema_name).__name__}.")
        if not schema_name.strip():
            raise ConfigError(
                "schema_name is empty.", fix="Pass a class name.", parameter="schema_name"
            )
        return self._schemas.get(schema_name, default)

    # --- ingestion ------------------------------------------------------------------

    def ingest(
        self,
        artifact: Artifact,
        data: Any = None,
        schema: type | None = None,
        run: Run | None = None,
        profile_schema: bool = True,
    ) -> Any:
        """Load rows of ``artifact`` into ``global_tables.<table>`` of the DuckDB store (dlt).

        ``data`` is a DataFrame, a pyarrow Table/RecordBatchReader, an iterable of dicts,
        or ``None`` to load the artifact's own file. Rows are tagged with provenance
        columns (``consist_run_id``, ``consist_artifact_id``, ``consist_year``,
        ``consist_iteration``, ``consist_scenario_id``). The table is ``schema``'s
        ``__tablename__`` (``schema`` defaults to the registered class named by
        ``artifact.meta["schema_name"]``), else the artifact key. A column added by a
        later run is added to the table.

        Returns
        -------
        An ``IngestResult``: ``table``, ``rows`` appended, and dlt's ``LoadInfo`` as
        ``load_info`` (None when an artifact's file was appended to an existing table
        by DuckDB alone, see docs/data.md).

        Examples
        --------
        >>> tracker = Tracker(run_dir="runs", db_path="p.duckdb", schemas=[Trip])  # doctest: +SKIP
        >>> tracker.ingest(artifact, data=df)  # doctest: +SKIP
        """
        from consist.views import ingest
        from consist.views.names import table_name_for
        from consist.views.schemas import model_record, profile_table

        self._services.sync.require_write("ingest")
        hot = self._hot_store("ingest")
        if not isinstance(artifact, Artifact):
            raise ConfigError(
                f"artifact={artifact!r} is not an Artifact.",
                fix="Pass the Artifact returned by log_artifact / get_artifact.",
                parameter="artifact",
            )
        if schema is None and "schema_name" in artifact.meta:
            schema = self._schemas.get(str(artifact.meta["schema_name"]))
        table_source = getattr(schema, "__tablename__", None) if schema is not None else None
        table = table_name_for(
            table_source or artifact.key, "schema" if table_source else "artifact.key"
        )
        job = ingest.IngestJob(
            table=table,
            provenance=self._provenance(artifact, run),
            data=data,
            source_path=str(artifact.path),
            driver=artifact.driver,
            model=schema,
        )
        schemas = self._schema_store()
        if schema is not None:
            schemas.save(model_record(schema), artifact.id, None)

        def record_profile(conn: Any) -> None:
            if profile_schema:
                schemas.save(profile_table(conn, table), artifact.id, None)

        workdir = str(Path(self._services.layout.state_dir) / "ingest")
        return ingest.ingest(hot, workdir, job, record_profile)

    # --- views ------------------------------------------------------------------------

    def view(self, model: type, key: str | None = None) -> Any:
        """Create ``v_<concept>`` over hot rows and cold files of a schema's concept.

        The concept key is ``key`` or ``model.__tablename__``. Returns a SQLModel class
        (no table) with the model's fields and the provenance columns, whose
        ``__tablename__`` is the view's name.
        """
        from consist._libs.sqlmodel import view_class
        from consist.store.duckdb.selection import ArtifactFilter
        from consist.views.names import table_name_for
        from consist.views.schemas import model_record

        concept = key or getattr(model, "__tablename__", None) or model.__name__.lower()
        name = "v_" + table_name_for(concept, "key")
        columns = {c.name: c.type for c in model_record(model).columns}
        self._make_view(name, concept, ArtifactFilter(key=concept), columns=columns)
        extra = {"consist_run_id": str, "consist_artifact_id": str, "consist_year": int,
                 "consist_iteration": int, "consist_scenario_id": str}  # fmt: skip
        return view_class(model, name, extra)

    def create_view(self, view_name: str, concept_key: str) -> Any:
        """Create the view ``view_name`` over every run's ``concept_key`` (hot ∪ cold).

        Returns the view's SQL.
        """
        from consist.store.duckdb.selection import ArtifactFilter

        return self._make_view(view_name, concept_key, ArtifactFilter(key=concept_key))

    def create_grouped_view(
        self,
        view_name: str,
        *,
        schema_id: str | None = None,
        schema: type | None = None,
        namespace: str | None = None,
        params: Iterable[str] | None = None,
        drivers: list[str] | None = None,
        attach_facets: list[str] | None = None,
        include_system_columns: bool = True,
        mode: str = "hybrid",
        if_exists: str = "replace",
        missing_files: str = "warn",
        run_id: str | None = None,
        parent_run_id: str | None = None,
        model: str | None = None,
        status: str | None = None,
        year: int | None = None,
        iteration: int | None = None,
        schema_compatible: bool = False,
    ) -> Any:
        """Create one view over the artifacts selected by schema, facets and run filters.

        ``mode``: ``"hybrid"`` / ``"hot_only"`` / ``"cold_only"``; ``missing_files``:
        ``"warn"`` / ``"error"`` / ``"skip_silent"``; ``if_exists``: ``"replace"`` /
        ``"error"``. ``params`` are facet predicates ``[namespace.]key<op>value``, tested
        on each artifact's indexed facet, else its producing run's config facet;
        ``attach_facets`` adds facet values as typed columns (``a.b`` -> ``a_b``).
        Returns the view's SQL.

        Raises
        ------
        ValueError
            For an invalid view name, predicate, selector or policy.
        """
        from consist.store.duckdb.selection import ArtifactFilter
        from consist.views.names import parse_facet_path, parse_predicate

        if schema_id is None and schema is None:
            raise ConfigError(
                "create_grouped_view needs schema_id= or schema= to select artifacts.",
                fix="Pass schema=MyModel or schema_id='<id from export/profiling>'.",
                parameter="schema_id",
            )
        if isinstance(params, str) or isinstance(attach_facets, str):
            which = "params" if isinstance(params, str) else "attach_facets"
            raise ConfigError(
                f"{which} must be a list of strings, not one string.",
                fix=f"Wrap it in a list: {which}=[...].",
                parameter=which,
            )
        predicates = [parse_predicate(p, namespace) for p in (params or [])]
        attach = [parse_facet_path(p, namespace) for p in (attach_facets or [])]
        ids, names = self._schema_selector(schema_id, schema, schema_compatible)
        selection = ArtifactFilter(
            schema_ids=ids, schema_names=names, drivers=drivers, run_id=run_id,
            parent_run_id=parent_run_id, model=model, status=status, year=year,
            iteration=iteration,
        )  # fmt: skip
        return self._make_view(
            view_name, None, selection, predicates=predicates, attach=attach, mode=mode,
            if_exists=if_exists,
            missing_files=missing_files, include_system_columns=include_system_columns,
        )  # fmt: skip

    # --- schema export -------------------------------------------------------------------

    def export_schema_sqlmodel(
        self,
        *,
        schema_id: str | None = None,
        artifact_id: str | None = None,
        out_path: str | Path | None = None,
        table_name: str | None = None,
        class_name: str | None = None,
        abstract: bool = True,
        include_system_cols: bool = False,
        include_stats_comments: bool = True,
        prefer_source: str | None = None,
    ) -> str:
        """Render a recorded schema as an editable SQLModel class; write it to ``out_path``.

        Raises
        ------
        ValueError
            Unless exactly one of ``schema_id`` / ``artifact_id`` is given.
        KeyError
            If no schema is recorded for the selector.
        """
        from consist.views import export

        if (schema_id is None) == (artifact_id is None):
            raise ConfigError(
                "Pass exactly one of schema_id= and artifact_id=.",
                fix="export_schema_sqlmodel(artifact_id=art.id) or (schema_id='...').",
                parameter="schema_id",
            )
        if prefer_source not in (None, "file", "duckdb", "user_provided"):
            from consist.errors import invalid_option

            raise invalid_option(
                "prefer_source", prefer_source, ["file", "duckdb", "user_provided"]
            )
        store = self._schema_store()
        if schema_id is not None:
            record = store.get(schema_id)
            if record is None:
                from consist.views.schemas import SchemaNotFoundError

                raise SchemaNotFoundError(
                    f"No schema {schema_id!r} is recorded.",
                    fix="Check the id.",
                    schema_id=schema_id,
                )
        else:
            record = store.for_artifact(str(artifact_id), prefer_source)
        source = export.render_sqlmodel(
            record, class_name=class_name, table_name=table_name, abstract=abstract,
            include_system_cols=include_system_cols, include_stats_comments=include_stats_comments,
        )  # fmt: skip
        if out_path is not None:
            Path(out_path).write_text(source)
        return source

    # --- internals --------------------------------------------------------------------

    def _make_view(
        self,
        view_name: str,
        concept_key: str | None,
        selection: ArtifactFilter,
        *,
        predicates: list[Any] | None = None,
        columns: dict[str, str] | None = None,
        **policies: Any,
    ) -> str:
        from consist.store.duckdb.selection import select_artifacts
        from consist.views import registry
        from consist.views.names import table_name_for

        self._services.sync.require_write("creating a view")
        hot = self._hot_store("views")
        self._services.sync.sync(blocking=True)
        layout = self._services.layout
        with hot.write_connection() as conn:
            selected = select_artifacts(conn, selection, layout)
            selected = registry.filter_by_facets(conn, selected, predicates or [])
            if concept_key is not None:
                tables = [table_name_for(concept_key)]
            else:
                store = self._schema_store()
                tables = sorted({t for s in selected if (t := store.table_of(s.artifact.id))})
            request = registry.ViewRequest(
                name=view_name, tables=tables, artifacts=selected,
                restrict_hot=concept_key is None, columns=columns or {}, **policies,
            )  # fmt: skip
            return registry.create_view(conn, request)

    def _schema_selector(
        self, schema_id: str | None, schema: type | None, compatible: bool
    ) -> tuple[list[str] | None, list[str] | None]:
        from consist.views.schemas import model_record

        if schema is None:
            return [str(schema_id)], None
        wanted = {c.name for c in model_record(schema).columns}
        store = self._schema_store()
        ids = [schema_id] if schema_id else []
        for candidate in store.all_ids():
            record = store.get(candidate)
            names = {c.name for c in record.columns} if record else set()
            names -= {"consist_run_id", "consist_artifact_id", "consist_year",
                      "consist_iteration", "consist_scenario_id"}  # fmt: skip
            if names == wanted or (compatible and names and (names <= wanted or names >= wanted)):
                ids.append(candidate)
        return ids, [schema.__name__]

    def _provenance(self, artifact: Artifact, run: Run | None) -> Provenance:
        from consist.views.hybrid import Provenance

        if run is None and self._active is not None:
            run = self._active.run
        if run is None and artifact.run_id is not None:
            record = self._services.sync.find_record(artifact.run_id)
            run = record.run if record is not None else None
        if run is None:
            return Provenance(artifact.run_id, artifact.id)
        return Provenance(run.id, artifact.id, run.year, run.iteration, run.parent_run_id)

    def _hot_store(self, what: str) -> DuckDBStore:
        store = self._services.store
        if not isinstance(store, DuckDBStore):
            raise RunStateError(
                f"{what} needs the DuckDB store, and this tracker has no db_path.",
                fix="Create the Tracker with db_path='...duckdb'.",
            )
        return store

    def _schema_store(self) -> SchemaStore:
        from consist.views.schemas import SchemaStore

        return SchemaStore(self._services.layout.state_dir)


def register_schemas(schemas: Iterable[type] | None) -> dict[str, type]:
    """Schemas by class name; refuses a non-class and two classes of one name."""
    registered: dict[str, type] = {}
    for schema in schemas or ():
        if not isinstance(schema, type) or not hasattr(schema, "model_fields"):
            raise ConfigError(
                f"schemas entry {schema!r} is not a SQLModel class.",
                fix="Pass classes deriving from sqlmodel.SQLModel: schemas=[MyRow].",
                parameter="schemas",
            )
        other = registered.get(schema.__name__)
        if other is not None and other is not schema:
            raise ConfigError(
                f"schemas has two classes named {schema.__name__!r}.",
                fix="Schemas are found by class name; give each a distinct name.",
                parameter="schemas",
            )
        registered[schema.__name__] = schema
    return registered
