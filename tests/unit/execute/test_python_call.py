"""execute/python.py: binding inputs to parameters, runtime kwargs, mapping return values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consist.errors import ConfigError
from consist.execute.python import bind_arguments, check_runtime_kwargs, split_returns
from consist.identity.inputs import ResolvedInput
from consist.model.artifact import Artifact
from consist.options import InputBinding


@pytest.fixture
def inputs(tmp_path: Path) -> list[ResolvedInput]:
    (tmp_path / "households.csv").write_text("id,size\n1,3\n2,1\n")
    (tmp_path / "notes.txt").write_text("hello")
    return [
        ResolvedInput("input", "households", str(tmp_path / "households.csv"), "d1"),
        ResolvedInput("input", "notes", str(tmp_path / "notes.txt"), "d2"),
        ResolvedInput("input", "unused", str(tmp_path / "unused.csv"), "d3"),
    ]


def annotated(households: pd.DataFrame, notes: Path) -> None: ...


def plain(households, notes, config=None, **rest): ...


def bind(fn: Any, inputs: list[ResolvedInput], binding: InputBinding, **kw: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"config": None, "runtime_kwargs": None, **kw}
    return bind_arguments(fn, named_inputs=inputs, binding=binding, **options)


def test_paths_binding_passes_paths_for_matching_parameters_only(
    inputs: list[ResolvedInput], tmp_path: Path
) -> None:
    kwargs = bind(annotated, inputs, InputBinding.PATHS)
    assert kwargs == {"households": tmp_path / "households.csv", "notes": tmp_path / "notes.txt"}


def test_auto_binding_loads_only_parameters_annotated_as_frames(
    inputs: list[ResolvedInput], tmp_path: Path
) -> None:
    kwargs = bind(annotated, inputs, InputBinding.AUTO)
    assert isinstance(kwargs["households"], pd.DataFrame)
    assert kwargs["households"].to_dict("list") == {"id": [1, 2], "size": [3, 1]}
    assert kwargs["notes"] == tmp_path / "notes.txt"

    unannotated = bind(plain, inputs, InputBinding.AUTO)
    assert unannotated["households"] == tmp_path / "households.csv"


def test_loaded_binding_loads_tabular_files_and_passes_others_as_paths(
    inputs: list[ResolvedInput], tmp_path: Path
) -> None:
    kwargs = bind(plain, inputs, InputBinding.LOADED)
    assert isinstance(kwargs["households"], pd.DataFrame)
    assert kwargs["notes"] == tmp_path / "notes.txt"
    assert "unused" not in kwargs


def test_none_binding_passes_no_inputs(inputs: list[ResolvedInput]) -> None:
    assert bind(plain, inputs, InputBinding.NONE) == {}


def test_config_goes_to_a_config_parameter_and_runtime_kwargs_win(
    inputs: list[ResolvedInput],
) -> None:
    kwargs = bind(
        plain, inputs, InputBinding.NONE, config={"a": 1}, runtime_kwargs={"notes": "override"}
    )
    assert kwargs == {"config": {"a": 1}, "notes": "override"}
    assert bind(annotated, inputs, InputBinding.NONE, config={"a": 1}) == {}


def test_an_input_named_config_is_not_replaced_by_the_config(tmp_path: Path) -> None:
    (tmp_path / "config.txt").write_text("x")
    named = [ResolvedInput("input", "config", str(tmp_path / "config.txt"), "d")]
    kwargs = bind(plain, named, InputBinding.PATHS, config={"a": 1})
    assert kwargs == {"config": tmp_path / "config.txt"}


def test_check_runtime_kwargs_accepts_known_names_and_var_keyword() -> None:
    def fn(a: int, b: int = 0) -> None: ...

    check_runtime_kwargs(fn, None)
    check_runtime_kwargs(fn, {})
    check_runtime_kwargs(fn, {"a": 1, "b": 2})
    check_runtime_kwargs(plain, {"anything": 1})


def test_check_runtime_kwargs_refuses_an_unknown_name_and_lists_the_parameters() -> None:
    def fn(alpha: int, beta: int = 0) -> None: ...

    with pytest.raises(ConfigError) as info:
        check_runtime_kwargs(fn, {"alpah": 1})
    message = str(info.value)
    assert "'alpah'" in message and "'fn'" in message and "alpha, beta" in message
    assert info.value.context["parameter"] == "runtime_kwargs"


def artifact(key: str) -> Artifact:
    return Artifact(id="x", key=key, uri=f"./{key}.csv")


FRAME = pd.DataFrame({"a": [1]})


@pytest.mark.parametrize(
    ("value", "declared", "expected", "mismatch"),
    [
        (None, None, {}, False),
        (None, ("a",), {}, False),
        ({"a": "a.csv", "b": Path("b.csv")}, None, {"a": "a.csv", "b": Path("b.csv")}, False),
        ({"a": "a.csv", "n": 3}, ("a",), {"a": "a.csv"}, False),
        ({"a": "a.csv"}, ("a", "b"), {"a": "a.csv"}, True),
        ("out/summary.v2.txt", None, {"summary": "out/summary.v2.txt"}, False),
        (Path("out/table.csv"), None, {"table": Path("out/table.csv")}, False),
        (3, None, {}, False),
        (("l.txt", "r.txt"), ("left", "right"), {"left": "l.txt", "right": "r.txt"}, False),
        (("l.txt",), ("left", "right"), {"left": "l.txt"}, True),
        ("one.txt", ("single",), {"single": "one.txt"}, False),
        (3, ("single",), {"single": 3}, True),
        ("one.txt", ("a", "b"), {"a": "one.txt"}, True),
    ],
)
def test_split_returns(value: Any, declared: Any, expected: dict[str, Any], mismatch: bool) -> None:
    assert split_returns(value, declared) == (expected, mismatch)


def test_split_returns_uses_an_artifacts_key_and_skips_undeclared_frames() -> None:
    art = artifact("households")
    assert split_returns(art, None) == ({"households": art}, False)
    assert split_returns(FRAME, None) == ({}, False)
    items, mismatch = split_returns(FRAME, ("table",))
    assert items["table"] is FRAME and not mismatch
    items, mismatch = split_returns({"t": FRAME, "n": 1}, None)
    assert list(items) == ["t"] and not mismatch
