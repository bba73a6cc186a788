"""Inspection and upkeep of a store, for the front ends (CLI, web app) and notebooks:
compare_runs, list_views, check_store, rebuild_store.

compare_runs reads snapshots (no database); list_views and check_store only read
(safe on ``access_mode="read"``, beside a running sweep); rebuild_store writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from consist.errors import ConfigError, QueryError
from consist.model.run import ConsistRecord
from consist.store.duckdb.store import DuckDBStore
from consist.tracker._base import TrackerBase, refuse_unknown_keywords

if TYPE_CHECKING:
    from consist.persist.check import StoreCheck
    from consist.views.catalog import ViewInfo

Progress = Callable[[int, int], None]


class InspectMethods(TrackerBase):
    def compare_runs(self, run_id_a: str, run_id_b: str) -> dict[str, Any]:
        """Compare two runs: config keys, inputs and outputs by digest, identity fields.

        Unlike :meth:`diff_runs` (config facets in the store), this reads both runs'
        JSON snapshots, so it needs no database and covers the whole config.

        Returns
        -------
        dict
            ``{"run_id_a", "run_id_b", "fields": {name: (a, b)}, "config": {"added",
            "removed", "changed"}, "inputs": {...}, "outputs": {...}}``; inputs and
            outputs each hold ``"added": {key: digest}``, ``"removed"``, ``"changed":
            {key: (digest_a, digest_b)}`` and ``"same": [key, ...]``.

        Raises
        ------
        QueryError
            If either run is not recorded.

        Examples
        --------
        >>> tracker.compare_runs(base.id, alt.id)["config"]["changed"]  # doctest: +SKIP
        {'demand.growth': (0.01, 0.02)}
        """
        from consist.query.compare import compare_records

        return compare_records(
            self._record(run_id_a, "run_id_a"), self._record(run_id_b, "run_id_b")
        )

    def list_views(self) -> list[ViewInfo]:
        """Views and hot tables of the SQL store, by schema and name.

        Hybrid views (``view``, ``create_view``, ``create_grouped_view``), the store's
        compatibility views and ingested tables of ``global_tables``, each with its
        columns. Empty without a database (``db_path=None``, or a reader before any
        writer created it). Read-only.
        """
        from consist.views.catalog import list_views

        store = self._services.store
        if not isinstance(store, DuckDBStore):
            return []  # a store without SQL has no views
        with store.read_connection() as conn:
            return [] if conn is None else list_views(conn)

    @refuse_unknown_keywords
    def check_store(self, *, progress: Progress | None = None) -> StoreCheck:
        """Compare the SQL store with the JSON snapshots (the truth).

        A write tracker copies its pending runs into the store first (as before every
        query); the comparison itself only reads, and a reader never writes.

        Parameters
        ----------
        progress : callable, optional
            ``progress(done, total)``, called as snapshots are compared.

        Returns
        -------
        StoreCheck
            ``missing`` (snapshot runs the store lacks), ``extra`` (store runs without a
            snapshot), ``mismatched`` (runs whose fields or artifact links differ),
            ``pending`` (journal lines a sync has yet to copy: no fault), ``unreadable``
            snapshots, and ``ok``. ``rebuild_store()`` repairs a store that is not ok.
        """
        _check_progress(progress)
        return self._services.sync.check(progress)

    @refuse_unknown_keywords
    def rebuild_store(self, *, progress: Progress | None = None) -> int:
        """Re-import every JSON snapshot (and pending journal line) into the SQL store.

        Safe on an existing store (rows are upserted). Returns how many snapshots were
        imported. ``progress(done, total)`` follows the snapshots read.

        Raises
        ------
        RunStateError
            On a tracker opened with ``access_mode="read"``.
        """
        _check_progress(progress)
        return self._services.sync.rebuild(progress)

    def _record(self, run_id: object, parameter: str) -> ConsistRecord:
        if not isinstance(run_id, str) or not run_id:
            raise ConfigError(
                f"{parameter}={run_id!r} must be a run id (a non-empty str).",
                fix="Pass run.id.",
                parameter=parameter,
            )
        record = self._services.sync.find_record(run_id)
        if record is None:
            raise QueryError(
                f"No run {run_id!r} is recorded under {self._services.layout.snapshots_dir}.",
                fix="Check the run id, e.g. with tracker.find_runs().",
                run_id=run_id,
                parameter=parameter,
            )
        return record


def _check_progress(progress: object) -> None:
    if progress is not None and not callable(progress):
        raise ConfigError(
            f"progress={progress!r} must be a callable progress(done, total) or None.",
            fix="Pass a function, e.g. progress=lambda done, total: print(done, total).",
            parameter="progress",
        )
