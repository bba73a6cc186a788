"""The heal decision table of persist/heal.py, case by case (no store needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.fs.layout import RunLayout
from consist.persist.heal import looks_healthy, plan_heal, read_generation, write_new_generation
from consist.store.base import StoreLineage

MISSING = "the database file was missing"


def lineage(*generations: str, created: str | None = None, empty: bool = False) -> StoreLineage:
    return StoreLineage(frozenset(generations), created=created, empty=empty)


def test_a_store_of_this_generation_is_left_alone() -> None:
    assert plan_heal(lineage("g1", "g0"), "g1") is None


@pytest.mark.parametrize(
    ("found", "marker", "rebuild", "warn", "new_generation", "says"),
    [
        (lineage(created=MISSING, empty=True), "g1", True, True, True, "missing"),
        (lineage(created=MISSING, empty=True), None, True, False, True, "new store"),
        (lineage(created="corrupt ...", empty=True), None, True, True, True, "corrupt"),
        (lineage(empty=True), "g1", True, True, False, "new (empty)"),
        (lineage(empty=True), None, True, False, True, "new store"),
        (lineage("g0"), "g1", True, True, False, "old backup"),
        (lineage("g0"), None, True, True, True, "no generation marker"),
        (lineage(), None, False, False, True, "adopted"),  # written before generations
        (lineage(), "g1", True, True, False, "another snapshot generation"),
    ],
)
def test_plans(found, marker, rebuild, warn, new_generation, says) -> None:
    plan = plan_heal(found, marker)
    assert plan is not None
    assert (plan.rebuild, plan.warn, plan.new_generation) == (rebuild, warn, new_generation)
    assert says in plan.reason


def test_the_read_side_check(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs")
    assert looks_healthy(lineage(empty=True), None, layout)  # nothing recorded anywhere
    layout.ensure()
    (tmp_path / "runs" / "consist_runs" / "r1.json").write_text("{}")
    assert not looks_healthy(lineage(empty=True), None, layout)  # snapshots, no store
    assert looks_healthy(lineage(), None, layout)  # a store from before generations
    assert not looks_healthy(lineage("g0"), None, layout)
    assert not looks_healthy(lineage("g0"), "g1", layout)
    assert looks_healthy(lineage("g0", "g1"), "g1", layout)


def test_generation_marker_round_trip(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs")
    assert read_generation(layout) is None
    first = write_new_generation(layout)
    assert read_generation(layout) == first
    second = write_new_generation(layout)
    assert second != first and read_generation(layout) == second
