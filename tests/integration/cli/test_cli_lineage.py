"""`consist artifacts / lineage` and run-id prefixes over a store built by real runs."""

from __future__ import annotations

import json
from typing import Any

from cli_store import Store
from typer.testing import CliRunner, Result

from consist.cli.app import app


def invoke(store: Store, *command: str) -> Result:
    return CliRunner().invoke(app, store.args(*command))


def as_json(store: Store, *command: str) -> Any:
    result = invoke(store, *command, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def assert_user_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and "\nHint: " in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr


def output_of(store: Store, run_id: str, key: str) -> dict[str, Any]:
    [artifact] = as_json(store, "artifacts", "--creator", run_id, "--key", key)
    assert isinstance(artifact, dict)
    return artifact


def unique_prefix(run_id: str) -> str:
    return run_id[:-3]  # 9 of the 12 random hex digits: no other run of the store shares them


# --- artifacts ---------------------------------------------------------------------------


def test_artifacts_json_lists_distinct_artifacts_newest_first(store: Store) -> None:
    found = as_json(store, "artifacts")
    # A cache hit links the outputs it reused: 5 runs, 4 distinct artifacts.
    assert [(a["key"], a["run_id"]) for a in found] == [
        ("skims", store.assign_alt),
        ("skims", store.assign),
        ("households", store.prepare_alt),
        ("households", store.prepare),
    ]
    assert all(a["size"] and a["hash"] and a["uri"].endswith(".csv") for a in found)


def test_artifacts_filters(store: Store) -> None:
    households = as_json(store, "artifacts", "--key", "households")
    assert {a["run_id"] for a in households} == {store.prepare, store.prepare_alt}
    made = output_of(store, store.prepare, "households")
    # The hit reused prepare's file: it is the hit's output too, and assign read it.
    assert as_json(store, "artifacts", "--creator", store.prepare_hit) == [made]
    assert as_json(store, "artifacts", "--consumer", store.assign) == [made]
    assert as_json(store, "artifacts", "--consumer", store.prepare) == []
    assert as_json(store, "artifacts", "--key", "skims", "--creator", store.prepare) == []
    newest = as_json(store, "artifacts", "--limit", "1")
    assert [a["run_id"] for a in newest] == [store.assign_alt]


def test_artifacts_run_filters_take_a_unique_prefix(store: Store) -> None:
    by_prefix = as_json(store, "artifacts", "--creator", unique_prefix(store.assign))
    assert [a["run_id"] for a in by_prefix] == [store.assign]
    assert_user_error(invoke(store, "artifacts", "--creator", "nobody"), "--creator", "nobody")
    assert_user_error(invoke(store, "artifacts", "--consumer", "assign-"), "2 run ids")


def test_artifacts_table_and_no_match(store: Store) -> None:
    table = invoke(store, "artifacts", "--key", "skims")
    assert table.exit_code == 0, table.stderr
    skims = as_json(store, "artifacts", "--key", "skims")
    for artifact in skims:
        assert artifact["id"] in table.stdout and artifact["run_id"] in table.stdout
    assert "2 artifact(s)" in table.stdout and "13 B" in table.stdout
    empty = invoke(store, "artifacts", "--key", "nothing")
    assert empty.exit_code == 0 and empty.stdout == "" and "No artifacts match" in empty.stderr
    assert invoke(store, "artifacts", "--limit", "-1").exit_code == 2


# --- lineage of an artifact ----------------------------------------------------------------


def test_lineage_of_an_artifact_upstream(store: Store) -> None:
    shown = as_json(store, "lineage", "skims")
    assert shown["kind"] == "artifact" and shown["direction"] == "upstream"
    assert shown["run"] is None and shown["max_depth"] is None
    [tree] = shown["trees"]
    assert tree["artifact"]["run_id"] == store.assign_alt  # the newest "skims"
    [step] = tree["steps"]
    assert step["run"]["id"] == store.assign_alt
    [households] = step["artifacts"]
    assert households["key"] == "households" and households["depth"] == 1
    assert households["artifact"]["id"] == output_of(store, store.prepare_alt, "households")["id"]
    [producer] = households["steps"]
    assert producer["run"]["id"] == store.prepare_alt and producer["artifacts"] == []


def test_lineage_of_an_artifact_by_id_downstream_and_depth(store: Store) -> None:
    households = output_of(store, store.prepare, "households")
    shown = as_json(store, "lineage", households["id"], "--downstream")
    [tree] = shown["trees"]
    assert tree["artifact"]["id"] == households["id"] and shown["direction"] == "downstream"
    [read] = tree["steps"]
    assert read["run"]["id"] == store.assign
    [skims] = read["artifacts"]
    assert skims["artifact"]["id"] == output_of(store, store.assign, "skims")["id"]
    alone = as_json(store, "lineage", households["id"], "--downstream", "--depth", "0")
    assert alone["max_depth"] == 0 and alone["trees"][0]["steps"] == []


def test_lineage_table_of_an_artifact(store: Store) -> None:
    up = invoke(store, "lineage", "skims")
    assert up.exit_code == 0, up.stderr
    lines = up.stdout.splitlines()
    assert lines[0].startswith("skims  ./outputs/traffic/")
    assert f"produced by assign (traffic, completed)  {store.assign_alt}" in up.stdout
    assert f"produced by prepare (demand, completed)  {store.prepare_alt}" in up.stdout
    down = invoke(store, "lineage", "households", "--downstream")
    assert f"read by assign (traffic, completed)  {store.assign_alt}" in down.stdout
    assert "produced by" not in down.stdout


# --- lineage of a run ----------------------------------------------------------------------


def test_lineage_of_a_run_walks_its_inputs(store: Store) -> None:
    shown = as_json(store, "lineage", store.assign)
    assert shown["kind"] == "run" and shown["run"]["id"] == store.assign
    [households] = shown["trees"]
    assert households["artifact"]["id"] == output_of(store, store.prepare, "households")["id"]
    assert [s["run"]["id"] for s in households["steps"]] == [store.prepare]
    # A raw step has no inputs: nothing upstream.
    assert as_json(store, "lineage", store.prepare)["trees"] == []
    text = invoke(store, "lineage", store.prepare).stdout
    assert text.startswith(f"run prepare (demand, completed)  {store.prepare}")
    assert "no inputs" in text


def test_lineage_of_a_run_downstream_walks_its_outputs(store: Store) -> None:
    shown = as_json(store, "lineage", store.prepare_alt, "--downstream")
    [households] = shown["trees"]
    [read] = households["steps"]
    assert read["run"]["id"] == store.assign_alt
    assert [a["key"] for a in read["artifacts"]] == ["skims"]
    shallow = as_json(store, "lineage", store.prepare_alt, "--downstream", "--depth", "0")
    assert [t["steps"] for t in shallow["trees"]] == [[]]
    # A cache hit's outputs are the reused files: what derives from them derives from it.
    hit = as_json(store, "lineage", store.prepare_hit, "--downstream")
    assert [s["run"]["id"] for s in hit["trees"][0]["steps"]] == [store.assign]


def test_lineage_of_a_run_by_unique_prefix(store: Store) -> None:
    shown = as_json(store, "lineage", unique_prefix(store.assign_alt))
    assert shown["kind"] == "run" and shown["run"]["id"] == store.assign_alt
    text = invoke(store, "lineage", unique_prefix(store.assign_alt), "--downstream").stdout
    assert text.startswith(f"run assign (traffic, completed)  {store.assign_alt}")
    assert "skims" in text


def test_lineage_errors(store: Store) -> None:
    assert_user_error(invoke(store, "lineage", "nothing"), "'nothing'", "consist artifacts")
    ambiguous = invoke(store, "lineage", "prepare")
    assert_user_error(ambiguous, "3 run ids", store.prepare, store.prepare_alt)
    assert invoke(store, "lineage", "skims", "--depth", "-1").exit_code == 2
    assert invoke(store, "lineage").exit_code == 2


# --- run-id prefixes on show / explain / diff ---------------------------------------------


def test_show_takes_a_unique_prefix(store: Store) -> None:
    shown = as_json(store, "show", unique_prefix(store.prepare_alt))
    assert shown["run"]["id"] == store.prepare_alt
    assert shown["config"] == {"scenario": {"growth": 0.02}, "seed": 7}


def test_an_ambiguous_prefix_lists_the_candidates(store: Store) -> None:
    result = invoke(store, "show", "assign-")
    assert_user_error(result, "RUN 'assign-'", "2 run ids", store.assign, store.assign_alt)
    assert store.prepare not in result.stderr


def test_explain_and_diff_take_prefixes(store: Store) -> None:
    decision = as_json(store, "explain", unique_prefix(store.prepare_alt))
    assert decision["outcome"] == "miss"
    diff = as_json(store, "diff", unique_prefix(store.prepare), unique_prefix(store.prepare_alt))
    assert diff["config"]["changed"] == {"scenario.growth": [0.01, 0.02]}
    assert_user_error(invoke(store, "diff", store.prepare, "prepare"), "RUN_B", "3 run ids")
