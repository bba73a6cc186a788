"""Module-level helpers: the same calls as the Tracker methods, on the current tracker.

The current tracker is the one running the active run (inside ``tracker.run`` /
``tracker.trace`` / ``start_run``), or the one set with ``consist.use_tracker``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from consist.context import find_current_tracker, get_current_tracker

if TYPE_CHECKING:
    from collections.abc import Hashable

    from consist.execute.watch import DirectoryWatch
    from consist.model.artifact import Artifact
    from consist.model.run import Run, RunResult
    from consist.query.runset import RunSet
    from consist.request.spec import RunKwargs, TraceKwargs
    from consist.tracker.tracker import Tracker
    from consist.workflow.coupler import Coupler
    from consist.workflow.scenario import ScenarioContext

_F = TypeVar("_F", bound=Callable[..., Any])


def current_tracker() -> Tracker:
    """The tracker the helpers act on; raises RuntimeError when there is none."""
    return get_current_tracker()


def output_path(key: str, ext: str | None = None) -> Path:
    """Path for output ``key`` in the active run's artifact directory.

    A file written there is logged as output ``key`` when the run finishes.

    Examples
    --------
    >>> out = consist.output_path("summary", ext="txt")  # doctest: +SKIP
    """
    tracker = get_current_tracker()
    active = tracker._require_active("consist.output_path")
    return active.capture.output_path(key, ext)  # it checks the key


def log_artifact(path: Any, key: str | None = None, **kwargs: Any) -> Artifact:
    """``Tracker.log_artifact`` on the current tracker."""
    return get_current_tracker().log_artifact(path, key, **kwargs)


def log_input(path: Any, key: str | None = None, **kwargs: Any) -> Artifact:
    """``Tracker.log_input`` on the current tracker."""
    return get_current_tracker().log_input(path, key, **kwargs)


def log_output(path: Any, key: str | None = None, **kwargs: Any) -> Artifact:
    """``Tracker.log_output`` on the current tracker."""
    return get_current_tracker().log_output(path, key, **kwargs)


def log_artifacts(outputs: Mapping[str, Any], **kwargs: Any) -> dict[str, Artifact]:
    """``Tracker.log_artifacts`` on the current tracker."""
    return get_current_tracker().log_artifacts(outputs, **kwargs)


def log_meta(**kwargs: Any) -> None:
    """``Tracker.log_meta`` on the current tracker."""
    get_current_tracker().log_meta(**kwargs)


def run(fn: Any = None, name: str | None = None, **kwargs: Unpack[RunKwargs]) -> RunResult:
    """``Tracker.run`` on the current tracker."""
    return get_current_tracker().run(fn, name, **kwargs)


def run_query(query: Any) -> list[Any]:
    """``Tracker.run_query`` on the current tracker: rows of a SQLAlchemy statement."""
    return get_current_tracker().run_query(query)


def trace(name: str, **kwargs: Unpack[TraceKwargs]) -> Any:
    """``Tracker.trace`` on the current tracker."""
    return get_current_tracker().trace(name, **kwargs)


def load(artifact: Any, tracker: Tracker | None = None, **kwargs: Any) -> Any:
    """Load an artifact (or a file path) as its natural object.

    A DuckDB relation for tables (csv, tsv, parquet, json, feather), an ``xarray.Dataset``
    for NetCDF / Zarr / OpenMatrix, a GeoDataFrame for spatial files, a DataFrame for an
    HDF5 table. ``tracker`` resolves run_dir-relative URIs; it defaults to the current
    tracker, and without one a path (or an artifact with a local path) still loads.

    Examples
    --------
    >>> rel = consist.load(result.outputs["trips"])  # doctest: +SKIP
    >>> rel.aggregate("sum(distance)").fetchall()  # doctest: +SKIP
    """
    from consist.formats.load import load_path, load_target

    found = tracker if tracker is not None else _current_or_none()
    if found is not None:
        return found.load(artifact, **kwargs)
    path, options = load_target(artifact, kwargs)
    return load_path(path, **options)


def load_df(artifact: Any, tracker: Tracker | None = None, **kwargs: Any) -> Any:
    """Load an artifact (or a file path) as a pandas DataFrame.

    Tables are read with pandas; gridded data (NetCDF, Zarr, OpenMatrix) becomes the
    Dataset's ``to_dataframe()``; an HDF5 table its DataFrame.
    """
    from consist.formats.load import load_frame, load_target

    found = tracker if tracker is not None else _current_or_none()
    if found is not None:
        return found._load_frame(artifact, **kwargs)
    path, options = load_target(artifact, kwargs)
    return load_frame(path, **options)


def log_dataframe(df: Any, key: str, **kwargs: Any) -> Artifact:
    """``Tracker.log_dataframe`` on the current tracker."""
    return get_current_tracker().log_dataframe(df, key, **kwargs)


def _current_or_none() -> Tracker | None:
    try:
        return get_current_tracker()
    except RuntimeError:
        return None


def ingest(artifact: Artifact, data: Any = None, schema: Any = None, **kwargs: Any) -> Any:
    """``Tracker.ingest`` on the current tracker: load rows into the DuckDB hot tables."""
    return get_current_tracker().ingest(artifact, data, schema, **kwargs)


def view(model: Any, key: str | None = None) -> Any:
    """``Tracker.view`` on the current tracker: a hybrid view over a schema's concept."""
    return get_current_tracker().view(model, key)


