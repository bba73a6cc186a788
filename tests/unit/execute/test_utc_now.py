"""utc_now formats the date once per second; its text must stay datetime's isoformat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.execute import artifacts


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_utc_now_is_isoformat_of_the_clock(monkeypatch_ns: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(artifacts.time, "time_ns", lambda: monkeypatch_ns)
        text = artifacts.utc_now()
    micros = monkeypatch_ns // 1000
    expected = datetime.fromtimestamp(micros // 10**6, UTC).replace(microsecond=micros % 10**6)
    assert text == expected.isoformat()
    assert datetime.fromisoformat(text) == expected


def test_a_new_second_is_formatted_again(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([1_700_000_000_250_000_000, 1_700_000_001_000_000_000])
    monkeypatch.setattr(artifacts.time, "time_ns", lambda: next(clock))
    assert artifacts.utc_now() == "2023-11-14T22:13:20.250000+00:00"
    assert artifacts.utc_now() == "2023-11-14T22:13:21+00:00"
