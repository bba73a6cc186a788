"""request/steps.py: define_step checks its defaults, merges them under explicit keywords,
and renders step name templates."""

from __future__ import annotations

import pytest

from consist import CacheOptions, ConfigError, ExecutionOptions, OutputPolicyOptions
from consist.errors import InvalidOptionError, UnknownKeywordError
from consist.options import CacheMode, InputBinding, OutputAction
from consist.request import steps


def plain() -> None:
    """A step function."""


def test_define_step_attaches_defaults_and_returns_the_function() -> None:
    def fn() -> None: ...

    decorated = steps.define_step(outputs=["a"], cache_mode="overwrite")(fn)
    assert decorated is fn
    assert dict(steps.step_defaults(fn)) == {"outputs": ["a"], "cache_mode": "overwrite"}
    assert dict(steps.step_defaults(plain)) == {}


def test_a_later_define_step_wins_per_key() -> None:
    @steps.define_step(tags=["outer"])
    @steps.define_step(tags=["inner"], outputs=["x"])
    def fn() -> None: ...

    assert dict(steps.step_defaults(fn)) == {"tags": ["outer"], "outputs": ["x"]}


@pytest.mark.parametrize(
    ("defaults", "error", "parameter"),
    [
        ({"cache_mode": "sometimes"}, InvalidOptionError, "cache_mode"),
        ({"output_missing": "shout"}, InvalidOptionError, "output_missing"),
        ({"input_binding": "glue"}, InvalidOptionError, "input_binding"),
        ({"outputs": [1]}, ConfigError, "outputs"),
        ({"tags": "one"}, ConfigError, "tags"),
        ({"year": "2030"}, ConfigError, "year"),
        ({"name": "a/b"}, ConfigError, "name"),
        ({"name_template": "{when}"}, UnknownKeywordError, "name_template"),
        ({"cache_options": {"cache_mode": "reuse"}}, ConfigError, "cache_options"),
        ({"run_id": "fixed"}, UnknownKeywordError, "run_id"),
        ({"outptus": ["a"]}, UnknownKeywordError, "outptus"),
    ],
)
def test_define_step_refuses_bad_defaults_at_decoration(
    defaults: dict[str, object], error: type[Exception], parameter: str
) -> None:
    with pytest.raises(error) as info:
        steps.define_step(**defaults)
    assert info.value.context["parameter"] == parameter  # type: ignore[attr-defined]


def test_define_step_refuses_what_takes_no_attributes() -> None:
    with pytest.raises(ConfigError, match="cannot attach"):
        steps.define_step(tags=["a"])(len)


def test_explicit_keywords_win_over_step_and_scenario_defaults() -> None:
    merged = steps.apply_defaults(
        {"tags": ["explicit"], "year": None, "outputs": None},
        {"tags": ["step"], "year": 2030, "outputs": ["a"]},
        {"year": 1999, "iteration": 2},
    )
    assert merged["tags"] == ["explicit"]
    assert merged["year"] == 2030  # the step's default, above the scenario's
    assert merged["iteration"] == 2
    assert merged["outputs"] == ["a"]


def test_flat_defaults_fill_option_groups_field_by_field() -> None:
    built = steps.apply_defaults(
        {}, {"cache_mode": "overwrite", "output_missing": "error", "input_binding": "paths"}
    )
    assert built["cache_options"].cache_mode is CacheMode.OVERWRITE
    assert built["output_policy"].output_missing is OutputAction.ERROR
    assert built["execution_options"].input_binding is InputBinding.PATHS
    # An explicit group keeps what it sets (cache_mode always) and fills its None fields.
    explicit = CacheOptions(cache_mode="reuse", cache_version=7)
    merged = steps.apply_defaults(
        {"cache_options": explicit},
        {"cache_mode": "overwrite", "cache_version": 1},
        {"cache_epoch": 3},
    )
    options = merged["cache_options"]
    assert (options.cache_mode, options.cache_version, options.cache_epoch) == (
        CacheMode.REUSE,
        7,
        3,
    )
    runtime = steps.apply_defaults(
        {"execution_options": ExecutionOptions("loaded")}, {"runtime_kwargs": {"a": 1}}
    )
    assert runtime["runtime_kwargs"] == {"a": 1}
    policy = OutputPolicyOptions("ignore")
    kept = steps.apply_defaults({"output_policy": policy}, {"output_missing": "error"})
    assert kept["output_policy"] is policy


def test_flat_defaults_stay_flat_for_trace() -> None:
    merged = steps.apply_defaults({"cache_epoch": None}, {"cache_epoch": 2}, grouped=False)
    assert merged == {"cache_epoch": 2}


@pytest.mark.parametrize(
    ("call", "scenario_template", "expected"),
    [
        ({"name": "given", "name_template": "{fn_name}"}, "{scenario}", "given"),
        ({"name_template": "{fn_name}_{year}", "year": 2030}, "{scenario}", "plain_2030"),
        ({}, "{scenario}_{fn_name}", "base_plain"),
        ({"year": None}, "{fn_name}_{year}", "plain"),  # an empty field's separator goes
        ({"iteration": 2, "stage": "s", "phase": "p", "model": "m"},
         "{model}-{stage}-{phase}-{iteration}", "m-s-p-2"),
        ({}, None, None),
    ],
)  # fmt: skip
def test_step_names(call: dict[str, object], scenario_template: str | None, expected: str) -> None:
    name = steps.step_name(call, plain, scenario="base", scenario_template=scenario_template)
    assert name == expected


def test_a_template_rendering_an_unusable_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="name_template"):
        steps.step_name({"stage": "a/b"}, plain, scenario_template="{stage}")
