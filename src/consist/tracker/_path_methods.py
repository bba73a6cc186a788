"""Path methods of Tracker: URIs and mounts, artifact directories, ghost-mode materialise,
directory capture, and finding artifacts by location.

Rules (docs/caching.md has the user's view):

* Records hold portable URIs only (fs/layout.py): ``./relative`` under run_dir,
  ``<mount>://relative`` under a mount root. ``resolve_uri`` maps one back; a mounted URI
  that climbs out of its root is refused (PathEscapeError).
* ``materialize`` copies an artifact's bytes to a destination: from its own file, else
  from a recorded copy of the same digest (cache/copies.py). When neither exists the
  artifact is a ghost: ``on_missing`` says what happens, and the message names the run
  that would regenerate it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from consist import flow
from consist.errors import ConfigError, MissingArtifactError, QueryError
from consist.execute.watch import DirectoryWatch
from consist.fs.atomic import copy_atomic
from consist.fs.contain import join_inside
from consist.identity.code import user_stacklevel
from consist.model.artifact import Artifact
from consist.model.run import Run
from consist.options import AccessMode, OutputAction
from consist.tracker._base import TrackerBase


class PathMethods(TrackerBase):
    def resolve_uri(self, uri: str) -> str:
        """The absolute local path of a portable URI (``inputs://x.csv``, ``./outputs/...``).

        A scheme no mount names is returned unchanged; a plain relative path is made
        absolute against the working directory.

        Raises
        ------
        PathEscapeError
            If a mounted URI leads outside its mount root (``inputs://../../etc/passwd``).

        Examples
        --------
        >>> tracker.resolve_uri("inputs://households.csv")  # doctest: +SKIP
        '/data/in/households.csv'
        """
        if not isinstance(uri, str):
            raise ConfigError(
                f"uri={uri!r} must be a string.", fix="Pass a URI such as 'inputs://x.csv'.",
                parameter="uri",
            )  # fmt: skip
        if "://" not in uri and not uri.startswith("./"):
            return os.path.abspath(uri)  # a plain path: made absolute, as the reference says
        return self._services.layout.from_uri(uri)

    def set_run_subdir_fn(self, fn: Callable[[Run], str | os.PathLike[str]] | None) -> None:
        """Choose each new run's artifact directory: ``fn(run)`` returns a path relative to
        run_dir (it must stay inside run_dir). ``None`` restores ``outputs/<model>/<run_id>``.
        """
        if fn is not None and not callable(fn):
            raise ConfigError(
                f"set_run_subdir_fn(fn={fn!r}): fn must be callable or None.",
                fix="Pass a function of the run, e.g. lambda run: f'outputs/{run.year}/{run.id}'.",
                parameter="fn",
            )
        self._services.layout.subdir_fn = fn

    def run_artifact_dir(self, run: Run | None = None) -> Path:
        """The artifact directory of ``run`` (default: the active run).

        Raises
        ------
        RunStateError
            If ``run`` is None and no run is active.
        """
        layout = self._services.layout
        if run is None:
            active = self._require_active("run_artifact_dir()")
            return Path(active.capture.artifact_dir)
        if run.artifact_dir:
            return Path(layout.from_uri(run.artifact_dir))
        return Path(layout.run_artifact_dir(run))

    def resolve_historical_path(self, artifact: Artifact, run: Run) -> Path:
        """Where ``artifact`` lives in the workspace of ``run`` (which produced or read it).

        Portable URIs resolve through run_dir and the mounts; a bare relative URI resolves
        under the run's artifact directory.
        """
        uri = artifact.uri
        if uri.startswith("./") or "://" in uri or os.path.isabs(uri):
            return Path(self._services.layout.from_uri(uri))
        return Path(join_inside(os.fspath(self.run_artifact_dir(run)), uri, "artifact.uri"))

    def load_input_bundle(self, run_id: str) -> dict[str, Artifact]:
        """The outputs of bundle run ``run_id`` by key, ready for ``inputs=...``.

        Raises
        ------
        QueryError
            (a ValueError) if the run is not recorded or has no output artifacts.
        """
        record = self._services.sync.find_record(run_id)
        if record is None:
            raise QueryError(
                f"load_input_bundle: no run {run_id!r} is recorded.",
                fix="Check the run id, e.g. with tracker.find_runs().",
                run_id=run_id,
            )
        if not record.outputs:
            raise QueryError(
                f"load_input_bundle: run {run_id!r} has no output artifacts.",
                fix="Name the run that logged the bundle files as outputs.",
                run_id=run_id,
            )
        return record.outputs_by_key()

    def get_artifact_by_uri(
        self, uri: str, *, table_path: str | None = None, array_path: str | None = None
    ) -> Artifact | None:
        """The newest artifact recorded at ``uri`` (a portable URI, or a local path, which is
        turned into its URI), or None. ``table_path`` / ``array_path`` must match the
        artifact's meta entries of those names when given."""
        layout, services = self._services.layout, self._services
        if not isinstance(uri, (str, os.PathLike)):
            raise ConfigError(
                f"uri={uri!r} must be a string.", fix="Pass a URI such as 'inputs://x.csv'.",
                parameter="uri",
            )  # fmt: skip
        text = os.fspath(uri)
        if "://" not in text and not text.startswith("./"):
            text = layout.to_uri(os.path.abspath(text))
        if services.sync.access_mode is AccessMode.WRITE:
            services.sync.sync(blocking=True)  # runs not yet copied into the store
        with services.store.read_session():
            found = services.store.find_artifacts_by_uri(text)
        for artifact in found:
            meta = artifact.meta
            if table_path is not None and meta.get("table_path") != table_path:
                continue
            if array_path is not None and meta.get("array_path") != array_path:
                continue
            return artifact
        return None

    def materialize(
        self,
        artifact: Artifact,
        destination_path: str | os.PathLike[str],
        *,
        on_missing: OutputAction | str = "warn",
    ) -> str | None:
        """Copy ``artifact``'s bytes to ``destination_path`` (ghost mode: files may be gone).

        The bytes come from the artifact's own file, else from a recorded copy with the
        same digest (a hydrated or materialised copy). When neither exists, ``on_missing``
        decides: ``"warn"`` (default) warns and returns None, ``"error"`` raises
        MissingArtifactError, ``"ignore"`` returns None; the message names the run that
        would regenerate the file.

        Returns
        -------
        str | None
            The destination path, or None when the bytes could not be found.

        Examples
        --------
        >>> tracker.materialize(result.outputs["table"], "./table.csv")  # doctest: +SKIP
        """
        action = OutputAction.parse(on_missing, "on_missing")
        if not isinstance(artifact, Artifact):
            raise ConfigError(
                f"materialize: artifact={artifact!r} is not an Artifact.",
                fix="Pass an Artifact, e.g. result.outputs['key'] or tracker.get_artifact(...).",
                parameter="artifact",
            )
        services = self._services
        target = os.path.abspath(os.fspath(destination_path))
        source = artifact.abs_path or services.layout.from_uri(artifact.uri)
        if os.path.exists(source):
            if os.path.abspath(source) != target:
                copy_atomic(source, target)
        elif not services.copies.restore(artifact, target):
            self._ghost(artifact, source, action)
            return None
        services.copies.add(artifact.hash, target)
        return target

    def _ghost(self, artifact: Artifact, source: str, action: OutputAction) -> None:
        producer = artifact.run_id
        record = self._services.sync.find_record(producer) if producer is not None else None
        step = f" (step {record.run.name!r}, model {record.run.model_name!r})" if record else ""
        message = (
            f"materialize: artifact {artifact.key!r} is missing at {source} and no recorded "
            f"copy of its bytes exists; run {producer!r}{step} would regenerate it."
        )
        fix = "Re-run that step (its cache entry is demoted, so it executes again)."
        if action is OutputAction.ERROR:
            raise MissingArtifactError(message, fix=fix, run_id=producer, path=source)
        if action is OutputAction.WARN:
            warnings.warn(f"{message} {fix}", UserWarning, stacklevel=user_stacklevel())
        return None

    @contextmanager
    def capture_outputs(
        self, directory: str | os.PathLike[str], pattern: str = "*", recursive: bool = False
    ) -> Iterator[DirectoryWatch]:
        """Log files new or modified in ``directory`` during the block as outputs of the
        active run (keys: relative path without the last suffix; see execute/watch.py).

        Yields a DirectoryWatch whose ``artifacts`` (key -> Artifact) is filled when the
        block ends; nothing is logged when the block raises.

        Raises
        ------
        RunStateError
            (a RuntimeError) if no run is active.

        Examples
        --------
        >>> with tracker.capture_outputs("./out", pattern="*.csv") as captured:  # doctest: +SKIP
        ...     legacy_model.write_to("./out")
        """
        active = self._require_active("capture_outputs")
        watch = DirectoryWatch.start(directory, pattern, bool(recursive))
        yield watch
        for key, path in watch.changed().items():
            watch.artifacts[key] = active.capture.log_output(path, key)
        if watch.artifacts:
            flow.record_progress(self._services, active)
