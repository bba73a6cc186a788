"""cache/lookup.py: a pure lookup that answers HIT, MISS, OVERWRITE or DEMOTED."""

from __future__ import annotations

from pathlib import Path

import pytest

from consist.cache import index as index_module
from consist.cache.index import CompletedIndex
from consist.cache.lookup import lookup_cache
from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.decision import CacheOutcome
from consist.model.run import ConsistRecord, Run, RunStatus
from consist.options import CacheMode
from consist.persist.snapshot import encode_record, write_snapshot

SIGNATURE = "ab" * 32


@pytest.fixture
def layout(tmp_path: Path) -> RunLayout:
    return RunLayout(tmp_path / "runs")


def completed_record(layout: RunLayout, output: Path) -> tuple[CompletedIndex, ConsistRecord]:
    output.write_text("data")
    artifact = Artifact(id="a1", key="table", uri=layout.to_uri(str(output)),
                        abs_path=str(output))  # fmt: skip
    run = Run(id="r1", name="step", model_name="step", status=RunStatus.COMPLETED.value,
              signature=SIGNATURE)  # fmt: skip
    record = ConsistRecord(run=run, outputs=[artifact])
    index = CompletedIndex(layout)
    index.link(record, write_snapshot(layout, record, update_latest=False))
    return index, record


def test_unknown_signature_is_a_miss(layout: RunLayout) -> None:
    found = lookup_cache(CompletedIndex(layout), SIGNATURE, CacheMode.REUSE)
    assert found.outcome is CacheOutcome.MISS
    assert found.record is None and found.hit is None


def test_completed_signature_with_its_outputs_is_a_hit(layout: RunLayout, tmp_path: Path) -> None:
    index, record = completed_record(layout, tmp_path / "t.csv")
    found = lookup_cache(index, SIGNATURE, CacheMode.REUSE)
    assert found.outcome is CacheOutcome.HIT
    assert found.hit is record
    # A readonly run still reuses hits.
    assert lookup_cache(index, SIGNATURE, CacheMode.READONLY).outcome is CacheOutcome.HIT


def test_overwrite_does_not_consult_the_index(layout: RunLayout, tmp_path: Path) -> None:
    index, _ = completed_record(layout, tmp_path / "t.csv")
    found = lookup_cache(index, SIGNATURE, CacheMode.OVERWRITE)
    assert found.outcome is CacheOutcome.OVERWRITE and found.record is None


def test_missing_output_is_demoted_and_the_index_is_left_alone(
    layout: RunLayout, tmp_path: Path
) -> None:
    output = tmp_path / "t.csv"
    index, record = completed_record(layout, output)
    output.unlink()
    found = lookup_cache(index, SIGNATURE, CacheMode.REUSE)
    assert found.outcome is CacheOutcome.DEMOTED
    assert found.hit is None
    assert found.record is record
    assert found.missing is not None and found.missing.key == "table"
    # Pure: the caller decides to forget; the lookup itself changed nothing.
    assert index.lookup(SIGNATURE) is record
    output.write_text("back")
    assert lookup_cache(index, SIGNATURE, CacheMode.REUSE).outcome is CacheOutcome.HIT


def test_the_memo_is_bounded_and_a_forgotten_entry_is_still_found_on_disk(
    layout: RunLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "MEMO_ENTRIES", 3)
    index = CompletedIndex(layout)
    records = []
    for n in range(5):
        output = tmp_path / f"t{n}.csv"
        output.write_text(str(n))
        artifact = Artifact(id=f"a{n}", key="table", uri=layout.to_uri(str(output)),
                            abs_path=str(output))  # fmt: skip
        signature = f"{n:02d}" * 32
        run = Run(id=f"r{n}", name="step", model_name="step",
                  status=RunStatus.COMPLETED.value, signature=signature)  # fmt: skip
        record = ConsistRecord(run=run, outputs=[artifact])
        index.write(record, encode_record(record))
        records.append(record)
    assert [index.remembers(r.run.signature or "") for r in records] == [
        False, False, True, True, True,
    ]  # fmt: skip  # the least recently used went first
    assert index.lookup(records[2].run.signature or "") is records[2]  # used: now newest
    for record in records[:2]:  # forgotten, still a hit: decoded from its index file
        found = lookup_cache(index, record.run.signature or "", CacheMode.REUSE)
        assert found.hit == record and found.hit is not record
    # Re-remembering those two pushed out the least recently used of the others.
    assert [index.remembers(r.run.signature or "") for r in records] == [
        True, True, True, False, False,
    ]  # fmt: skip
