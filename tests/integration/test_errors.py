"""Bad input: every mistake raises the documented error, names the culprit, records nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist import (
    CacheOptions,
    ConfigError,
    ConsistError,
    ExecutionOptions,
    MissingInputError,
    OutputPolicyOptions,
    Tracker,
)


def snapshot_ids(tracker: Tracker) -> set[str]:
    return {p.stem for p in (tracker.run_dir / "consist_runs").glob("*.json")}


def never_called() -> None:  # pragma: no cover - must not run
    raise AssertionError("fn must not be called when the request is invalid")


def assert_nothing_recorded(tracker: Tracker) -> None:
    assert snapshot_ids(tracker) == set()
    assert tracker.find_runs() == []
    assert tracker.current_run is None


@pytest.mark.parametrize("model", ["", "   "])
def test_empty_model_name(tracker: Tracker, model: str) -> None:
    with pytest.raises(ConfigError, match="model") as excinfo:
        tracker.run(fn=never_called, model=model)
    assert isinstance(excinfo.value, ValueError)

    with pytest.raises(ValueError, match="model"):
        tracker.begin_run("r", model)
    with pytest.raises(ValueError, match="model"):
        with tracker.trace("t", model=model):
            pass  # pragma: no cover
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize(
    "make_call",
    [
        lambda t: t.run(fn=never_called, cache_options=CacheOptions(cache_mode="bogus")),
        lambda t: t.trace("t", cache_mode="bogus"),
        lambda t: t.begin_run("r", "m", cache_mode="bogus"),
    ],
    ids=["run", "trace", "begin_run"],
)
def test_unknown_cache_mode(tracker: Tracker, make_call) -> None:
    with pytest.raises(ConsistError) as excinfo:
        make_call(tracker)

    error = excinfo.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert "bogus" in message
    for mode in ("reuse", "overwrite", "readonly"):
        assert repr(mode) in message
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize(
    "build",
    [
        lambda: OutputPolicyOptions(output_missing="loud"),
        lambda: OutputPolicyOptions(output_mismatch="loud"),
        lambda: ExecutionOptions(input_binding="loud"),
        lambda: CacheOptions(code_identity="loud"),
    ],
    ids=["output_missing", "output_mismatch", "input_binding", "code_identity"],
)
def test_unknown_option_values(build) -> None:
    with pytest.raises(ConfigError, match="loud"):
        build()


def test_trace_unknown_output_policy_value(tracker: Tracker) -> None:
    with pytest.raises(ValueError, match="output_missing"):
        tracker.trace("t", output_missing="sometimes")
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize("parameter", ["inputs", "depends_on", "identity_inputs"])
def test_missing_input_file(tracker: Tracker, tmp_path: Path, parameter: str) -> None:
    missing = tmp_path / "nowhere" / "households.csv"
    refs = {"households": missing} if parameter == "inputs" else [missing]

    with pytest.raises(MissingInputError) as excinfo:
        tracker.run(fn=never_called, **{parameter: refs})

    assert isinstance(excinfo.value, FileNotFoundError)
    assert str(missing) in str(excinfo.value)
    assert_nothing_recorded(tracker)


def test_missing_input_relative_path_names_the_absolute_path(
    tracker: Tracker, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError) as excinfo:
        tracker.run(fn=never_called, inputs=["missing.csv"])

    assert str(tmp_path / "missing.csv") in str(excinfo.value)


def test_missing_input_in_begin_run(tracker: Tracker, tmp_path: Path) -> None:
    with pytest.raises(MissingInputError):
        tracker.begin_run("r", "m", inputs=[tmp_path / "missing.csv"])

    assert tracker.current_run is None
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize(
    ("config", "where", "bad_key"),
    [({1: "a"}, "config", 1), ({"outer": {(1, 2): "a"}}, "config['outer']", (1, 2))],
)
def test_non_string_config_keys(tracker: Tracker, config: dict, where: str, bad_key) -> None:
    with pytest.raises(ConfigError) as excinfo:
        tracker.run(fn=never_called, config=config)

    message = str(excinfo.value)
    assert repr(bad_key) in message
    assert where in message
    assert_nothing_recorded(tracker)


def test_unsupported_config_value(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match=r"config\['callback'\]"):
        tracker.run(fn=never_called, config={"callback": object()})
    assert_nothing_recorded(tracker)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"tags": "baseline"}, "tags"),
        ({"tags": ["ok", ""]}, "tags"),
        ({"tags": ["ok", 3]}, "tags"),
        ({"year": "2020"}, "year"),
        ({"year": 2020.0}, "year"),
        ({"iteration": "1"}, "iteration"),
        ({"stage": 3}, "stage"),
        ({"run_id": "a/b"}, "run_id"),
        ({"name": ""}, "name"),
        ({"outputs": [""]}, "outputs"),
        ({"output_paths": ["x.txt"]}, "output_paths"),
        ({"runtime_kwargs": ["x"]}, "runtime_kwargs"),
        ({"cache_options": {"cache_mode": "reuse"}}, "cache_options"),
        ({"output_policy": "error"}, "output_policy"),
        ({"execution_options": {"input_binding": "paths"}}, "execution_options"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_run_arguments(tracker: Tracker, kwargs: dict, parameter: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        tracker.run(fn=never_called, **kwargs)

    assert isinstance(excinfo.value, ValueError)
    assert parameter in str(excinfo.value)
    assert_nothing_recorded(tracker)


def test_tags_as_string_in_begin_run_and_trace(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="tags"):
        tracker.begin_run("r", "m", tags="baseline")
    with pytest.raises(ConfigError, match="tags"):
        tracker.trace("t", tags="baseline")
    assert_nothing_recorded(tracker)


def test_year_as_string_in_begin_run(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="year"):
        tracker.begin_run("r", "m", year="2020")
    assert_nothing_recorded(tracker)


def test_fn_must_be_callable(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="fn"):
        tracker.run(fn="not a function", name="x")
    assert_nothing_recorded(tracker)


def test_inputs_of_the_wrong_type(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="inputs"):
        tracker.run(fn=never_called, inputs=[42])
    with pytest.raises(ConfigError, match="inputs"):
        tracker.run(fn=never_called, inputs={1: "x.csv"})
    assert_nothing_recorded(tracker)


def test_unknown_runtime_kwarg_fails_the_run_without_calling_fn(tracker: Tracker) -> None:
    calls = []

    def step(alpha=0) -> None:
        calls.append(alpha)

    with pytest.raises(ConfigError, match="typo"):
        tracker.run(fn=step, run_id="rk", runtime_kwargs={"typo": 1})

    assert calls == []
    assert tracker.get_run("rk") is None or tracker.get_run("rk").status == "failed"
    assert tracker.find_runs(status="completed") == []


def test_end_run_unknown_status(tracker: Tracker) -> None:
    tracker.begin_run("r", "m")
    with pytest.raises(ValueError, match="status"):
        tracker.end_run("finished")
    tracker.end_run("completed")
    assert tracker.get_run("r").status == "completed"


def test_errors_keep_the_tracker_usable(tracker: Tracker) -> None:
    with pytest.raises(ConfigError):
        tracker.run(fn=never_called, config={1: 2})
    with pytest.raises(MissingInputError):
        tracker.run(fn=never_called, inputs=["missing.csv"])

    def ok() -> None:
        return None

    assert tracker.run(fn=ok).run.status == "completed"


def test_run_without_fn_is_a_config_error(tracker: Tracker) -> None:
    with pytest.raises(ConfigError, match="fn") as excinfo:
        tracker.run(name="nothing_to_run")
    assert isinstance(excinfo.value, ValueError)
    assert excinfo.value.context["parameter"] == "fn"
    assert_nothing_recorded(tracker)
