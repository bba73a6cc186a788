"""model/decision.py: the persisted shape of a cache decision."""

from __future__ import annotations

import dataclasses
import json

import pytest

from consist.model.decision import CacheDecision, CacheOutcome, ComponentChange
from consist.model.decision import IdentityComponent as C

MISS = CacheDecision(
    CacheOutcome.MISS,
    "miss: config changed (changed: a.b) (compared with run 'r1')",
    compared_run_id="r1",
    changes=(
        ComponentChange(C.CONFIG, changed=("a.b",), added=("c",), omitted=2),
        ComponentChange(C.YEAR, before=2020, after=2030),
    ),
)
DEMOTED = CacheDecision(
    CacheOutcome.DEMOTED, "demoted", matched_run_id="r0", missing_key="t", missing_path="/x/t"
)


@pytest.mark.parametrize("decision", [MISS, DEMOTED, CacheDecision(CacheOutcome.OVERWRITE, "o")])
def test_json_round_trip(decision: CacheDecision) -> None:
    assert CacheDecision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision


def test_defaults_are_left_out_of_the_json() -> None:
    assert MISS.to_dict() == {
        "outcome": "miss",
        "summary": MISS.summary,
        "compared_run_id": "r1",
        "changes": [
            {"component": "config", "added": ["c"], "changed": ["a.b"], "omitted": 2},
            {"component": "year", "before": 2020, "after": 2030},
        ],
    }
    assert CacheDecision(CacheOutcome.HIT, "h", matched_run_id="r").to_dict() == {
        "outcome": "hit", "summary": "h", "matched_run_id": "r",
    }  # fmt: skip


def test_record_is_frozen_and_slotted() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MISS.outcome = CacheOutcome.HIT  # type: ignore[misc]
    assert not hasattr(MISS, "__dict__")


def test_convenience_views() -> None:
    assert MISS.components == (C.CONFIG, C.YEAR)
    assert MISS.change("year") == ComponentChange(C.YEAR, before=2020, after=2030)
    assert MISS.change(C.CODE) is None
    assert str(MISS) == MISS.summary
    assert not MISS.hit and not MISS.first_run
    assert CacheDecision(CacheOutcome.MISS, "m").first_run
    assert CacheDecision(CacheOutcome.HIT, "h").hit
    # StrEnum: outcomes compare equal to their persisted text.
    assert CacheOutcome.DEMOTED == "demoted"
