"""request/build.py: a call becomes one RunRequest with parsed options, or a named error."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist import CacheOptions, ConfigError, ExecutionOptions, OutputPolicyOptions
from consist.errors import InvalidOptionError, UnknownKeywordError
from consist.options import CacheMode, CodeIdentityMode, InputBinding, OutputAction
from consist.request import build
from consist.request.spec import ExecutionStyle


def step() -> None:
    """A step function."""


def test_run_request_parses_every_option_group() -> None:
    request = build.request_from_run(
        {
            "fn": step,
            "year": 2030,
            "outputs": "table",
            "cache_options": CacheOptions("overwrite", 2, 3, "callable_source", ["a.py"]),
            "output_policy": OutputPolicyOptions("error", "ignore"),
            "execution_options": ExecutionOptions("paths", {"a": 1}),
            "runtime_kwargs": {"b": 2},
        }
    )
    assert request.style is ExecutionStyle.FUNCTION
    assert (request.name, request.model, request.year) == ("step", "step", 2030)
    assert request.run_id.startswith("step-")
    assert request.cache.mode is CacheMode.OVERWRITE
    assert (request.cache.version, request.cache.epoch) == (2, 3)
    assert request.cache.code_identity is CodeIdentityMode.CALLABLE_SOURCE
    assert request.cache.code_identity_extra_deps == ("a.py",)
    assert request.output.keys == ("table",)
    assert request.output.missing is OutputAction.ERROR
    assert request.output.mismatch is OutputAction.IGNORE
    assert request.input_binding is InputBinding.PATHS
    # runtime_kwargs= adds to (and wins over) ExecutionOptions.runtime_kwargs.
    assert request.runtime_kwargs == {"a": 1, "b": 2}


def test_trace_request_takes_flat_options() -> None:
    request = build.request_from_trace(
        {"name": "t", "cache_mode": "readonly", "cache_epoch": 4, "output_missing": "error"},
        caller_file="/x.py",
    )
    assert request.style is ExecutionStyle.TRACE
    assert request.cache.mode is CacheMode.READONLY and request.cache.epoch == 4
    assert request.output.missing is OutputAction.ERROR
    assert request.caller_file == "/x.py"


def test_begin_run_splits_run_fields_from_metadata() -> None:
    request = build.request_from_begin_run(
        {"run_id": "r1", "model": "m", "artifact_dir": Path("out")},
        {"year": 2020, "name": "named", "owner": "ana"},
        caller_file=None,
    )
    assert request.style is ExecutionStyle.IMPERATIVE
    assert (request.name, request.year, request.artifact_dir) == ("named", 2020, "out")
    assert request.meta == {"owner": "ana"}


def test_begin_run_name_defaults_to_the_run_id() -> None:
    request = build.request_from_begin_run({"run_id": "r1", "model": "m"}, {}, None)
    assert request.name == "r1"


def test_begin_run_refuses_run_keywords_it_does_not_take() -> None:
    with pytest.raises(UnknownKeywordError, match="cache_options"):
        build.request_from_begin_run(
            {"run_id": "r", "model": "m"}, {"cache_options": CacheOptions()}, None
        )


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        ({"fn": None}, "fn"),
        ({"fn": 3}, "fn"),
        ({"fn": step, "cache_options": {"cache_mode": "reuse"}}, "cache_options"),
        ({"fn": step, "output_policy": "warn"}, "output_policy"),
        ({"fn": step, "execution_options": "paths"}, "execution_options"),
        ({"fn": step, "runtime_kwargs": [1]}, "runtime_kwargs"),
        ({"fn": step, "year": "2030"}, "year"),
        ({"fn": step, "iteration": 1.5}, "iteration"),
        ({"fn": step, "tags": "solo"}, "tags"),
        ({"fn": step, "outputs": [""]}, "outputs"),
        ({"fn": step, "outputs": 5}, "outputs"),
        ({"fn": step, "output_paths": ["a"]}, "output_paths"),
        ({"fn": step, "stage": 1}, "stage"),
        ({"fn": step, "name": "a/b"}, "name"),
        ({"fn": step, "run_id": ".."}, "run_id"),
    ],
)
def test_bad_run_arguments_name_the_parameter(call: dict[str, object], parameter: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build.request_from_run(call)
    assert caught.value.context["parameter"] == parameter


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        ({"cache_mode": "sometimes"}, "cache_mode"),
        ({"code_identity": "git"}, "code_identity"),
        ({"output_missing": "explode"}, "output_missing"),
        ({"output_mismatch": 1}, "output_mismatch"),
        ({"cache_version": "2"}, "cache_version"),
        ({"code_identity_extra_deps": "helpers.py"}, "code_identity_extra_deps"),
    ],
)
def test_bad_trace_options_name_the_parameter(call: dict[str, object], parameter: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build.request_from_trace({"name": "t", **call}, None)
    assert caught.value.context["parameter"] == parameter
    if parameter in ("cache_mode", "code_identity", "output_missing", "output_mismatch"):
        assert isinstance(caught.value, InvalidOptionError)


def test_check_keywords_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownKeywordError, match="Did you mean 'model'") as caught:
        build.check_keywords(["modle"], build.RUN_KEYWORDS, "Tracker.run")
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ConfigError)
    assert caught.value.context["parameter"] == "modle"


def test_check_keywords_lists_valid_names_when_nothing_is_close() -> None:
    with pytest.raises(UnknownKeywordError, match="Valid: .*cache_options"):
        build.check_keywords(["zzz"], build.RUN_KEYWORDS, "Tracker.run")
