"""Facet records: plain values, flattening with escapes, typed rows (model/facet.py)."""

from __future__ import annotations

import enum
import math
from pathlib import Path

import numpy as np
import pytest

from consist.errors import ConfigError
from consist.model.facet import ConfigKV, escape_key, facet_id, flatten, plain_mapping
from consist.model.plain import plain_numbers, plain_value


class Color(enum.Enum):
    RED = "red"


def test_plain_value_turns_numpy_and_friends_into_json_data() -> None:
    value = plain_value(
        {
            "i": np.int64(3),
            "f": np.float32(0.1),
            "d": np.float64(0.25),
            "b": np.bool_(True),
            "a": np.array([1, 2]),
            "t": (1, "x"),
            "e": Color.RED,
            "p": Path("a/b"),
        }
    )
    assert value == {
        "i": 3,
        "f": 0.1,
        "d": 0.25,
        "b": True,
        "a": [1, 2],
        "t": [1, "x"],
        "e": "red",
        "p": "a/b",
    }
    assert type(value["i"]) is int and type(value["b"]) is bool and type(value["d"]) is float


def test_plain_value_refuses_objects_naming_where() -> None:
    with pytest.raises(ConfigError, match=r"facet\.inner\.x"):
        plain_value({"inner": {"x": object()}}, "facet")


def test_plain_numbers_is_lenient() -> None:
    marker = object()
    assert plain_numbers({"n": np.int32(2), "o": marker, "l": (np.bool_(False),)}) == {
        "n": 2,
        "o": marker,
        "l": [False],
    }


def test_plain_mapping_accepts_dataclasses_and_refuses_the_rest() -> None:
    from dataclasses import dataclass

    @dataclass
    class Knobs:
        alpha: float = 0.5

    assert plain_mapping(Knobs(), "facet") == {"alpha": 0.5}
    for bad in ([1], "text", 3, {"": 1}, {"a": {"": 1}}, {2: "x"}):
        with pytest.raises(ConfigError):
            plain_mapping(bad, "facet")


def test_flatten_escapes_dots_and_backslashes_reversibly() -> None:
    payload = {"a.b": {"c": 1}, "a": {"b.c": 2}, "x\\": {"y": 3}, "x": {"\\.y": 4}, "e": {}}
    flat = dict(flatten(payload))
    assert len(flat) == 5  # every leaf keeps its own key: no two collide
    assert flat["a\\.b.c"] == 1 and flat["a.b\\.c"] == 2
    assert flat["x\\\\.y"] == 3 and flat["x.\\\\\\.y"] == 4
    assert flat["e"] == {}
    assert escape_key("p.q\\r") == "p\\.q\\\\r"


def test_rows_are_typed() -> None:
    rows = {
        r.key: r
        for r in (
            ConfigKV.of("r", "f", "m", k, v)
            for k, v in [
                ("s", "x"),
                ("i", 2**60 + 1),
                ("f", 0.5),
                ("b", False),
                ("n", None),
                ("l", [1]),
                ("nan", math.nan),
            ]
        )
    }
    assert rows["s"].value_str == "x" and rows["s"].value == "x"
    assert rows["i"].value_type == "int" and rows["i"].value == 2**60 + 1
    assert rows["i"].value_num == float(2**60)
    assert rows["f"].value_num == 0.5 and rows["f"].value == 0.5
    assert rows["b"].value_bool is False and rows["b"].value is False
    assert rows["n"].value_type == "null" and rows["n"].value is None
    assert rows["n"].value_json is None
    assert rows["l"].value_type == "json" and rows["l"].value == [1]
    assert math.isnan(rows["nan"].value) and rows["nan"].value_json == '"nan"'


def test_facet_id_depends_on_every_part() -> None:
    base = facet_id("m", {"a": 1}, None, None)
    assert base == facet_id("m", {"a": 1}, None, None)
    assert (
        len(
            {
                base,
                facet_id("n", {"a": 1}, None, None),
                facet_id("m", {"a": 2}, None, None),
                facet_id("m", {"a": 1}, "S", None),
                facet_id("m", {"a": 1}, None, 1),
            }
        )
        == 5
    )
