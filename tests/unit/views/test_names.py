"""SQL names and facet predicates of the data layer: parsed and quoted, never spliced."""

from __future__ import annotations

import pytest

from consist.errors import ConfigError
from consist.views.names import (
    FacetPredicate,
    check_identifier,
    literal,
    parse_predicate,
    table_name_for,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scenario.fleet=electric", FacetPredicate("scenario", "fleet", "=", "electric")),
        ("growth>=1.5", FacetPredicate(None, "growth", ">=", 1.5)),
        ("n != 3", FacetPredicate(None, "n", "!=", 3)),
        ("flag=true", FacetPredicate(None, "flag", "=", True)),
        ("x='42'", FacetPredicate(None, "x", "=", "42")),
        # Quoted, SQL-looking text is data (unquoted, it is refused: test_hybrid_views).
        (
            'v="a\'); DROP TABLE runs; --"',
            FacetPredicate(None, "v", "=", "a'); DROP TABLE runs; --"),
        ),
    ],
)
def test_predicates_parse_to_values(text: str, expected: FacetPredicate) -> None:
    assert parse_predicate(text) == expected


def test_default_namespace_applies_to_bare_and_dotted_keys() -> None:
    assert parse_predicate("a.b=1", "ns") == FacetPredicate("ns", "a.b", "=", 1)


def test_values_become_quoted_literals() -> None:
    assert literal("a'); DROP TABLE runs; --") == "'a''); DROP TABLE runs; --'"
    assert literal(None) == "NULL" and literal(True) == "TRUE" and literal(2) == "2"
    with pytest.raises(ConfigError):
        literal(float("nan"))


@pytest.mark.parametrize(
    ("key", "table"),
    [("Trips", "trips"), ("od-matrix 2", "od_matrix_2"), ("2020", "t_2020"), ("select", "select_")],
)
def test_concept_keys_become_safe_table_names(key: str, table: str) -> None:
    assert table_name_for(key) == check_identifier(table, "t")
