"""model/codec.py: records encode with orjson, keeping what the standard library kept."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid

import pytest

from consist.model import codec


class Mode(enum.StrEnum):
    FAST = "fast"


class Level(enum.IntEnum):
    HIGH = 2


@dataclasses.dataclass
class Point:
    x: int = 1


def test_compact_utf8_json_that_the_standard_library_reads_back() -> None:
    value = {"name": "zürich", "n": 3, "f": 0.1, "nested": [1, {"a": None, "b": True}]}
    data = codec.encode(value)
    assert b" " not in data
    assert "zürich".encode() in data  # raw UTF-8, not \u escapes
    assert json.loads(data) == value
    assert codec.decode(data) == value


def test_nan_and_infinity_are_kept_not_turned_into_null() -> None:
    data = codec.encode({"rmse": math.nan, "bounds": [-math.inf, math.inf]})
    assert b"NaN" in data and b"Infinity" in data and b"null" not in data
    back = codec.decode(data)
    assert math.isnan(back["rmse"]) and back["bounds"] == [-math.inf, math.inf]


def test_finite_true_skips_the_walk_only_when_the_caller_knows() -> None:
    assert codec.encode({"a": 1.5}, finite=True) == b'{"a":1.5}'
    assert codec.has_non_finite({"a": [1, {"b": math.nan}]})
    assert codec.has_non_finite((math.inf,))
    assert not codec.has_non_finite({"a": [1, 2.5, "nan", None, True]})


def test_values_orjson_refuses_fall_back_to_the_standard_library() -> None:
    big = 2**70
    assert codec.decode(codec.encode({"big": big})) == {"big": big}
    assert codec.encode({1: "a"}) == b'{"1":"a"}'  # non-string keys, as json.dumps


def test_types_json_has_no_form_for_are_stored_as_their_repr() -> None:
    when = datetime.datetime(2030, 1, 2, 3, 4, 5)
    back = codec.decode(codec.encode({"when": when, "point": Point(), "obj": object}))
    assert back == {"when": repr(when), "point": repr(Point()), "obj": repr(object)}


def test_builtin_subclasses_are_their_value_and_enums_uuids_are_text() -> None:
    back = codec.decode(
        codec.encode({"mode": Mode.FAST, "level": Level.HIGH, "id": uuid.UUID(int=5)})
    )
    assert back == {"mode": "fast", "level": 2, "id": str(uuid.UUID(int=5))}


def test_decode_reads_older_standard_library_records_and_refuses_garbage() -> None:
    older = json.dumps({"v": math.nan, "s": "é", "big": 2**70}).encode()
    back = codec.decode(older)
    assert math.isnan(back["v"]) and back["s"] == "é" and back["big"] == 2**70
    with pytest.raises(ValueError):
        codec.decode(b'{"torn": ')
