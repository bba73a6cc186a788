"""Artifact lookups, lineage, history, run sets and module helpers through the Tracker,
against the DuckDB store and the JSON-only store."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import consist
from consist import ConfigError, QueryError, Run, RunSet, Tracker, TrackerConfig


@pytest.fixture(params=["duckdb", "json"])
def any_tracker(request: pytest.FixtureRequest) -> Tracker:
    name = "tracker" if request.param == "duckdb" else "json_tracker"
    return request.getfixturevalue(name)


def make_seed() -> Path:
    out = consist.output_path("seed", ext="csv")
    out.write_text("x,y\n1,2\n3,4\n")
    return out


def grow(seed: Path, zones: Path) -> Path:
    out = consist.output_path("grown", ext="csv")
    out.write_text(seed.read_text() + "5,6\n")
    return out


def report(grown: Path) -> Path:
    out = consist.output_path("report", ext="txt")
    out.write_text(f"{len(grown.read_text().splitlines())} lines")
    return out


@pytest.fixture
def chain(any_tracker: Tracker, tmp_path: Path) -> dict[str, Run]:
    zones = tmp_path / "zones.csv"
    zones.write_text("zone\n1\n")
    first = any_tracker.run(
        fn=make_seed, outputs=["seed"], config={"n": 1}, tags=["base"], year=2020
    )
    second = any_tracker.run(
        fn=grow,
        inputs={"seed": first.outputs["seed"], "zones": zones},
        outputs=["grown"],
        config={"rate": 0.5, "nested": {"a": [1, 2]}},
        tags=["policy"],
        year=2030,
    )
    third = any_tracker.run(
        fn=report, inputs={"grown": second.outputs["grown"]}, outputs=["report"], year=2030
    )
    return {"first": first.run, "second": second.run, "third": third.run}


def test_get_artifact_by_key_id_uuid_and_run(any_tracker: Tracker, chain) -> None:
    grown = any_tracker.get_artifact("grown")
    assert grown is not None and grown.key == "grown"
    assert any_tracker.get_artifact(grown.id) == grown
    assert any_tracker.get_artifact(uuid.UUID(hex=grown.id)) == grown
    assert any_tracker.get_artifact(str(uuid.UUID(hex=grown.id))) == grown
    assert any_tracker.get_artifact("grown", run_id=chain["third"].id) == grown  # its input
    assert any_tracker.get_artifact("grown", run_id=chain["first"].id) is None
    assert any_tracker.get_artifact("gr%") is None
    assert any_tracker.get_artifact("gr_wn") is None


def test_find_artifacts(any_tracker: Tracker, chain) -> None:
    second = chain["second"]
    assert [a.key for a in any_tracker.find_artifacts(creator=second)] == ["grown"]
    assert {a.key for a in any_tracker.find_artifacts(consumer=second.id)} == {"seed", "zones"}
    assert [a.key for a in any_tracker.find_artifacts(key="seed")] == ["seed"]
    assert len(any_tracker.find_artifacts(limit=2)) == 2
    assert any_tracker.find_artifacts(key="%") == []
    assert any_tracker.find_artifacts(creator="'; DROP TABLE runs; --") == []
    assert len(any_tracker.find_runs()) == 3


def test_run_artifacts_config_and_loading(any_tracker: Tracker, chain) -> None:
    second = chain["second"].id
    both = any_tracker.get_artifacts_for_run(second)
    assert set(both.inputs) == {"seed", "zones"} and set(both.outputs) == {"grown"}
    assert any_tracker.get_artifacts_for_run("nope").outputs == {}
    assert any_tracker.get_run_artifact(second).key == "grown"
    assert (
        any_tracker.get_run_artifact(second, key_contains="zon", direction="input").key == "zones"
    )
    assert any_tracker.get_run_artifact(second, key="nope") is None
    with pytest.raises(QueryError, match="key_contains"):
        any_tracker.get_run_artifact(second, direction="input")
    with pytest.raises(ConfigError, match="direction"):
        any_tracker.get_run_artifact(second, direction="sideways")
    frame = any_tracker.load_run_output(second, "grown")
    assert list(frame["x"]) == [1, 3, 5]
    with pytest.raises(QueryError, match="no output 'nope'"):
        any_tracker.load_run_output(second, "nope")
    with pytest.raises(ConfigError, match="unsupported"):
        any_tracker.load_run_output(second, "grown", sep=";")
    assert any_tracker.get_run_config(second) == {"rate": 0.5, "nested": {"a": [1, 2]}}
    assert any_tracker.get_run_config("nope", allow_missing=True) is None
    with pytest.raises(QueryError, match="allow_missing"):
        any_tracker.get_run_config("nope")


def test_upstream_lineage_tree(any_tracker: Tracker, chain, capsys) -> None:
    tree = any_tracker.get_artifact_lineage("report")
    assert tree.producer.id == chain["third"].id
    (grown,) = tree.steps[0].artifacts
    assert (grown.key, grown.depth, grown.producer.id) == ("grown", 1, chain["second"].id)
    assert [a.key for a in grown.steps[0].artifacts] == ["seed", "zones"]
    seed, zones = grown.steps[0].artifacts
    assert seed.producer.id == chain["first"].id and zones.producer is None
    assert [n.key for n in tree.walk()] == ["report", "grown", "seed", "zones"]
    assert any_tracker.get_artifact_lineage("report", max_depth=0).steps == ()
    assert any_tracker.get_artifact_lineage("nope") is None
    assert tree.to_dict()["steps"][0]["run"]["id"] == chain["third"].id

    any_tracker.print_lineage("report", show_run_ids=True)
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("report")
    assert f"[run {chain['second'].id}]" in text and "produced by grow" in text
    any_tracker.print_lineage("report")
    assert "[run " not in capsys.readouterr().out


def test_downstream_lineage(any_tracker: Tracker, chain) -> None:
    tree = any_tracker.get_artifact_lineage("seed", direction="downstream")
    assert [step.run.id for step in tree.steps] == [chain["second"].id]
    assert [n.key for n in tree.walk()] == ["seed", "grown", "report"]
    with pytest.raises(ConfigError, match="direction"):
        any_tracker.get_artifact_lineage("seed", direction="up")
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match="max_depth"):
            any_tracker.get_artifact_lineage("seed", max_depth=bad)
    with pytest.raises(QueryError, match="no artifact"):
        any_tracker.print_lineage("nope")


def test_history_is_a_frame_of_recent_runs_with_any_tag(any_tracker: Tracker, chain) -> None:
    frame = any_tracker.history()
    assert list(frame["id"]) == [chain["third"].id, chain["second"].id, chain["first"].id]
    assert "cache_decision" not in frame.columns and "model_name" in frame.columns
    tagged = any_tracker.history(tags=["base", "policy"])
    assert set(tagged["id"]) == {chain["first"].id, chain["second"].id}
    assert len(any_tracker.history(limit=1)) == 1
    with pytest.raises(ConfigError, match="tags"):
        any_tracker.history(tags="base")


def test_run_set_groups_aligns_and_compares(any_tracker: Tracker) -> None:
    def step() -> None:
        pass

    for scenario in ("base", "policy"):
        for year in (2020, 2030):
            for iteration in (0, 1):
                any_tracker.run(
                    fn=step, name=scenario, config={"s": scenario, "y": year, "i": iteration},
                    year=year, iteration=iteration, tags=[scenario],
                )  # fmt: skip
    base = any_tracker.run_set("base", tags=["base"])
    policy = any_tracker.run_set("policy", name="policy")
    assert isinstance(base, RunSet) and len(base) == 4 and base.label == "base"
    assert sorted(base.group_by("year")) == [2020, 2030]
    latest = base.latest("year")
    assert sorted((r.year, r.iteration) for r in latest) == [(2020, 1), (2030, 1)]
    assert base.latest()[0].iteration == 1
    with pytest.raises(QueryError, match="latest"):
        base.align(policy, on="year")
    aligned = latest.align(policy.latest("year"), on="year")
    assert [p.key for p in aligned] == [2020, 2030]
    assert all(p.left.name == "base" and p.right.name == "policy" for p in aligned)
    assert aligned.changes(fields=["name"])[2020] == {"name": ("base", "policy")}
    assert base.filter(year=2020).ids == [r.id for r in base if r.year == 2020]
    assert len(base.to_frame()) == 4
    with pytest.raises(ConfigError, match="on="):
        base.align(policy, on="colour")
    with pytest.raises(ConfigError, match="index_by"):
        any_tracker.run_set("x", index_by="year")


def test_module_helpers_use_the_current_tracker(any_tracker: Tracker, chain) -> None:
    with consist.use_tracker(any_tracker):
        assert {r.id for r in consist.find_runs(year=2030)} == {
            chain["second"].id,
            chain["third"].id,
        }
        assert consist.find_run(tags=["base"]).id == chain["first"].id
        assert consist.find_latest_run(year=2030).id == chain["third"].id
        assert len(consist.run_set("all")) == 3
        assert consist.get_artifact("seed").run_id == chain["first"].id


def test_index_by_and_bad_filters(any_tracker: Tracker, chain) -> None:
    by_year = any_tracker.find_runs(index_by="year")
    assert set(by_year) == {2020, 2030}
    by_tags = any_tracker.find_runs(index_by="tags")
    assert ("base",) in by_tags
    for bad in ("colour", "facet.", "_lock", 3):
        with pytest.raises(ConfigError, match="index_by") as info:
            any_tracker.find_runs(index_by=bad)
        assert "facet" in str(info.value)  # the message names the facet form too
    with pytest.raises(ConfigError, match="index_by"):
        any_tracker.find_run(index_by="year")
    with pytest.raises(TypeError, match="colour"):
        any_tracker.find_artifacts(colour="red")
    with pytest.raises(ConfigError, match="tags"):
        any_tracker.find_runs(tags=5)
    with pytest.raises(ConfigError, match="creator"):
        any_tracker.find_artifacts(creator=5)
    with pytest.raises(ConfigError, match="key="):
        any_tracker.find_artifacts(key=["seed"])
    with pytest.raises(ConfigError, match="limit"):
        any_tracker.find_artifacts(limit=-1)
    with pytest.raises(ConfigError, match="key_or_id"):
        any_tracker.get_artifact(None)
    with pytest.raises(ConfigError, match="run_id"):
        any_tracker.get_run_config(7)


def test_a_reader_sees_artifacts_and_lineage_of_pending_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = TrackerConfig(
        run_dir=tmp_path / "runs",
        db_path=tmp_path / "db.duckdb",
        code_identity="callable_module",
        sync_every_runs=10_000,
        sync_every_seconds=10_000,
    )
    writer = Tracker(config=config)
    first = writer.run(fn=make_seed, outputs=["seed"])
    writer.sync_store()  # first in the store; the second stays in the journal
    zones = tmp_path / "zones.csv"
    zones.write_text("zone\n1\n")
    second = writer.run(fn=grow, inputs={"seed": first.outputs["seed"], "zones": zones},
                        outputs=["grown"])  # fmt: skip
    reader = Tracker(run_dir=tmp_path / "runs", db_path=tmp_path / "db.duckdb", access_mode="read")
    assert reader.get_artifact("grown").run_id == second.run.id
    assert [a.key for a in reader.find_artifacts(consumer=second.run.id)] in (
        ["seed", "zones"],
        ["zones", "seed"],
    )
    tree = reader.get_artifact_lineage("grown")
    assert tree.producer.id == second.run.id
    assert tree.steps[0].artifacts[0].producer.id == first.run.id
    down = reader.get_artifact_lineage("seed", direction="downstream")
    assert [s.run.id for s in down.steps] == [second.run.id]
    reader.close()
    writer.close()
