"""DuckDB rows as NDJSON: orjson, unless a user's value holds NaN or an infinity."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from consist.store.duckdb.write import _row_line


def read(line: bytes) -> dict[str, Any]:
    return dict(json.loads(line))


@pytest.mark.parametrize(
    "row",
    [
        {"id": "r", "meta": {"rmse": math.nan}},  # run or artifact metadata
        {"id": "r", "meta": {"bounds": [0.0, math.inf]}},  # nested in a list
        {"run_id": "r", "key": "alpha", "value_num": -math.inf},  # a facet value
    ],
)
def test_a_user_value_that_is_not_finite_is_kept(row: dict[str, Any]) -> None:
    assert b"NaN" in _row_line(row) or b"Infinity" in _row_line(row)
    back = read(_row_line(row))
    assert json.dumps(back, sort_keys=True) == json.dumps(row, sort_keys=True)


def test_finite_rows_are_compact_sorted_json() -> None:
    row = {"b": 1.5, "a": {"z": [1, "x"]}, "config": {"__float__": "nan"}, "meta": {}}
    assert _row_line(row) == b'{"a":{"z":[1,"x"]},"b":1.5,"config":{"__float__":"nan"},"meta":{}}'
