"""Tracker: the public facade. Each method is a signature, a docstring and one delegation."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from consist.flow import ActiveRun
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.options import AccessMode, CodeIdentityMode
from consist.persist.rejected import RejectedRecord, list_rejected
from consist.services import Services, build_services
from consist.settings import TrackerConfig, postgres_url
from consist.tracker._artifact_methods import ArtifactMethods
from consist.tracker._config_methods import ConfigMethods
from consist.tracker._container_methods import ContainerMethods
from consist.tracker._data_methods import DataMethods
from consist.tracker._facet_methods import FacetMethods
from consist.tracker._inspect_methods import InspectMethods
from consist.tracker._lookup_methods import LookupMethods
from consist.tracker._map_methods import MapMethods
from consist.tracker._path_methods import PathMethods
from consist.tracker._query_methods import QueryMethods
from consist.tracker._run_methods import RunMethods
from consist.tracker._scenario_methods import ScenarioMethods
from consist.tracker._view_methods import ViewMethods, register_schemas


class Tracker(
    RunMethods,
    ScenarioMethods,
    DataMethods,
    ContainerMethods,
    ArtifactMethods,
    QueryMethods,
    LookupMethods,
    FacetMethods,
    ViewMethods,
    PathMethods,
    MapMethods,
    ConfigMethods,
    InspectMethods,
):
    """Records runs, reuses completed ones, and answers queries about them.

    Parameters
    ----------
    run_dir:
        Directory for outputs and JSON snapshots (``run_dir/consist_runs/<id>.json``).
    db_path:
        DuckDB file for the SQL store; ``None`` keeps records in JSON snapshots only.
    code_identity:
        Default code identity mode: ``"repo_git"`` (default), ``"callable_module"`` or
        ``"callable_source"``.
    access_mode:
        ``"write"`` (default) records runs. ``"read"`` (a CLI, a web app, a notebook)
        only queries: it creates no directory, registers no exit hook, opens the store
        read-only and never writes; run / trace / begin_run / log_* raise RunStateError.
    schemas:
        SQLModel classes for ingestion and views, registered by class name
        (``registered_schemas``, ``get_registered_schema``); an artifact logged with
        ``schema=Model`` finds its class by name in a later session.
    mounts:
        ``{"inputs": "/data/in"}`` records ``/data/in/file.csv`` as ``inputs://file.csv``;
        :meth:`resolve_uri` maps it back. Point a mount at another root (another machine)
        and every record stays resolvable, every cache hit intact.

    Examples
    --------
    >>> tracker = Tracker(run_dir="./runs", db_path="./provenance.duckdb")  # doctest: +SKIP
    """

    def __init__(
        self,
        run_dir: str | Path = "./runs",
        db_path: str | Path | None = None,
        *,
        code_identity: CodeIdentityMode | str = CodeIdentityMode.REPO_GIT,
        access_mode: AccessMode | str = AccessMode.WRITE,
        mounts: Mapping[str, str | Path] | None = None,
        config: TrackerConfig | None = None,
        schemas: Iterable[type] | None = None,
    ) -> None:
        settings = config or TrackerConfig(
            run_dir=run_dir,
            db_path=db_path,
            code_identity=code_identity,
            access_mode=access_mode,
            mounts=mounts,
        )
        self._settings = settings
        self._services: Services = build_services(settings)
        self._active: ActiveRun | None = None
        self._last: ActiveRun | None = None
        self._engine: Any = None
        self._lock = threading.RLock()
        self._closed = False
        self._schemas = register_schemas(schemas)
        if self.access_mode is AccessMode.WRITE:
            atexit.register(self._sync_at_exit)  # a reader has nothing to sync

    @classmethod
    def from_config(cls, config: TrackerConfig) -> Tracker:
        """Construct a tracker from a :class:`TrackerConfig`."""
        return cls(config=config)

    # --- properties -------------------------------------------------------------

    @property
    def run_dir(self) -> Path:
        """The tracker's run directory (absolute)."""
        return Path(self._services.layout.run_dir)

    @property
    def db_path(self) -> Path | str | None:
        """The DuckDB file, the PostgreSQL URL (a str, password masked), or None in
        JSON-only mode."""
        location = self._services.store.location
        if location is None:
            return None
        return location if postgres_url(location) is not None else Path(location)

    @property
    def access_mode(self) -> AccessMode:
        """``AccessMode.WRITE`` or ``AccessMode.READ`` (this tracker never writes)."""
        return self._services.sync.access_mode

    @property
    def last_run(self) -> ConsistRecord | None:
        """The most recent run record (completed or failed) observed by this tracker."""
        return self._last.final if self._last is not None else None

    @property
    def is_cached(self) -> bool:
        """Whether the currently active run is a cache hit."""
        return self._active is not None and self._active.cache_hit

    @property
    def current_run(self) -> Run | None:
        """The active run, if any."""
        return self._active.run if self._active is not None else None

    @property
    def engine(self) -> Any:
        """A SQLAlchemy engine over the SQL store (None in JSON-only mode).

        On a PostgreSQL store it is a ``postgresql+psycopg`` engine with a small pool of
        checked, recycled connections.

        In write mode pending runs are synced into the store first. In read mode the
        engine opens the file read-only, and is None while no database file exists.
        The engine uses no connection pool, so it never holds the file open between
        uses (see docs/concurrency.md).
        """
        if self.access_mode is AccessMode.WRITE and self._services.store.location is not None:
            self._services.sync.sync(blocking=True)
        self._engine = self._services.store.sql_engine()
        return self._engine

    # --- hooks ------------------------------------------------------------------

    def on_run_start(self, callback: Callable[[Run], None]) -> Callable[[Run], None]:
        """Register ``callback(run)`` to run when a run starts; usable as a decorator."""
        self._services.hooks.on_start.append(callback)
        return callback

    def on_run_complete(
        self, callback: Callable[[Run, list[Artifact]], None]
    ) -> Callable[[Run, list[Artifact]], None]:
        """Register ``callback(run, outputs)`` for completed runs; usable as a decorator."""
        self._services.hooks.on_complete.append(callback)
        return callback

    def on_run_failed(
        self, callback: Callable[[Run, BaseException], None]
    ) -> Callable[[Run, BaseException], None]:
        """Register ``callback(run, error)`` for failed runs; usable as a decorator."""
        self._services.hooks.on_failed.append(callback)
        return callback

    # --- lifecycle of the tracker -----------------------------------------------

    def sync_store(self) -> int:
        """Copy runs not yet in the SQL store into it now; return how many were copied.

        Raises
        ------
        RunStateError
            On a tracker opened with ``access_mode="read"``.
        """
        return self._services.sync.sync(blocking=True)

    def rejected_records(self) -> list[RejectedRecord]:
        """Records the SQL store refused and set aside, oldest first.

        A record the store cannot ingest (a value its typed columns refuse, a journal
        line that is not a record) never blocks the others: it is kept under
        ``run_dir/.consist/rejected/`` with the reason, its snapshot is left intact,
        one warning is logged, and every other run is stored. Delete an entry's files
        once the record is fixed or given up. Works in either access mode (files only).

        Returns
        -------
        list[RejectedRecord]
            Frozen records: ``run_id``, ``reason``, ``origin`` (journal file or
            ``"snapshot"``), ``kept_at`` (the saved line or the snapshot) and
            ``rejected_at`` (ISO 8601, UTC).

        Examples
        --------
        >>> for item in tracker.rejected_records():  # doctest: +SKIP
        ...     print(item.run_id, item.reason)
        """
        return list_rejected(self._services.layout)

    def close(self) -> None:
        """Bring the SQL store up to date and release resources. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._finish_writing()
        self._services.store.close()
        self._engine = None
        atexit.unregister(self._sync_at_exit)

    # --- access mode guard (recording entry points check it before anything runs) ---

    def _require_no_active(self, what: str) -> None:
        self._services.sync.require_write(what)
        super()._require_no_active(what)

    def _require_active(self, what: str) -> ActiveRun:
        self._services.sync.require_write(what)
        return super()._require_active(what)

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sync_at_exit(self) -> None:
        if not self._closed:
            self._finish_writing()

    def _finish_writing(self) -> None:
        """What close() and interpreter exit both owe: step-index links, the store's
        last journal lines (and consist.json), the heartbeat's end."""
        self._services.completed.steps.flush()
        self._services.sync.sync_at_exit()
        self._services.liveness.stop()
