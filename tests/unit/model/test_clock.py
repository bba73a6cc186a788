"""model/clock.py formats each second once; its texts must stay datetime's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.model import clock


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))
def test_utc_now_is_isoformat_of_the_clock(now_ns: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(clock.time, "time_ns", lambda: now_ns)
        text, stamp = clock.utc_now(), clock.utc_stamp()
    micros = now_ns // 1000
    expected = datetime.fromtimestamp(micros // 10**6, UTC).replace(microsecond=micros % 10**6)
    assert text == expected.isoformat()
    assert datetime.fromisoformat(text) == expected
    assert stamp == expected.strftime("%Y%m%dT%H%M%S")


def test_a_new_second_is_formatted_again(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([1_700_000_000_250_000_000, 1_700_000_001_000_000_000])
    monkeypatch.setattr(clock.time, "time_ns", lambda: next(ticks))
    assert clock.utc_now() == "2023-11-14T22:13:20.250000+00:00"
    assert clock.utc_now() == "2023-11-14T22:13:21+00:00"
