"""Artifact, lineage, history and run-set methods of Tracker (the read side, never writes).

Store queries go through the sync's read policy (persist/sync.py: a write tracker
copies pending runs in first; a reader merges them in memory, store/overlay.py). A
run's own config and artifacts are read from its JSON snapshot, like ``get_run``, and
so are the runs a lineage walk meets (the store fetches only those without one here).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from consist.errors import ConfigError, QueryError
from consist.formats.registry import read_table
from consist.model.artifact import Artifact
from consist.persist.snapshot import final_runs
from consist.query.runs import build_run_query
from consist.store.base import MetadataStore
from consist.store.overlay import PendingOverlay
from consist.tracker._base import TrackerBase, refuse_unknown_keywords

if TYPE_CHECKING:
    from consist.query.artifacts import RunArtifacts
    from consist.query.lineage import LineageNode
    from consist.query.runset import RunSet
    from consist.store.links import ArtifactQuery, LineageGraph


class LookupMethods(TrackerBase):
    def _query_artifacts(self, query: ArtifactQuery) -> list[Artifact]:
        return self._services.sync.read(
            lambda store: store.query_artifacts(query),
            lambda store, pending: PendingOverlay(store, pending).query_artifacts(query),
        )

    @refuse_unknown_keywords
    def find_artifacts(
        self, *, creator: Any = None, consumer: Any = None, key: str | None = None, limit: int = 100
    ) -> list[Artifact]:
        """Artifacts by the run that wrote them, the run that read them, and key.

        Parameters
        ----------
        creator : str or Run, optional
            Run (or run id) that logged the artifact as an output.
        consumer : str or Run, optional
            Run (or run id) that logged the artifact as an input.
        key : str, optional
            Exact artifact key.
        limit : int
            Maximum number of artifacts (newest first).

        Returns
        -------
        list[Artifact]
            Distinct matching artifacts, newest first.
        """
        from consist.query.artifacts import build_artifact_query

        return self._query_artifacts(
            build_artifact_query(creator=creator, consumer=consumer, key=key, limit=limit)
        )

    @refuse_unknown_keywords
    def get_artifact(self, key_or_id: Any, *, run_id: str | None = None) -> Artifact | None:
        """An artifact by id (str or UUID) or key (the newest with that key), or None.

        With ``run_id``, only artifacts that run logged (as input or output) count.

        Examples
        --------
        >>> households = tracker.get_artifact("households")  # doctest: +SKIP
        """
        from consist.query.artifacts import find_artifact

        return find_artifact(self._query_artifacts, key_or_id, run_id)

    def get_artifacts_for_run(self, run_id: str) -> RunArtifacts:
        """A run's ``inputs`` and ``outputs`` by key (both empty for an unknown run)."""
        from consist.query.artifacts import RunArtifacts

        record = self._services.sync.find_record(_run_id(run_id))
        if record is None:
            return RunArtifacts()
        return RunArtifacts(record.inputs_by_key(), record.outputs_by_key())

    def get_run_artifact(
        self,
        run_id: str,
        key: str | None = None,
        key_contains: str | None = None,
        direction: str = "output",
    ) -> Artifact | None:
        """One artifact of a run: by exact ``key``, else the first key containing
        ``key_contains``, else the run's only artifact in ``direction``; None if none."""
        from consist.query.artifacts import pick_run_artifact

        artifacts = self.get_artifacts_for_run(run_id)
        return pick_run_artifact(artifacts, key, key_contains, direction)

    def load_run_output(self, run_id: str, key: str, **kwargs: Any) -> Any:
        """Load output ``key`` of run ``run_id`` as a table (pandas DataFrame).

        ``driver=`` overrides the recorded format. Raises QueryError if the run has no
        such output, ConfigError if its format does not load as a table.
        """
        driver = kwargs.pop("driver", None)
        if kwargs:
            raise ConfigError(
                f"load_run_output got unsupported options {sorted(kwargs)}.",
                fix="Pass only driver=..., or load artifact.path yourself.",
                parameter=sorted(kwargs)[0],
            )
        outputs = self.get_artifacts_for_run(run_id).outputs
        artifact = outputs.get(key)
        if artifact is None:
            raise QueryError(
                f"Run {run_id!r} has no output {key!r} (outputs: {sorted(outputs) or 'none'}).",
                fix="Check the key with tracker.get_run_outputs(run_id).",
                run_id=run_id,
            )
        return read_table(artifact.path, driver or artifact.driver)

    def get_run_config(self, run_id: str, *, allow_missing: bool = False) -> dict[str, Any] | None:
        """The config a run was called with (from its snapshot).

        Raises
        ------
        QueryError
            If no such run is recorded and ``allow_missing`` is False.
        """
        record = self._services.sync.find_record(_run_id(run_id))
        if record is None:
            if allow_missing:
                return None
            raise QueryError(
                f"get_run_config: no run {run_id!r} is recorded.",
                fix="Check the run id, or pass allow_missing=True.",
                run_id=run_id,
            )
        config = record.config
        return dict(config) if isinstance(config, dict) else config

    @refuse_unknown_keywords
    def get_artifact_lineage(
        self, artifact_key_or_id: Any, *, max_depth: int | None = None, direction: str = "upstream"
    ) -> LineageNode | None:
        """The lineage tree of an artifact, or None if no such artifact is recorded.

        Parameters
        ----------
        artifact_key_or_id : str or UUID
            Artifact key (the newest with that key) or id.
        max_depth : int, optional
            Artifact levels to walk (0: the artifact alone; None: all of them).
        direction : {"upstream", "downstream"}
            ``"upstream"`` (the spec's lineage): the run that produced the artifact,
            its inputs, their producers... back to raw inputs. ``"downstream"``:
            every run that read it, their outputs, and so on (all that derives from it).

        Returns
        -------
        LineageNode or None
            The root node; ``node.steps`` are the runs walked through, each with its
            ``artifacts``. ``to_dict()`` gives plain data.

        Examples
        --------
        >>> tree = tracker.get_artifact_lineage("skims", max_depth=3)  # doctest: +SKIP
        >>> tree.producer.name  # doctest: +SKIP
        'assign_traffic'
        """
        from consist.query.artifacts import find_artifact, id_candidates
        from consist.query.lineage import build_tree, check_lineage_args

        check_lineage_args(max_depth, direction)
        id_candidates(artifact_key_or_id)  # a bad argument fails before any read

        # The root is resolved as get_artifact does, in the same read as the walk:
        # one read-policy check and read session instead of two. The runs met are read
        # from their snapshots where this run_dir has them, as get_run does; the store
        # answers the others (persist/snapshot.final_runs).
        resolve = partial(final_runs, self._services.layout)

        def answer(source: MetadataStore | PendingOverlay) -> LineageGraph | None:
            root = find_artifact(source.query_artifacts, artifact_key_or_id)
            if root is None:
                return None
            return source.get_lineage(
                root.id, direction=direction, max_depth=max_depth, resolve_runs=resolve
            )

        graph = self._services.sync.read(
            answer, lambda store, pending: answer(PendingOverlay(store, pending))
        )
        return build_tree(graph) if graph is not None else None

    @refuse_unknown_keywords
    def print_lineage(
        self,
        artifact_key_or_id: Any,
        *,
        max_depth: int | None = None,
        show_run_ids: bool = False,
        direction: str = "upstream",
    ) -> None:
        """Print the lineage tree of :meth:`get_artifact_lineage` as indented text.

        Raises
        ------
        QueryError
            If no such artifact is recorded.
        """
        from consist.query.lineage import render_tree

        tree = self.get_artifact_lineage(
            artifact_key_or_id, max_depth=max_depth, direction=direction
        )
        if tree is None:
            raise QueryError(
                f"print_lineage: no artifact {artifact_key_or_id!r} is recorded.",
                fix="Check the key or id with tracker.find_artifacts(key=...).",
            )
        print(render_tree(tree, direction, show_run_ids=bool(show_run_ids)))

    @refuse_unknown_keywords
    def history(self, limit: int = 10, tags: list[str] | None = None) -> Any:
        """Recent runs as a pandas DataFrame, newest first.

        ``tags`` keeps runs that carry ANY of the given tags (``find_runs`` needs all).
        Columns: every Run field but ``cache_decision`` and ``owner``.
        """
        from consist.query.runset import runs_frame

        query = build_run_query(limit=limit, any_tags=tags)
        return runs_frame(self._services.sync.query_runs(query))

    def run_set(self, label: str | None = None, **filters: Any) -> RunSet:
        """A :class:`RunSet` of ``find_runs(**filters)``, labelled ``label``.

        Equivalent to ``RunSet.from_query(self, label=label, **filters)``.
        """
        from consist.query.runset import RunSet

        return RunSet.from_query(self, label=label, **filters)  # type: ignore[arg-type]


def _run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise ConfigError(
            f"run_id={run_id!r} must be a run id (a non-empty str).",
            fix="Pass run.id.",
            parameter="run_id",
        )
    return run_id
