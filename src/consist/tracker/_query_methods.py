"""Query methods of Tracker: find and fetch runs and their records."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from consist.errors import ConfigError, QueryError
from consist.model.artifact import Artifact
from consist.model.decision import CacheDecision
from consist.model.run import ConsistRecord, Run, RunStatus
from consist.query.runs import build_run_query, check_index_by, index_runs
from consist.store.base import RunQuery
from consist.tracker._base import TrackerBase, refuse_unknown_keywords


class QueryMethods(TrackerBase):
    def _facet_keys_of_runs(
        self, key: str, runs: Sequence[Run], parameter: str = "index_by"
    ) -> list[Hashable]:
        """Each run's flattened facet value under ``key`` (RunSet grouping by facet)."""
        from consist.query.config import facet_keys

        return facet_keys(self._services.sync.read_store, runs, key, parameter)

    def _query(self, query: RunQuery) -> list[Run]:
        # The access mode decides whether pending runs are synced first (persist/sync.py).
        return self._services.sync.query_runs(query)

    @refuse_unknown_keywords
    def find_runs(
        self,
        tags: list[str] | None = None,
        year: int | None = None,
        iteration: int | None = None,
        stage: str | None = None,
        phase: str | None = None,
        model: str | None = None,
        status: str | None = None,
        parent_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        limit: int | None = 100,
        index_by: str | None = None,
        name: str | None = None,
        offset: int = 0,
    ) -> list[Run] | dict[Hashable, Run]:
        """Runs matching every given filter, newest first.

        Every filter is an exact match on a bound value (``%``, ``_`` and quotes are
        data); ``tags`` must all be present; ``metadata`` matches ``run.meta`` entries.
        ``offset`` skips that many matching runs before ``limit`` applies (paging:
        ``offset=200, limit=100`` is the third page of 100); ``limit=None`` returns every
        match.

        With ``index_by="<run attribute>"`` returns a dict keyed by that attribute
        (the last run wins on duplicate keys); ``index_by="facet.<key>"`` keys by a
        flattened facet value of each run (None when its facet lacks the key).

        Raises
        ------
        ConfigError
            (a ValueError; UnknownKeywordError, a TypeError, for a misspelt keyword)
            naming a filter of the wrong type or an unknown ``index_by``.

        Examples
        --------
        >>> tracker.find_runs(model="traffic", year=2030, tags=["baseline"])  # doctest: +SKIP
        """
        query = build_run_query(
            tags=tags, year=year, iteration=iteration, stage=stage, phase=phase, model=model,
            status=status, parent_id=parent_id, name=name, metadata=metadata, limit=limit,
            offset=offset,
        )  # fmt: skip
        if isinstance(index_by, str) and index_by.startswith("facet."):
            key = index_by[len("facet.") :]
            from consist.query.config import index_by_facet

            return index_by_facet(self._services.sync.read_store, self._query(query), key)
        if index_by is not None:  # checked before the query: a typo must not cost one
            check_index_by(index_by, also=("facet.<key>",))
        runs = self._query(query)
        if index_by is None:
            return runs
        return index_runs(runs, index_by)

    def find_run(self, **kwargs: Any) -> Run:
        """Exactly one run matching the filters of :meth:`find_runs`.

        Raises
        ------
        ValueError
            If no run, or more than one run, matches.
        """
        if kwargs.get("index_by") is not None:
            raise ConfigError(
                "find_run returns one run, so it takes no index_by.",
                fix="Drop index_by, or call find_runs(index_by=...).",
                parameter="index_by",
            )
        kwargs["limit"] = 2
        runs = self.find_runs(**kwargs)
        assert isinstance(runs, list)
        if len(runs) != 1:
            found = "no run" if not runs else "more than one run"
            raise QueryError(
                f"find_run found {found} for {kwargs}.",
                fix="Use find_runs to see the matches, or add filters.",
            )
        return runs[0]

    @refuse_unknown_keywords
    def find_latest_run(
        self,
        *,
        parent_id: str | None = None,
        model: str | None = None,
        status: str | None = None,
        year: int | None = None,
        stage: str | None = None,
        phase: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        limit: int = 10_000,
    ) -> Run | None:
        """The most recent matching run: highest iteration first, then newest."""
        build_run_query(limit=limit)  # checked for its type, like every filter
        runs = self._query(build_run_query(
            tags=tags, year=year, stage=stage, phase=phase, model=model, status=status,
            parent_id=parent_id, metadata=metadata, limit=1, order="latest",
        ))  # fmt: skip
        return runs[0] if runs else None

    def get_latest_run_id(self, **kwargs: Any) -> str:
        """Id of :meth:`find_latest_run`; raises ValueError when nothing matches."""
        run = self.find_latest_run(**kwargs)
        if run is None:
            raise QueryError(f"No run matches {kwargs}.", fix="Check the filters with find_runs.")
        return run.id

    def find_matching_run(self, config_hash: str, input_hash: str, git_hash: str) -> Run | None:
        """Newest completed run with these identity components (``git_hash`` = code digest)."""
        runs = self._query(build_run_query(
            config_hash=config_hash, input_hash=input_hash, git_hash=git_hash,
            status=RunStatus.COMPLETED.value, limit=1,
        ))  # fmt: skip
        return runs[0] if runs else None

    def get_run(self, run_id: str) -> Run | None:
        """The run with this id, or None (read from its JSON snapshot; no database needed)."""
        record = self._services.sync.find_record(run_id)
        return record.run if record is not None else None

    def get_run_record(self, run_id: str, *, allow_missing: bool = False) -> ConsistRecord | None:
        """The full JSON snapshot of a run (config, inputs, outputs, identity).

        Raises
        ------
        ValueError
            If the snapshot does not exist and ``allow_missing`` is False.
        """
        record = self._services.sync.find_record(run_id)
        if record is None and not allow_missing:
            raise QueryError(
                f"No snapshot for run {run_id!r} under {self._services.layout.snapshots_dir}.",
                fix="Check the run id, or pass allow_missing=True.",
                run_id=run_id,
            )
        return record

    def explain(self, run_id: str) -> CacheDecision:
        """Why run ``run_id`` reused a cached result, or why it executed.

        Read from the run's JSON snapshot (no database needed). For a miss, the
        decision names the identity components (code, config keys, inputs, year,
        iteration, cache_version, cache_epoch) that differ from the nearest earlier
        run of the same step.

        Parameters
        ----------
        run_id : str
            Id of a recorded run.

        Returns
        -------
        CacheDecision
            Its ``outcome`` (hit / miss / overwrite / demoted), ``summary`` (one line)
            and structured ``changes``.

        Raises
        ------
        QueryError
            If no run ``run_id`` is recorded, or its record predates cache decisions.

        Examples
        --------
        >>> print(tracker.explain(result.run.id))  # doctest: +SKIP
        miss: config changed (changed: scenario.growth) (compared with run 'step-1a2b')
        """
        record = self._services.sync.find_record(run_id)
        if record is None:
            raise QueryError(
                f"explain(run_id={run_id!r}): no run with this id is recorded under "
                f"{self._services.layout.snapshots_dir}.",
                fix="Check the run id, e.g. with tracker.find_runs().",
                run_id=run_id,
            )
        if not record.run.cache_decision:
            raise QueryError(
                f"explain(run_id={run_id!r}): the run's record holds no cache decision.",
                cause="It was recorded by a Consist version that did not store decisions.",
                fix="Re-run the step to record one.",
                run_id=run_id,
            )
        return CacheDecision.from_dict(record.run.cache_decision)

    def get_run_outputs(self, run_id: str) -> dict[str, Artifact]:
        """Output artifacts of a run by key (empty for an unknown run)."""
        record = self._services.sync.find_record(run_id)
        return record.outputs_by_key() if record else {}

    def get_run_inputs(self, run_id: str) -> dict[str, Artifact]:
        """Input artifacts of a run by key (empty for an unknown run)."""
        record = self._services.sync.find_record(run_id)
        return record.inputs_by_key() if record else {}
