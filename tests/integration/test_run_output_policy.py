"""End-to-end tests of Tracker.run output policy: missing and mismatched outputs."""

import warnings
from pathlib import Path

import pytest

from consist import (
    CacheOptions,
    OutputPolicyOptions,
    OutputValidationError,
    Tracker,
)

# --- output policy --------------------------------------------------------------------


def test_output_missing_error_fails_the_run(tracker: Tracker) -> None:
    def step() -> None:
        return None

    with pytest.raises(OutputValidationError) as excinfo:
        tracker.run(
            fn=step,
            run_id="missing-out",
            outputs=["never"],
            output_policy=OutputPolicyOptions(output_missing="error"),
        )

    assert isinstance(excinfo.value, RuntimeError)
    assert "never" in str(excinfo.value)
    record = tracker.get_run_record("missing-out")
    assert record.run.status == "failed"
    assert "OutputValidationError" in record.run.error
    assert [r.id for r in tracker.find_runs(status="failed")] == ["missing-out"]


def test_output_missing_warn_emits_user_warning(tracker: Tracker) -> None:
    def step() -> None:
        return None

    with pytest.warns(UserWarning, match="never"):
        result = tracker.run(fn=step, outputs=["never"])

    assert result.run.status == "completed"
    assert result.outputs == {}


def test_output_missing_ignore_is_silent(tracker: Tracker) -> None:
    def step() -> None:
        return None

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = tracker.run(
            fn=step, outputs=["never"], output_policy=OutputPolicyOptions(output_missing="ignore")
        )

    assert result.run.status == "completed"


def test_output_mismatch_policies(tracker: Tracker) -> None:
    def step() -> Path:
        out = Path("only.txt")
        out.write_text("only")
        return out

    with pytest.warns(UserWarning) as record:
        warned = tracker.run(fn=step, outputs=["first", "second"])
    messages = " ".join(str(w.message) for w in record)
    assert "does not match" in messages
    assert "second" in messages
    assert set(warned.outputs) == {"first"}

    with pytest.raises(OutputValidationError, match="does not match"):
        tracker.run(
            fn=step,
            outputs=["first", "second"],
            output_policy=OutputPolicyOptions(output_mismatch="error"),
            cache_options=CacheOptions(cache_mode="overwrite"),
        )
    assert tracker.last_run.run.status == "failed"

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tracker.run(
            fn=step,
            outputs=["first", "second"],
            output_policy=OutputPolicyOptions(output_mismatch="ignore", output_missing="ignore"),
            cache_options=CacheOptions(cache_mode="overwrite"),
        )
