"""Cache hits: validate_cached_outputs (lazy / strict / none), cache_hydration
(outputs-requested / outputs-all / inputs-missing), recovery and demotion, on DuckDB and
JSON-only trackers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import consist
from consist import CacheOptions, CacheOutcome, RunResult, Tracker
from consist.errors import InvalidOptionError, MissingInputError
from consist.model.decision import DemotionReason


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request: pytest.FixtureRequest) -> Tracker:
    name = "tracker" if request.param == "duckdb" else "json_tracker"
    tracker: Tracker = request.getfixturevalue(name)
    return tracker


CALLS: list[str] = []


def produce() -> dict[str, Path]:
    CALLS.append("produce")
    table = consist.output_path("table", ext="csv")
    table.write_text("a,b\n1,2\n")
    notes = consist.output_path("notes", ext="txt")
    notes.write_text("notes")
    return {"table": table, "notes": notes}


def run(tracker: Tracker, **options: Any) -> RunResult:
    paths = options.pop("output_paths", None)
    return tracker.run(
        fn=produce,
        outputs=["table", "notes"],
        output_paths=paths,
        cache_options=CacheOptions(**options) if options else None,
    )


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


# --- validate_cached_outputs ----------------------------------------------------------


def test_lazy_validation_demotes_a_hit_whose_output_is_gone(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    first.outputs["table"].path.unlink()
    again = run(any_tracker)
    assert not again.cache_hit and CALLS == ["produce", "produce"]
    reason = again.cache_reason
    assert reason is not None and reason.outcome is CacheOutcome.DEMOTED
    assert reason.demotion_reason is DemotionReason.MISSING
    assert reason.matched_run_id == first.run.id and reason.missing_key == "table"
    # The reason is recorded on the new run, read back from its record.
    assert any_tracker.explain(again.run.id).demotion_reason is DemotionReason.MISSING


def test_lazy_validation_does_not_see_changed_bytes(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    first.outputs["table"].path.write_text("a,b\n9,9\n")
    assert run(any_tracker).cache_hit


def test_strict_validation_demotes_a_hit_whose_bytes_changed(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    first.outputs["table"].path.write_text("a,b\n9,9\n")  # same size, other bytes
    again = run(any_tracker, validate_cached_outputs="strict")
    assert not again.cache_hit
    reason = again.cache_reason
    assert reason is not None and reason.outcome is CacheOutcome.DEMOTED
    assert reason.demotion_reason is DemotionReason.CHANGED
    assert "no longer has its recorded content" in reason.summary
    # The step ran again and rewrote the bytes it records.
    assert again.outputs["table"].path.read_text() == "a,b\n1,2\n"


def test_strict_validation_of_an_unchanged_output_reads_no_file(
    any_tracker: Tracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(any_tracker)

    def no_read(path: object) -> str:
        raise AssertionError(f"{path} was read: the digest memo should have answered")

    # Every read of a file to hash it goes through this function (identity/files.py).
    monkeypatch.setattr("consist.identity.files._digest_and_key_after", no_read)
    assert run(any_tracker, validate_cached_outputs="strict").cache_hit


def test_validation_none_reuses_a_hit_whose_files_are_gone(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    first.outputs["table"].path.unlink()
    again = run(any_tracker, validate_cached_outputs="none")
    assert again.cache_hit and CALLS == ["produce"]


def test_trace_takes_validation_and_hydration_flat(any_tracker: Tracker, tmp_path: Path) -> None:
    target = tmp_path / "result.txt"
    for expected_hit in (False, True):
        with any_tracker.trace(
            "traced",
            output_paths={"result": target},
            cache_hydration="outputs-requested",
            validate_cached_outputs="strict",
        ) as t:
            assert t.is_cached is expected_hit
            if not t.is_cached:
                target.write_text("traced")
    assert target.read_text() == "traced"


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("cache_hydration", "outputs-some"), ("validate_cached_outputs", "paranoid")],
)
def test_unknown_modes_are_refused(any_tracker: Tracker, keyword: str, value: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        CacheOptions(**{keyword: value})
    assert caught.value.context["parameter"] == keyword
    assert value in str(caught.value)
    with pytest.raises(InvalidOptionError, match=keyword):
        any_tracker.trace("t", **{keyword: value})
    assert any_tracker.find_runs() == []  # refused before any run state


# --- cache_hydration --------------------------------------------------------------------


def test_outputs_requested_copies_only_the_named_output(
    any_tracker: Tracker, tmp_path: Path
) -> None:
    run(any_tracker)
    wanted = tmp_path / "elsewhere" / "table.csv"
    hit = run(any_tracker, cache_hydration="outputs-requested", output_paths={"table": wanted})
    assert hit.cache_hit and CALLS == ["produce"]
    assert wanted.read_text() == "a,b\n1,2\n"
    assert hit.run.meta["hydrated_outputs"] == {"table": str(wanted)}
    assert not list(Path(any_tracker.run_artifact_dir(hit.run)).glob("*"))


def test_outputs_all_copies_every_output_into_the_run_artifact_dir(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    hit = run(any_tracker, cache_hydration="outputs-all")
    assert hit.cache_hit
    directory = any_tracker.run_artifact_dir(hit.run)
    assert directory != any_tracker.run_artifact_dir(first.run)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt", "table.csv"]
    assert (directory / "table.csv").read_text() == "a,b\n1,2\n"
    # Outputs keep their provenance: the producing run's artifacts.
    assert hit.outputs["table"].run_id == first.run.id


def test_a_missing_output_is_recovered_from_a_hydrated_copy(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    run(any_tracker, cache_hydration="outputs-all")
    original = first.outputs["table"].path
    original.unlink()
    again = run(any_tracker)
    assert again.cache_hit and CALLS == ["produce"]  # recovered, not re-executed
    assert original.read_text() == "a,b\n1,2\n"


def test_a_changed_copy_is_not_used_for_recovery(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    hydrated = run(any_tracker, cache_hydration="outputs-all")
    (any_tracker.run_artifact_dir(hydrated.run) / "table.csv").write_text("edited")
    first.outputs["table"].path.unlink()
    again = run(any_tracker)
    assert not again.cache_hit and CALLS == ["produce", "produce"]


def consume(source: Path) -> Path:
    CALLS.append("consume")
    out = consist.output_path("summary", ext="txt")
    out.write_text(str(len(source.read_text())))
    return out


def test_inputs_missing_restores_an_input_before_executing(
    any_tracker: Tracker, tmp_path: Path
) -> None:
    first = run(any_tracker)
    table = first.outputs["table"]
    assert any_tracker.materialize(table, tmp_path / "backup.csv") is not None
    table.path.unlink()
    result = any_tracker.run(
        fn=consume,
        inputs={"source": table},
        outputs=["summary"],
        cache_options=CacheOptions(cache_hydration="inputs-missing"),
    )
    assert not result.cache_hit and CALLS == ["produce", "consume"]
    assert table.path.read_text() == "a,b\n1,2\n"


def test_inputs_missing_without_a_copy_names_the_producing_run(any_tracker: Tracker) -> None:
    first = run(any_tracker)
    table = first.outputs["table"]
    table.path.unlink()
    with pytest.raises(MissingInputError, match=first.run.id) as caught:
        any_tracker.run(
            fn=consume,
            inputs={"source": table},
            cache_options=CacheOptions(cache_hydration="inputs-missing"),
        )
    assert caught.value.context["run_id"] == first.run.id
    assert "consume" not in CALLS


def test_hydration_and_validation_do_not_change_the_signature(any_tracker: Tracker) -> None:
    plain = run(any_tracker)
    options = run(any_tracker, cache_hydration="outputs-all", validate_cached_outputs="strict")
    assert options.cache_hit and options.run.signature == plain.run.signature


def test_default_hit_writes_no_copy(any_tracker: Tracker) -> None:
    run(any_tracker)
    run(any_tracker)
    assert not os.path.exists(any_tracker.run_dir / ".consist" / "copies")
