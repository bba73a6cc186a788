"""model/memo.remember: a bounded dict memo, oldest (or least recently entered) first."""

from __future__ import annotations

from consist.model.memo import remember


def test_the_oldest_entries_go_beyond_the_limit() -> None:
    memo: dict[str, int] = {}
    for n in range(5):
        remember(memo, f"k{n}", n, limit=3)
    assert list(memo) == ["k2", "k3", "k4"]


def test_re_entering_a_key_makes_it_the_newest() -> None:
    memo: dict[str, int] = {}
    for n in range(3):
        remember(memo, f"k{n}", n, limit=3)
    remember(memo, "k0", 10, limit=3)  # used again: kept longest
    remember(memo, "k3", 3, limit=3)
    assert memo == {"k2": 2, "k0": 10, "k3": 3}
    assert list(memo) == ["k2", "k0", "k3"]
