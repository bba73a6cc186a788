"""The in-run cache options have a consumer: ``cached_output`` / ``cached_artifacts``
validate and hydrate a hit's outputs as the options in force say (cache/in_run.py), so a
helper that calls ``suspend_cache_options()`` gets the defaults and
``restore_cache_options()`` brings the caller's back."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

import consist
from consist import Artifact, Tracker
from consist.options import Hydration, ValidateMode
from consist.request.cache_scope import ActiveRunCacheOptions


def _analysis(tracker: Tracker, **options: Any) -> AbstractContextManager[Any]:
    return tracker.trace(  # type: ignore[no-any-return]
        "analysis", config={"a": 1}, output_paths={"report": "report.txt"}, **options
    )


def _first(tracker: Tracker) -> Artifact:
    """The miss that the hits below reuse."""
    with _analysis(tracker):
        Path("report.txt").write_text("r")
    record = tracker.last_run
    assert record is not None
    return record.outputs[0]


def _with_defaults(tracker: Tracker, ask: Callable[[], Any]) -> Any:
    """A helper that wants default cache behaviour, as the reference describes."""
    previous = tracker.suspend_cache_options()
    try:
        return ask()
    finally:
        tracker.restore_cache_options(previous)


def test_hydration_follows_the_options_in_force(tracker: Tracker) -> None:
    original = _first(tracker)
    with _analysis(tracker, cache_hydration="outputs-all"):
        assert tracker.is_cached
        artifact_dir = tracker.run_artifact_dir()
        caller = tracker.cached_output("report")
        helper = _with_defaults(tracker, lambda: tracker.cached_output("report"))
        # The hydrated copy begin made is deleted: the caller's options copy it again,
        # the helper's (no hydration) do not.
        assert caller is not None and caller.path.parent == artifact_dir
        caller.path.unlink()
        again = _with_defaults(tracker, lambda: consist.cached_artifacts()["report"])
        assert not caller.path.exists()
        restored = tracker.cached_artifacts()["report"]
    assert helper is not None and helper.path == original.path
    assert again.path == original.path
    assert restored.path == caller.path and restored.path.read_text() == "r"
    # The hydrated artifact is the recorded one: same id, uri, digest and producer.
    assert (restored.id, restored.uri, restored.hash, restored.run_id) == (
        original.id,
        original.uri,
        original.hash,
        original.run_id,
    )


def test_outputs_requested_hydrates_the_requested_paths(tracker: Tracker) -> None:
    _first(tracker)
    Path("copies").mkdir()
    with tracker.trace(
        "analysis",
        config={"a": 1},
        output_paths={"report": "copies/report.txt"},
        cache_hydration="outputs-requested",
    ):  # other output paths, the same identity: a hit
        requested = tracker.cached_output("report")
        default = _with_defaults(tracker, lambda: tracker.cached_output("report"))
    assert requested is not None and requested.path == Path("copies/report.txt").resolve()
    assert default is not None and default.path == Path("report.txt").resolve()
    # A plain trace hit whose options are swapped in by hand hydrates now, on request.
    with _analysis(tracker):
        assert tracker.cached_output("report").path == Path("report.txt").resolve()  # type: ignore[union-attr]
        previous = tracker.suspend_cache_options()
        tracker.restore_cache_options(ActiveRunCacheOptions(cache_hydration=Hydration.OUTPUTS_ALL))
        hydrated = tracker.cached_output("report")
        tracker.restore_cache_options(previous)
        target = tracker.run_artifact_dir() / "report.txt"
    assert hydrated is not None and hydrated.path == target and target.read_text() == "r"
    assert Path("copies/report.txt").read_text() == "r"


def test_strict_validation_follows_the_options_in_force(tracker: Tracker) -> None:
    _first(tracker)
    with _analysis(tracker, validate_cached_outputs="strict"):
        assert tracker.is_cached
        Path("report.txt").write_text("edited by the user")
        with pytest.warns(UserWarning, match=r"'report'.*bytes changed.*'strict'"):
            caller = tracker.cached_output("report")
        helper = _with_defaults(tracker, lambda: tracker.cached_output("report"))
        with pytest.warns(UserWarning, match="bytes changed"):
            after = tracker.cached_artifacts()
    assert caller is None and after == {}
    # lazy (the default) only asks that the file exist; the edit is never overwritten.
    assert helper is not None and helper.key == "report"
    assert Path("report.txt").read_text() == "edited by the user"


def test_no_validation_until_a_helper_asks_for_the_defaults(tracker: Tracker) -> None:
    _first(tracker)
    with _analysis(tracker, validate_cached_outputs="none"):
        Path("report.txt").unlink()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            caller = tracker.cached_output()
        with pytest.warns(UserWarning, match=r"'report'.*file is gone.*'lazy'"):
            helper = _with_defaults(tracker, lambda: tracker.cached_output())
        assert tracker.suspend_cache_options().validate_cached_outputs is ValidateMode.NONE
        Path("report.txt").write_text("r")
    assert caller is not None and caller.key == "report"
    assert helper is None
