"""`consist runs / show / explain / diff` over a store built by real runs (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_store import Store
from typer.testing import CliRunner, Result

from consist.cli.app import app


def invoke(store: Store, *command: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, store.args(*command), env=env)


def as_json(store: Store, *command: str) -> object:
    result = invoke(store, *command, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def ids(store: Store, *command: str) -> set[str]:
    found = as_json(store, "runs", *command)
    assert isinstance(found, list)
    return {run["id"] for run in found}


def assert_user_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ")
    assert "\nHint: " in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr


# --- runs --------------------------------------------------------------------------------


def test_runs_lists_every_run_in_a_table(store: Store) -> None:
    result = invoke(store, "runs")
    assert result.exit_code == 0, result.stderr
    for run_id in (store.prepare, store.prepare_hit, store.prepare_alt, store.assign):
        assert run_id in result.stdout
    assert "5 run(s)" in result.stdout
    assert "hit" in result.stdout and "miss" in result.stdout


def test_runs_json_holds_run_records(store: Store) -> None:
    runs = as_json(store, "runs")
    assert isinstance(runs, list) and len(runs) == 5
    by_id = {run["id"]: run for run in runs}
    assert by_id[store.prepare_hit]["cache_hit"] is True
    assert by_id[store.prepare_hit]["reused_run_id"] == store.prepare
    assert by_id[store.assign]["model_name"] == "traffic"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (("--model", "demand"), {"prepare", "prepare_hit", "prepare_alt"}),
        (("--model", "demand", "--tag", "baseline"), {"prepare", "prepare_hit"}),
        (("--tag", "alt"), {"prepare_alt", "assign_alt"}),
        (("--stage", "supply"), {"assign", "assign_alt"}),
        (("--phase", "prepare"), {"prepare", "prepare_hit", "prepare_alt"}),
        (
            ("--year", "2030", "--status", "completed", "--model", "traffic"),
            {"assign", "assign_alt"},
        ),
        (("--year", "2031"), set()),
        (("--status", "failed"), set()),
        (
            ("--since", "2000-01-01"),
            {"prepare", "prepare_hit", "prepare_alt", "assign", "assign_alt"},
        ),
        (("--since", "1d"), {"prepare", "prepare_hit", "prepare_alt", "assign", "assign_alt"}),
        (("--since", "2999-01-01T00:00"), set()),
    ],
)
def test_runs_filters(store: Store, filters: tuple[str, ...], expected: set[str]) -> None:
    assert ids(store, *filters) == {getattr(store, name) for name in expected}


def test_runs_limit_keeps_the_newest(store: Store) -> None:
    everything = as_json(store, "runs")
    assert isinstance(everything, list)
    assert ids(store, "--limit", "2") == {run["id"] for run in everything[:2]}


def test_runs_with_no_match_says_so_on_stderr(store: Store) -> None:
    result = invoke(store, "runs", "--model", "nothing")
    assert result.exit_code == 0 and result.stdout == ""
    assert "No runs match" in result.stderr


def test_bad_filter_values_are_user_errors(store: Store) -> None:
    assert_user_error(invoke(store, "runs", "--since", "yesterday"), "--since", "7d")
    assert_user_error(invoke(store, "runs", "--status", "done"), "'done'", "completed")


def test_usage_errors_exit_2(store: Store) -> None:
    assert invoke(store, "runs", "--limit", "many").exit_code == 2
    assert invoke(store, "runs", "--colour").exit_code == 2
    assert CliRunner().invoke(app, ["frobnicate"]).exit_code == 2
    assert invoke(store, "show").exit_code == 2  # RUN missing


def test_locations_come_from_the_environment(store: Store) -> None:
    env = {"CONSIST_RUN_DIR": str(store.run_dir), "CONSIST_DB_PATH": str(store.db_path)}
    result = CliRunner().invoke(app, ["runs", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 5


def test_the_default_locations_are_the_current_directory(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.run_dir.parent)  # holds ./runs and ./provenance.duckdb
    result = CliRunner().invoke(app, ["runs", "--json"], env={})
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 5


def test_a_missing_run_dir_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--run-dir", str(tmp_path / "nowhere"), "runs"])
    assert_user_error(result, "nowhere", "--run-dir")
    assert not (tmp_path / "nowhere").exists()


def test_reading_creates_no_database(store: Store, tmp_path: Path) -> None:
    db = tmp_path / "absent.duckdb"
    result = CliRunner().invoke(
        app, ["--run-dir", str(store.run_dir), "--db-path", str(db), "runs", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 5  # answered from the snapshots
    assert not db.exists()


# --- show / explain / diff -------------------------------------------------------------------


def test_show_json_has_config_artifacts_cache_and_timings(store: Store) -> None:
    shown = as_json(store, "show", store.prepare_hit)
    assert isinstance(shown, dict)
    assert shown["run"]["id"] == store.prepare_hit
    assert shown["config"] == {"scenario": {"growth": 0.01}, "seed": 7}
    assert shown["cache"]["hit"] is True and shown["cache"]["reused_run_id"] == store.prepare
    assert shown["cache"]["decision"]["outcome"] == "hit"
    [households] = shown["outputs"]
    assert households["key"] == "households" and households["size"] == 15
    assert households["uri"].endswith("households.csv")
    assert shown["run"]["ended_at"] and shown["run"]["duration_seconds"] is not None
    assert shown["run"]["tags"] == ["baseline"]


def test_show_table(store: Store) -> None:
    result = invoke(store, "show", store.assign)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert store.assign in out and "traffic" in out and "inputs" in out and "outputs" in out
    assert "households" in out and "skims" in out and '"iterations": 3' in out


def test_show_unknown_run(store: Store) -> None:
    assert_user_error(invoke(store, "show", "no-such-run"), "no-such-run", "consist runs")


def test_explain_names_the_changed_config_key(store: Store) -> None:
    decision = as_json(store, "explain", store.prepare_alt)
    assert isinstance(decision, dict)
    assert decision["outcome"] == "miss"
    [change] = decision["changes"]
    assert change["component"] == "config" and change["changed"] == ["scenario.growth"]
    text = invoke(store, "explain", store.prepare_alt).stdout
    assert "scenario.growth" in text and store.prepare in text


def test_explain_a_hit(store: Store) -> None:
    result = invoke(store, "explain", store.prepare_hit)
    assert result.exit_code == 0 and result.stdout.startswith("hit")


def test_explain_unknown_run(store: Store) -> None:
    assert_user_error(invoke(store, "explain", "no-such-run"), "no-such-run")


def test_diff_config_and_outputs(store: Store) -> None:
    diff = as_json(store, "diff", store.prepare, store.prepare_alt)
    assert isinstance(diff, dict)
    assert diff["config"]["changed"] == {"scenario.growth": [0.01, 0.02]}
    assert diff["config"]["added"] == {} and diff["config"]["removed"] == {}
    [(key, (a, b))] = diff["outputs"]["changed"].items()
    assert key == "households" and a != b
    assert diff["fields"]["tags"] == [["baseline"], ["alt"]]


def test_diff_inputs_by_digest(store: Store) -> None:
    diff = as_json(store, "diff", store.assign, store.assign_alt)
    assert isinstance(diff, dict)
    assert list(diff["inputs"]["changed"]) == ["households"]
    assert diff["config"] == {"changed": {}, "added": {}, "removed": {}}
    same = as_json(store, "diff", store.prepare, store.prepare_hit)
    assert isinstance(same, dict)
    assert same["outputs"]["same"] == ["households"] and not same["outputs"]["changed"]


def test_diff_table_and_added_keys(store: Store) -> None:
    result = invoke(store, "diff", store.prepare, store.assign)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "iterations" in out and "added" in out and "removed" in out and "skims" in out


def test_diff_unknown_run(store: Store) -> None:
    assert_user_error(invoke(store, "diff", store.prepare, "nope"), "nope")
