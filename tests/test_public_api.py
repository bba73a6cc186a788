"""The public surface of ``consist``: a sorted ``__all__``, documented names, stable aliases."""

from __future__ import annotations

import dataclasses
import inspect
import types

import pytest

import consist


def _resolve_all() -> None:
    for name in consist.__all__:
        getattr(consist, name)


def _public_names(names) -> set[str]:
    """Names that are public and not submodules (``consist.tracker`` etc. are packages)."""
    return {
        name
        for name in names
        if not name.startswith("_") and not isinstance(getattr(consist, name), types.ModuleType)
    }


def test_all_is_sorted_and_unique() -> None:
    assert consist.__all__ == sorted(consist.__all__)
    assert len(set(consist.__all__)) == len(consist.__all__)


def test_every_name_in_all_resolves() -> None:
    for name in consist.__all__:
        assert getattr(consist, name) is not None, name


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        consist.no_such_name  # noqa: B018
    assert not hasattr(consist, "no_such_name")


def test_exported_names_are_in_all() -> None:
    """Nothing that consist defines as public (classes, functions) is missing from __all__."""
    _resolve_all()
    exported = {
        name
        for name, value in vars(consist).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", "").startswith("consist")
    }
    assert exported <= set(consist.__all__)


def test_all_equals_the_public_namespace() -> None:
    _resolve_all()
    assert _public_names(vars(consist)) == set(consist.__all__)
    assert _public_names(dir(consist)) == set(consist.__all__)


@pytest.mark.parametrize("name", consist.__all__)
def test_every_export_has_its_own_docstring(name: str) -> None:
    value = getattr(consist, name)
    doc = value.__doc__
    if inspect.isclass(value):
        # A class's __doc__ is not inherited, but a dataclass without one gets a
        # generated "Name(field: type, ...)" signature: that is not documentation.
        doc = vars(value).get("__doc__")
        if dataclasses.is_dataclass(value) and doc and doc.startswith(f"{value.__name__}("):
            doc = None
    assert doc and doc.strip(), f"consist.{name} has no docstring"


def test_documented_imports_work() -> None:
    from consist import (
        CacheOptions,
        ExecutionOptions,
        OutputPolicyOptions,
        Tracker,
        output_path,
        use_tracker,
    )

    assert inspect.isclass(Tracker)
    assert inspect.isclass(ExecutionOptions)
    assert inspect.isclass(CacheOptions)
    assert inspect.isclass(OutputPolicyOptions)
    assert callable(use_tracker)
    assert callable(output_path)


def test_core_aliases_are_the_same_objects() -> None:
    from consist.core.tracker import Tracker
    from consist.core.tracker_config import TrackerConfig

    assert Tracker is consist.Tracker
    assert TrackerConfig is consist.TrackerConfig
    from consist.settings import TrackerConfig as SettingsTrackerConfig
    from consist.tracker.tracker import Tracker as FacadeTracker

    assert Tracker is FacadeTracker
    assert TrackerConfig is SettingsTrackerConfig


def test_version_is_a_string() -> None:
    assert isinstance(consist.__version__, str) and consist.__version__
