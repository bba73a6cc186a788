"""cache/steps.py: the latest completed run of each step, kept as files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consist.cache.steps import StepIndex
from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord, Run, RunStatus
from consist.persist.snapshot import write_snapshot


@pytest.fixture
def layout(tmp_path: Path) -> RunLayout:
    return RunLayout(tmp_path / "runs")


def complete(
    layout: RunLayout,
    steps: StepIndex,
    run_id: str,
    *,
    name: str = "step",
    model: str = "model",
    year: int | None = None,
    iteration: int | None = None,
    mtime_ns: int | None = None,
) -> ConsistRecord:
    run = Run(id=run_id, name=name, model_name=model, year=year, iteration=iteration,
              status=RunStatus.COMPLETED.value, signature=run_id)  # fmt: skip
    record = ConsistRecord(run=run, identity={"signature": run_id})
    path = write_snapshot(layout, record, update_latest=False)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    steps.record(record, path)
    steps.flush()  # as the tracker does when it closes
    return record


def nearest_id(steps: StepIndex, year: int | None = None, iteration: int | None = None,
               name: str = "step") -> str | None:  # fmt: skip
    record = steps.nearest("model", name, year, iteration)
    return record.run.id if record else None


@pytest.mark.parametrize("fresh", [False, True], ids=["memo", "files"])
def test_same_year_and_iteration_is_preferred(layout: RunLayout, fresh: bool) -> None:
    steps = StepIndex(layout)
    complete(layout, steps, "y2020", year=2020, mtime_ns=1_000)
    complete(layout, steps, "y2030", year=2030, mtime_ns=2_000)
    complete(layout, steps, "y2020i1", year=2020, iteration=1, mtime_ns=3_000)
    reader = StepIndex(layout) if fresh else steps  # a new process reads the files
    assert nearest_id(reader, 2020) == "y2020"
    assert nearest_id(reader, 2030) == "y2030"
    assert nearest_id(reader, 2020, 1) == "y2020i1"


@pytest.mark.parametrize("fresh", [False, True], ids=["memo", "files"])
def test_otherwise_the_latest_run_of_the_step(layout: RunLayout, fresh: bool) -> None:
    steps = StepIndex(layout)
    complete(layout, steps, "y2030", year=2030, mtime_ns=2_000)
    complete(layout, steps, "y2020", year=2020, mtime_ns=1_000)
    reader = StepIndex(layout) if fresh else steps
    # The memo knows the last run recorded; a new process goes by the snapshot times.
    assert nearest_id(reader, 2040) == ("y2030" if fresh else "y2020")


def test_later_run_replaces_the_entry(layout: RunLayout) -> None:
    steps = StepIndex(layout)
    complete(layout, steps, "first")
    complete(layout, steps, "second")
    assert nearest_id(StepIndex(layout)) == "second"


def test_other_steps_and_models_are_separate(layout: RunLayout) -> None:
    steps = StepIndex(layout)
    complete(layout, steps, "a", name="a/b.c")  # any characters in names
    complete(layout, steps, "other-model", name="step", model="other")
    assert nearest_id(StepIndex(layout)) is None
    assert nearest_id(StepIndex(layout), name="a/b.c") == "a"


def test_damaged_or_unfinished_entries_are_skipped(layout: RunLayout, tmp_path: Path) -> None:
    steps = StepIndex(layout)
    complete(layout, steps, "good", year=2020, mtime_ns=1_000)
    complete(layout, steps, "bad", year=2030, mtime_ns=2_000)
    # Corrupt the 2030 entry in place (it is a hard link to the snapshot).
    Path(layout.snapshot_path("bad")).write_text("{not json")
    reader = StepIndex(layout)
    assert nearest_id(reader, 2030) == "good"
    running = Run(id="running", name="step", model_name="model", year=2040)
    record = ConsistRecord(run=running)
    steps.record(record, write_snapshot(layout, record, update_latest=False))
    assert nearest_id(StepIndex(layout), 2040) == "good"


def test_links_are_written_at_flush_once_per_entry(layout: RunLayout) -> None:
    steps = StepIndex(layout)
    for n in range(5):
        run = Run(id=f"r{n}", name="step", model_name="model", status="completed", signature="s")
        record = ConsistRecord(run=run)
        steps.record(record, write_snapshot(layout, record, update_latest=False))
    assert nearest_id(steps) == "r4"  # this process sees its own runs at once
    assert nearest_id(StepIndex(layout)) is None  # nothing written before the flush
    steps.flush()
    assert nearest_id(StepIndex(layout)) == "r4"
    entries = [f for _, _, files in os.walk(os.path.join(layout.state_dir, "steps")) for f in files]
    assert entries == ["ynone.inone.json"]
