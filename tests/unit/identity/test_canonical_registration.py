"""register_canonical_type: new value types in the canonical form, without moving old digests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import fractions
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.errors import ConfigError
from consist.identity.canonical import (
    canonical_json,
    canonicalize,
    compute_config_digest,
    register_canonical_type,
)


def digest(value: object) -> str:
    return compute_config_digest(value)[1]


class Box:
    """A value type the built-in rules reject; registered once below."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload


class SubBox(Box):
    pass


class Opaque:
    pass


register_canonical_type(Box, lambda box: box.payload)


def test_a_registered_type_canonicalizes_as_its_functions_result() -> None:
    assert canonicalize(Box({"b": (1, 2.0), "a": Path("x/y")})) == {"a": "x/y", "b": [1, 2]}
    assert digest({"cfg": Box([1, 2])}) == digest({"cfg": [1, 2]})
    assert digest({"cfg": Box([1, 2])}) != digest({"cfg": [2, 1]})


def test_subclasses_use_the_registration_of_their_base() -> None:
    assert canonical_json(SubBox({"k": 1})) == canonical_json({"k": 1})


def test_registered_types_compose() -> None:
    assert canonicalize(Box([Box(1.0), Box({"n": Box(None)})])) == [1, {"n": None}]


def test_a_subclass_can_be_registered_before_its_base() -> None:
    class Base:
        pass

    class Derived(Base):
        pass

    register_canonical_type(Derived, lambda _: "derived")
    with pytest.raises(ConfigError):
        canonicalize(Base())
    register_canonical_type(Base, lambda _: "base")

    assert canonicalize(Derived()) == "derived"
    assert canonicalize(Base()) == "base"


def test_registration_reaches_types_already_looked_up() -> None:
    class Late:
        pass

    with pytest.raises(ConfigError):
        canonicalize({"x": Late()})
    register_canonical_type(Late, lambda _: "late")
    assert canonicalize({"x": Late()}) == {"x": "late"}


@dataclasses.dataclass
class Point:
    x: int


class Color(enum.Enum):
    RED = "red"


class Model:
    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {}


class ArrayLike:
    dtype = "int64"

    def tolist(self) -> list[int]:
        return []


class MyStr(str):
    pass


class MyMapping(dict[str, Any]):
    pass


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (object, "builtin"),
        (complex, "builtin"),
        (int, "builtin"),
        (dict, "builtin"),
        (MyStr, "already handles"),
        (MyMapping, "already handles"),
        (Color, "already handles"),
        (Path, "already handles"),
        (dt.date, "already handles"),
        (Decimal, "already handles"),
        (uuid.UUID, "already handles"),
        (enum.EnumMeta, "already handles"),
        (Point, "dataclass or model"),
        (Model, "dataclass or model"),
        (ArrayLike, "array-like"),
        (Box, "already registered"),
        (SubBox, r"Box is already registered \(as a base class\)"),
    ],
)
def test_builtins_handled_and_registered_types_are_refused(cls: type, reason: str) -> None:
    before = canonical_json({"v": Box(3)})
    with pytest.raises(ConfigError, match=reason) as info:
        register_canonical_type(cls, lambda _: "changed")
    assert info.value.context["parameter"] == "cls"
    assert canonical_json({"v": Box(3)}) == before


def test_builtin_values_keep_their_form_after_registrations() -> None:
    # A registered base of a dataclass does not take over the dataclass rule.
    class Tagged:
        pass

    @dataclasses.dataclass
    class Child(Tagged):
        n: int

    register_canonical_type(Tagged, lambda _: "tagged")
    assert canonicalize(Child(1)) == {"n": 1}
    assert canonicalize(Tagged()) == "tagged"


def test_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(ConfigError) as info:
        register_canonical_type(Box(1), str)  # type: ignore[arg-type]
    assert info.value.context["parameter"] == "cls"
    with pytest.raises(ConfigError) as info:
        register_canonical_type(Opaque, "not callable")  # type: ignore[arg-type]
    assert info.value.context["parameter"] == "fn"
    with pytest.raises(ConfigError):
        canonicalize(Opaque())


def test_a_failing_function_is_a_config_error_with_the_path() -> None:
    class Broken:
        pass

    def convert(_: Broken) -> object:
        raise KeyError("missing")

    register_canonical_type(Broken, convert)
    with pytest.raises(ConfigError) as info:
        canonicalize({"a": [Broken()]})
    message = str(info.value)
    assert "config['a'][0]" in message
    assert "KeyError" in message and "Broken" in message


def test_a_function_returning_its_own_type_or_an_unsupported_value_is_refused() -> None:
    class Loop:
        pass

    class Leaky:
        pass

    register_canonical_type(Loop, lambda value: Loop())
    register_canonical_type(Leaky, lambda value: {"inner": Opaque()})
    with pytest.raises(ConfigError, match="returned the same type"):
        canonicalize({"x": Loop()})
    with pytest.raises(ConfigError, match=r"config\['y'\]\['inner'\].*Opaque"):
        canonicalize({"y": Leaky()})


def test_a_third_party_number_type_can_be_registered() -> None:
    register_canonical_type(fractions.Fraction, lambda f: [f.numerator, f.denominator])
    assert canonicalize({"ratio": fractions.Fraction(6, 4)}) == {"ratio": [3, 2]}


leaves = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=6), st.none())
payloads: st.SearchStrategy[Any] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=4), children, max_size=3),
    ),
    max_leaves=12,
)


@given(payloads, st.booleans())
def test_wrapping_a_value_in_a_registered_type_never_changes_the_digest(
    payload: Any, subclass: bool
) -> None:
    wrapped = SubBox(payload) if subclass else Box(payload)
    assert canonicalize(wrapped) == canonicalize(payload)
    assert digest({"cfg": wrapped, "n": 1}) == digest({"n": 1, "cfg": payload})
