"""RunSet grouping and alignment by ``facet.<key>`` (both stores agree)."""

from __future__ import annotations

import pytest

from consist import ConfigError, Tracker
from consist.errors import QueryError
from consist.query.runset import RunSet


def step() -> None:
    pass


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request, tracker: Tracker, json_tracker: Tracker) -> Tracker:
    return tracker if request.param == "duckdb" else json_tracker


def _run(tracker: Tracker, tag: str, i: int, facet: dict | None) -> str:
    kwargs = {} if facet is None else {"facet": facet}
    result = tracker.run(
        fn=step, name=f"{tag}{i}", model="sim", config={"tag": tag, "i": i}, tags=[tag], **kwargs
    )
    return result.run.id


def test_group_by_and_latest_by_a_facet_value(any_tracker: Tracker) -> None:
    ids = [
        _run(any_tracker, "base", 0, {"region": "north", "scenario": {"year": 2030}}),
        _run(any_tracker, "base", 1, {"region": "south", "scenario": {"year": 2040}}),
        _run(any_tracker, "base", 2, {"region": "north", "scenario": {"year": 2050}}),
        _run(any_tracker, "base", 3, None),
    ]
    runs = any_tracker.run_set("base", tags=["base"])
    groups = runs.group_by("facet.region")
    # Newest first (find_runs' order), groups in order of first appearance.
    assert list(groups) == [None, "north", "south"]
    assert groups["north"].ids == [ids[2], ids[0]] and groups[None].ids == [ids[3]]
    assert all(group.label == "base" for group in groups.values())
    # Derived sets keep their facet source: grouping again works.
    assert list(groups["north"].group_by("facet.scenario.year")) == [2050, 2030]
    assert sorted(runs.latest("facet.region").ids) == sorted([ids[3], ids[2], ids[1]])
    assert runs.filter(year=None).group_by("facet.region")["south"].ids == [ids[1]]


def test_align_two_run_sets_on_a_facet_value(any_tracker: Tracker) -> None:
    base = [_run(any_tracker, "base", i, {"scenario": {"year": y}}) for i, y in enumerate([30, 40])]
    policy = [
        _run(any_tracker, "policy", i, {"scenario": {"year": y}}) for i, y in enumerate([40, 50])
    ]
    left = any_tracker.run_set("base", tags=["base"])
    right = any_tracker.run_set("policy", tags=["policy"])
    aligned = left.align(right, on="facet.scenario.year")
    assert [(p.key, p.left.id, p.right.id) for p in aligned.pairs] == [(40, base[1], policy[0])]
    assert aligned.only_left == (30,) and aligned.only_right == (50,)

    _run(any_tracker, "policy", 9, {"scenario": {"year": 50}})
    doubled = any_tracker.run_set("policy", tags=["policy"])
    with pytest.raises(QueryError, match="several runs"):
        left.align(doubled, on="facet.scenario.year")
    narrowed = doubled.latest("facet.scenario.year")
    assert len(left.align(narrowed, on="facet.scenario.year").pairs) == 1


def test_facet_keys_need_a_tracker_and_a_key(any_tracker: Tracker) -> None:
    _run(any_tracker, "base", 0, {"region": "north"})
    runs = any_tracker.find_runs()
    assert isinstance(runs, list)
    detached = RunSet(runs, "mine")
    with pytest.raises(ConfigError, match="without a tracker") as caught:
        detached.group_by("facet.region")
    assert caught.value.context["parameter"] == "by"
    assert detached.group_by("model_name")["sim"].ids == [runs[0].id]  # attributes still work
    attached = any_tracker.run_set("mine")
    with pytest.raises(ConfigError, match="names no facet key") as caught:
        attached.align(attached, on="facet.")
    assert caught.value.context["parameter"] == "on"
    with pytest.raises(ConfigError, match="facet.<key>"):
        attached.group_by("no_such_attribute")