def capture_outputs(
    directory: str | os.PathLike[str], pattern: str = "*", recursive: bool = False
) -> AbstractContextManager[DirectoryWatch]:
    """``Tracker.capture_outputs`` on the current tracker: files new or modified in
    ``directory`` during the block become outputs of the active run.

    Examples
    --------
    >>> with consist.capture_outputs("./out", pattern="*.csv"):  # doctest: +SKIP
    ...     legacy_model.run("./out")
    """
    return get_current_tracker().capture_outputs(directory, pattern, recursive)


def find_runs(**filters: Any) -> list[Run] | dict[Hashable, Run]:
    """``Tracker.find_runs`` on the current tracker."""
    return get_current_tracker().find_runs(**filters)


def find_run(**filters: Any) -> Run:
    """``Tracker.find_run`` on the current tracker."""
    return get_current_tracker().find_run(**filters)


def find_latest_run(**filters: Any) -> Run | None:
    """``Tracker.find_latest_run`` on the current tracker."""
    return get_current_tracker().find_latest_run(**filters)


def run_set(label: str | None = None, **filters: Any) -> RunSet:
    """``Tracker.run_set`` on the current tracker."""
    return get_current_tracker().run_set(label, **filters)


def get_artifact(key_or_id: Any, *, run_id: str | None = None) -> Artifact | None:
    """``Tracker.get_artifact`` on the current tracker."""
    return get_current_tracker().get_artifact(key_or_id, run_id=run_id)


def current_run() -> Run | None:
    """The active run of the current tracker, or None (also when there is no tracker)."""
    tracker = find_current_tracker()
    return None if tracker is None else tracker.current_run


def start_run(run_id: str, model: str, **kwargs: Any) -> AbstractContextManager[Tracker]:
    """``Tracker.start_run`` on the current tracker."""
    return get_current_tracker().start_run(run_id, model, **kwargs)


def scenario(
    name: str,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    model: str = "scenario",
    step_cache_hydration: str | None = None,
    name_template: str | None = None,
    cache_epoch: int | None = None,
    coupler: Coupler | None = None,
    require_outputs: Iterable[str] | None = None,
    **kwargs: Any,
) -> ScenarioContext:
    """``Tracker.scenario`` on the current tracker.

    Examples
    --------
    >>> with consist.use_tracker(tracker):  # doctest: +SKIP
    ...     with consist.scenario("baseline") as sc:
    ...         sc.run(fn=simulate, year=2030)
    """
    return get_current_tracker().scenario(
        name,
        config,
        tags,
        model,
        step_cache_hydration,
        name_template,
        cache_epoch,
        coupler,
        require_outputs,
        **kwargs,
    )


def define_step(**kwargs: Any) -> Callable[[_F], _F]:
    """Attach run defaults to a function (``Tracker.define_step``); needs no tracker.

    Examples
    --------
    >>> @consist.define_step(outputs=["cleaned"], cache_mode="overwrite")  # doctest: +SKIP
    ... def clean(raw): ...
    """
    from consist.request.steps import define_step as attach

    return attach(**kwargs)


def cached_artifacts(direction: str = "output") -> dict[str, Artifact]:
    """``Tracker.cached_artifacts`` on the current tracker."""
    return get_current_tracker().cached_artifacts(direction)


def cached_output(key: str | None = None) -> Artifact | None:
    """``Tracker.cached_output`` on the current tracker."""
    return get_current_tracker().cached_output(key)
