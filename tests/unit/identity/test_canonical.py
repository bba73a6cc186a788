"""Rules of the canonical config form (see consist.identity.canonical)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from consist.errors import ConfigError, ConsistError
from consist.identity.canonical import (
    canonical_json,
    canonicalize,
    compute_config_digest,
    digest_bytes,
)


def digest(value: object) -> str:
    return compute_config_digest(value)[1]


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


@dataclasses.dataclass
class Inner:
    depth: int
    tags: tuple[str, ...]


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner


def test_key_order_does_not_matter() -> None:
    a = {"x": 1, "y": {"b": 2, "a": [1, 2]}}
    b = {"y": {"a": [1, 2], "b": 2}, "x": 1}
    assert canonical_json(a) == canonical_json(b)
    assert digest(a) == digest(b)
    assert list(canonicalize(b)) == ["x", "y"]  # type: ignore[call-overload]


def test_integral_float_equals_int() -> None:
    assert digest({"a": 1}) == digest({"a": 1.0})
    assert digest({"a": 0}) == digest({"a": -0.0})
    assert type(canonicalize(3.0)) is int


def test_non_integral_float_differs_from_int() -> None:
    assert digest({"a": 1.5}) != digest({"a": 1})
    assert canonicalize(1.5) == 1.5


def test_bool_is_not_int() -> None:
    assert digest({"a": True}) != digest({"a": 1})
    assert digest({"a": False}) != digest({"a": 0})
    assert canonicalize(True) is True


def test_tuple_equals_list_but_order_matters() -> None:
    assert digest({"a": (1, 2)}) == digest({"a": [1, 2]})
    assert digest({"a": [1, 2]}) != digest({"a": [2, 1]})


def test_set_order_independent() -> None:
    a = {"s": {3, "b", 1, "a", 2.5}}
    b = {"s": frozenset(["a", 2.5, 1, "b", 3])}
    assert canonical_json(a) == canonical_json(b)
    assert canonicalize({"x", "y"}) == ["x", "y"]


def test_path_equals_posix_string() -> None:
    assert digest({"p": Path("a/b")}) == digest({"p": "a/b"})
    assert canonicalize(PureWindowsPath("a\\b")) == "a/b"
    assert canonicalize(PurePosixPath("/x/y")) == "/x/y"


def test_enum_uses_value() -> None:
    assert canonicalize(Color.RED) == "red"
    assert canonicalize(Color.BLUE) == 2
    assert digest({"c": Color.RED}) == digest({"c": "red"})


def test_str_enum_key_is_plain_string() -> None:
    class Key(enum.StrEnum):
        A = "a"

    assert canonical_json({Key.A: 1}) == b'{"a":1}'


def test_datetime_date_time_isoformat() -> None:
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    assert canonicalize(moment) == "2024-05-06T07:08:09+00:00"
    assert canonicalize(dt.date(2024, 5, 6)) == "2024-05-06"
    assert canonicalize(dt.time(7, 8)) == "07:08:00"


def test_decimal_uuid_bytes() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert canonicalize(Decimal("1.10")) == "1.10"
    assert canonicalize(ident) == "12345678-1234-5678-1234-567812345678"
    assert canonicalize(b"\x00\xff") == {"__bytes__": "00ff"}
    assert digest({"b": b"ab"}) != digest({"b": "ab"})


def test_pydantic_model_equals_dict() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Sub(pydantic.BaseModel):
        k: float

    class Model(pydantic.BaseModel):
        name: str
        size: int
        sub: Sub
        where: Path

    model = Model(name="n", size=3, sub=Sub(k=2.0), where=Path("d/e"))
    as_dict = {"where": "d/e", "sub": {"k": 2}, "size": 3, "name": "n"}
    assert digest(model) == digest(as_dict)
    assert digest({"m": model}) == digest({"m": as_dict})
    assert digest(model) != digest({**as_dict, "size": 4})


def test_dataclass_equals_dict_of_fields() -> None:
    value = Outer(name="o", inner=Inner(depth=2, tags=("x", "y")))
    assert canonicalize(value) == {"inner": {"depth": 2, "tags": ["x", "y"]}, "name": "o"}
    assert digest(value) == digest({"name": "o", "inner": {"depth": 2, "tags": ["x", "y"]}})


def test_numpy_scalars_and_arrays() -> None:
    np = pytest.importorskip("numpy")
    assert canonicalize(np.int64(5)) == 5
    assert canonicalize(np.float32(0.5)) == 0.5
    assert canonicalize(np.float64(2.0)) == 2
    assert canonicalize(np.bool_(True)) is True
    assert digest({"a": np.arange(3)}) == digest({"a": [0, 1, 2]})
    assert canonicalize(np.array([[1.0, 1.5]])) == [[1, 1.5]]
    assert canonicalize(np.array([np.nan])) == [{"__float__": "nan"}]


def test_nan_and_infinities_are_tagged() -> None:
    assert canonicalize(math.nan) == {"__float__": "nan"}
    assert canonicalize(math.inf) == {"__float__": "inf"}
    assert canonicalize(-math.inf) == {"__float__": "-inf"}
    # NaN != NaN in Python, but two NaN configs must hash alike.
    assert digest({"a": float("nan")}) == digest({"a": float("nan")})
    assert digest({"a": math.inf}) != digest({"a": -math.inf})
    assert canonical_json([math.nan]) == b'[{"__float__":"nan"}]'


def test_non_string_key_error_names_path_and_key() -> None:
    config = {"a": [0, 1, {(1, 2): "x"}]}
    with pytest.raises(ConfigError) as info:
        canonicalize(config)
    message = str(info.value)
    assert "config['a'][2]" in message
    assert "(1, 2)" in message
    assert "tuple" in message
    assert "string keys" in message
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ConsistError)


def test_int_key_rejected_at_top_level_with_custom_root() -> None:
    with pytest.raises(ValueError, match=r"params has a non-string key 3 of type builtins\.int"):
        canonicalize({3: "x"}, path="params")


def test_unsupported_value_names_path_and_type() -> None:
    class Opaque:
        pass

    with pytest.raises(ConfigError) as info:
        canonical_json({"model": {"layers": [1, Opaque()]}})
    message = str(info.value)
    assert "config['model']['layers'][1]" in message
    assert "Opaque" in message
    assert "JSON-like" in message


def test_unsupported_value_inside_dataclass_uses_attribute_path() -> None:
    with pytest.raises(ConfigError, match=r"config\['x'\]\.inner\.depth"):
        canonicalize({"x": Outer(name="o", inner=Inner(depth=object(), tags=()))})  # type: ignore[arg-type]


def test_classes_are_not_configs() -> None:
    with pytest.raises(ConfigError):
        canonicalize({"cls": Outer})


def test_reference_cycle_is_a_config_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ConfigError, match="cycle"):
        canonicalize(loop)


def test_none_config_digest_is_empty_dict() -> None:
    canon, value = compute_config_digest(None)
    assert canon == {}
    assert value == digest_bytes(b"{}") == digest({})


def test_canonical_json_is_compact_sorted_utf8() -> None:
    assert canonical_json({"b": "é", "a": [1, None, True]}) == (
        '{"a":[1,null,true],"b":"é"}'.encode()
    )


def test_digest_bytes_is_64_hex() -> None:
    value = digest_bytes(b"abc")
    assert len(value) == 64
    assert int(value, 16) >= 0
