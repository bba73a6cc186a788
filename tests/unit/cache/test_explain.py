"""cache/explain.py on hand-built records: which component a miss names, and how."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consist.cache import explain
from consist.cache.explain import compare_records, describe_change, diff_config, explain_lookup
from consist.cache.lookup import CacheLookup
from consist.cache.steps import StepIndex
from consist.fs.layout import RunLayout
from consist.identity.canonical import canonicalize
from consist.model.artifact import Artifact
from consist.model.decision import CacheOutcome, ComponentChange
from consist.model.decision import IdentityComponent as C
from consist.model.run import ConsistRecord, Run, RunStatus

IDENTITY: dict[str, Any] = {
    "signature": "s",
    "version": "consist-signature-v1",
    "code": "c" * 64,
    "code_mode": "callable_module",
    "config": "f" * 64,
    "inputs": "i" * 64,
    "model": "step",
    "year": None,
    "iteration": None,
    "cache_version": None,
    "cache_epoch": None,
    "input_parts": {"input:households": "file:aa", "depends_on:zones": "file:bb"},
}


def record(
    run_id: str = "old",
    *,
    cfg: Any = None,
    meta: dict[str, Any] | None = None,
    year: int | None = None,
    iteration: int | None = None,
    **identity: Any,
) -> ConsistRecord:
    ident = {**IDENTITY, "year": year, "iteration": iteration, **identity}
    run = Run(
        id=run_id, name="step", model_name="step", year=year, iteration=iteration,
        status=RunStatus.COMPLETED.value, signature=run_id, meta=dict(meta or {}),
    )  # fmt: skip
    return ConsistRecord(run=run, config=cfg if cfg is not None else {}, identity=ident)


def only(changes: tuple[ComponentChange, ...], component: C) -> ComponentChange:
    assert [c.component for c in changes] == [component]
    return changes[0]


# --- compare_records: one component at a time ------------------------------------------


def test_identical_identities_have_no_changes() -> None:
    assert compare_records(record(), record("new")) == ()


def test_code_digest_change_is_named() -> None:
    change = only(compare_records(record(), record("new", code="d" * 64)), C.CODE)
    assert "callable_module" in change.detail


def test_code_mode_change_is_named_with_both_modes() -> None:
    change = only(compare_records(record(), record("new", code_mode="repo_git")), C.CODE)
    assert change.detail == "code_mode 'callable_module' -> 'repo_git'"


def test_code_change_names_git_commits_when_recorded() -> None:
    before = record(meta={"git_commit": "abc"})
    after = record("new", code="d" * 64, meta={"git_commit": "def"})
    assert only(compare_records(before, after), C.CODE).detail == "git commit abc -> def"


def test_config_change_names_dotted_keys() -> None:
    before = record(cfg={"a": {"b": 1, "gone": 0}, "same": 1}, config="1" * 64)
    after = record("new", cfg={"a": {"b": 2, "new": 0}, "same": 1}, config="2" * 64)
    change = only(compare_records(before, after), C.CONFIG)
    assert change.changed == ("a.b",)
    assert change.added == ("a.new",)
    assert change.removed == ("a.gone",)


def test_config_is_not_walked_when_its_digest_is_unchanged() -> None:
    # Only the digests decide; the stored configs are not compared as a whole.
    before = record(cfg={"a": 1})
    after = record("new", cfg={"a": 2})
    assert compare_records(before, after) == ()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"a": 1}, {"a": True}, ([], [], ["a"])),  # bool is not int, as in the canonical form
        ({"a": 1}, {"a": 1.5}, ([], [], ["a"])),
        ({"a": [1, 2]}, {"a": [1, 3]}, ([], [], ["a[1]"])),
        ({"a": [{"x": 1}]}, {"a": [{"x": 2}]}, ([], [], ["a[0].x"])),
        ({"a": [1]}, {"a": [1, 2]}, ([], [], ["a"])),
        ({"a": {"__float__": "nan"}}, {"a": {"__float__": "inf"}}, ([], [], ["a"])),
        ({"a": {"b": 1}}, {"a": 3}, ([], [], ["a"])),
        (None, {"k": 1}, (["k"], [], [])),
        ({"k": 1}, None, ([], ["k"], [])),
        ([1], [2], ([], [], ["<config>"])),
        ({"a": 1}, {"a": 1}, ([], [], [])),
    ],
)
def test_diff_config(old: Any, new: Any, expected: tuple[list[str], ...]) -> None:
    assert diff_config(old, new) == expected


def test_long_key_lists_are_capped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain, "MAX_NAMES", 3)
    before = record(cfg={}, config="1" * 64)
    after = record("new", cfg={f"k{i}": i for i in range(10)}, config="2" * 64)
    change = only(compare_records(before, after), C.CONFIG)
    assert change.added == ("k0", "k1", "k2")
    assert change.omitted == 7
    assert "(+7 more)" in describe_change(change)


def test_input_changes_are_named_per_parameter() -> None:
    before = record(
        inputs="1" * 64,
        input_parts={"input:households": "file:aa", "input:persons": "file:pp",
                     "identity:weights": "file:ww"},
    )  # fmt: skip
    after = record(
        "new",
        inputs="2" * 64,
        input_parts={"input:households": "file:a2", "input:jobs": "file:jj",
                     "depends_on:zones": "file:zz", "identity:weights": "file:ww"},
    )  # fmt: skip
    changes = compare_records(before, after)
    assert [c.component for c in changes] == [C.INPUTS, C.DEPENDS_ON]
    inputs, depends = changes
    assert (inputs.added, inputs.removed, inputs.changed) == (
        ("jobs",),
        ("persons",),
        ("households",),
    )
    assert depends.added == ("zones",)


def test_identity_input_change_is_named() -> None:
    before = record(inputs="1" * 64, input_parts={"identity:weights": "file:w1"})
    after = record("new", inputs="2" * 64, input_parts={"identity:weights": "file:w2"})
    assert only(compare_records(before, after), C.IDENTITY_INPUTS).changed == ("weights",)


def test_same_bytes_from_another_upstream_run_is_called_out() -> None:
    before = record(inputs="1" * 64, input_parts={"input:skims": "run:sig1:dd"})
    after = record("new", inputs="2" * 64, input_parts={"input:skims": "run:sig2:dd"})
    change = only(compare_records(before, after), C.INPUTS)
    assert change.changed == ("skims",)
    assert "different upstream run: skims" in change.detail


def test_inputs_without_per_input_digests_still_name_the_component() -> None:
    old_style = record(inputs="1" * 64)
    del old_style.identity["input_parts"]
    change = only(compare_records(old_style, record("new", inputs="2" * 64)), C.INPUTS)
    assert change.changed == ()
    assert "did not record per-input digests" in change.detail


@pytest.mark.parametrize(
    ("field", "component", "before", "after"),
    [
        ("year", C.YEAR, 2020, 2030),
        ("iteration", C.ITERATION, 0, 1),
        ("cache_version", C.CACHE_VERSION, None, 2),
        ("cache_epoch", C.CACHE_EPOCH, 1, 2),
        ("model", C.MODEL, "step", "other"),
    ],
)
def test_value_components_carry_before_and_after(
    field: str, component: C, before: Any, after: Any
) -> None:
    change = only(compare_records(record(**{field: before}), record("new", **{field: after})),
                  component)  # fmt: skip
    assert (change.before, change.after) == (before, after)
    assert describe_change(change) == f"{field} {before!r} -> {after!r}"


def test_several_components_keep_a_fixed_order() -> None:
    before = record(year=2020, code="a" * 64, config="1" * 64)
    after = record("new", year=2030, code="b" * 64, config="2" * 64, cache_epoch=3)
    assert [c.component for c in compare_records(before, after)] == [
        C.CODE, C.CONFIG, C.YEAR, C.CACHE_EPOCH,
    ]  # fmt: skip


# --- explain_lookup: every outcome -----------------------------------------------------


@pytest.fixture
def steps(tmp_path: Path) -> StepIndex:
    return StepIndex(RunLayout(tmp_path / "runs"))


def remember(steps: StepIndex, tmp_path: Path, rec: ConsistRecord) -> None:
    snapshot = tmp_path / f"{rec.run.id}.json"
    snapshot.write_text("{}")  # the in-process memo answers; the link just has to exist
    steps.record(rec, str(snapshot))


def test_first_run_of_a_step_says_so(steps: StepIndex) -> None:
    decision = explain_lookup(CacheLookup(CacheOutcome.MISS), lambda: record("new"), steps)
    assert decision.outcome is CacheOutcome.MISS
    assert decision.first_run and decision.compared_run_id is None
    assert decision.summary.startswith("miss: first run of this step")


def test_miss_is_compared_with_the_latest_run_of_the_step(steps: StepIndex, tmp_path: Path) -> None:
    remember(steps, tmp_path, record("old", cfg={"a": 1}, config="1" * 64))
    current = record("new", cfg={"a": 2}, config="2" * 64)
    decision = explain_lookup(CacheLookup(CacheOutcome.MISS), lambda: current, steps)
    assert decision.compared_run_id == "old"
    assert decision.components == (C.CONFIG,)
    assert decision.change("config") is not None and decision.change(C.CONFIG).changed == ("a",)
    assert decision.summary == "miss: config changed (changed: a) (compared with run 'old')"


def test_miss_with_no_differing_component_says_the_entry_is_gone(
    steps: StepIndex, tmp_path: Path
) -> None:
    remember(steps, tmp_path, record("old"))
    decision = explain_lookup(CacheLookup(CacheOutcome.MISS), lambda: record("new"), steps)
    assert decision.changes == ()
    assert "no identity component differs" in decision.summary


def test_hit_names_the_reused_run(steps: StepIndex) -> None:
    decision = explain_lookup(
        CacheLookup(CacheOutcome.HIT, record("old")), lambda: record("new"), steps
    )
    assert decision.hit and decision.matched_run_id == "old"
    assert decision.summary == "hit: reused run 'old' (same signature)"


def test_overwrite(steps: StepIndex) -> None:
    decision = explain_lookup(CacheLookup(CacheOutcome.OVERWRITE), lambda: record("new"), steps)
    assert decision.outcome is CacheOutcome.OVERWRITE and not decision.hit
    assert "cache_mode='overwrite'" in decision.summary


def test_demoted_names_the_missing_output(steps: StepIndex) -> None:
    missing = Artifact(id="a1", key="table", uri="./outputs/t.csv", abs_path="/r/outputs/t.csv")
    found = CacheLookup(CacheOutcome.DEMOTED, record("old"), missing)
    decision = explain_lookup(found, lambda: record("new"), steps)
    assert decision.outcome is CacheOutcome.DEMOTED
    assert (decision.matched_run_id, decision.missing_key, decision.missing_path) == (
        "old", "table", "/r/outputs/t.csv",
    )  # fmt: skip
    assert "'table' is missing at /r/outputs/t.csv" in decision.summary


def _unused() -> ConsistRecord:
    raise AssertionError("only a miss needs the current run's record")


@pytest.mark.parametrize(
    "found",
    [
        CacheLookup(CacheOutcome.HIT, record("old")),
        CacheLookup(CacheOutcome.OVERWRITE),
        CacheLookup(CacheOutcome.DEMOTED, record("old"), Artifact(id="a", key="k", uri="./k")),
    ],
    ids=["hit", "overwrite", "demoted"],
)
def test_only_a_miss_builds_the_current_record(found: CacheLookup, steps: StepIndex) -> None:
    assert explain_lookup(found, _unused, steps).outcome is found.outcome


# -- the same-keys fast path names exactly what the general walk names ----------------

_leaf = st.one_of(st.integers(-3, 3), st.booleans(), st.none(), st.sampled_from(["a", "b"]),
                  st.floats(allow_nan=False, allow_infinity=False, width=16))  # fmt: skip
_value = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("pq"), inner, max_size=2)
), max_leaves=6)  # fmt: skip


@given(st.dictionaries(st.sampled_from("abcd"), st.tuples(_value, _value), min_size=1))
def test_same_keys_fast_path_matches_the_general_walk(pairs: dict[str, tuple[Any, Any]]) -> None:
    before = {key: canonicalize(old) for key, (old, _) in pairs.items()}
    after = {key: canonicalize(new) for key, (_, new) in pairs.items()}
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    explain._walk(before, after, "", added, removed, changed)
    change = explain._config_change(before, after)
    assert (change.added, change.removed, change.changed) == (
        tuple(added),
        tuple(removed),
        tuple(changed),
    )
