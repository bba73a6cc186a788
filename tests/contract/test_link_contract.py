"""One contract for artifact queries and lineage: MemoryStore, DuckDBStore and ToyStore.

Records are built directly (no Tracker). Each test runs on every store with the same
data and the same expected answer; lineage graphs are also compared between stores,
with the level-by-level walk (store/links.walk_lineage) over the SQL store, and with
the overlay a reader uses for journal records not yet in the store.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import pytest
from test_store_contract import KINDS, artifact, make_run, make_store

from consist.model.run import ConsistRecord
from consist.store.base import RunQuery
from consist.store.links import ArtifactQuery, LinkQuery, walk_lineage
from consist.store.memory import MemoryStore
from consist.store.overlay import PendingOverlay


def ts(second: int) -> str:
    return f"2024-03-01T12:00:{second:02d}.000100+00:00"


def records() -> list[ConsistRecord]:
    """raw -> c0 -> a0 -> c1 -> a1 -> c2 -> a2, zones read by every step; c3 reads a1 and
    a2 (a diamond), hit is a cache hit of c2 (links a2 as its output too)."""
    raw = artifact("raw", "seed", "c0", uri="/data/seed.csv", created_at=ts(0))
    zones = artifact("zones", "zones", "c0", uri="/data/zones.csv", created_at=ts(0))
    out = [
        artifact(f"a{i}", f"k{i}", f"c{i}", producer_signature=f"sig-c{i}", created_at=ts(i + 1))
        for i in range(3)
    ]
    result = []
    upstream = raw
    for i in range(3):
        result.append(
            ConsistRecord(
                run=make_run(f"c{i}", i + 1, tags=["chain"]),
                inputs=[upstream, zones],
                outputs=[out[i]],
            )
        )
        upstream = out[i]
    weird = artifact("w%_'\"", "100%_'key\"", "c3", created_at=ts(9))
    result.append(
        ConsistRecord(
            run=make_run("c3", 5, tags=["report"]),
            inputs=[replace(out[1], key="left"), replace(out[2], key="right")],
            outputs=[weird],
        )
    )
    result.append(
        ConsistRecord(
            run=make_run("hit", 6, cache_hit=True, reused_run_id="c2"),
            inputs=[out[1], zones],
            outputs=[out[2]],
        )
    )
    return result


@pytest.fixture(params=KINDS)
def store(request, tmp_path: Path):
    instance = make_store(request.param, tmp_path, request)
    instance.record_runs(records())
    yield instance
    instance.close()


def ids(items) -> list[str]:
    return [item.id for item in items]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ArtifactQuery(limit=None), ["w%_'\"", "a2", "a1", "a0", "zones", "raw"]),
        (ArtifactQuery(limit=2), ["w%_'\"", "a2"]),
        (ArtifactQuery(key="k1"), ["a1"]),
        (ArtifactQuery(artifact_id="a0"), ["a0"]),
        (ArtifactQuery(creator="c1"), ["a1"]),
        (ArtifactQuery(creator="hit"), ["a2"]),
        (ArtifactQuery(consumer="c3"), ["a2", "a1"]),
        (ArtifactQuery(consumer="c1", key="zones"), ["zones"]),
        (ArtifactQuery(creator="c1", consumer="c3"), ["a1"]),
        (ArtifactQuery(creator="c0", consumer="c3"), []),
        (ArtifactQuery(run_id="c1"), ["a1", "a0", "zones"]),
        (ArtifactQuery(key="nope"), []),
        (ArtifactQuery(creator="nope"), []),
        # LIKE wildcards and quotes are data.
        (ArtifactQuery(key="100%_'key\""), ["w%_'\""]),
        (ArtifactQuery(key="100%"), []),
        (ArtifactQuery(key="k_"), []),
        (ArtifactQuery(artifact_id="w%"), []),
        (ArtifactQuery(artifact_id="w%_'\""), ["w%_'\""]),
        (ArtifactQuery(creator="c%"), []),
    ],
)
def test_query_artifacts(store, query: ArtifactQuery, expected: list[str]) -> None:
    assert ids(store.query_artifacts(query)) == expected


def test_an_artifact_has_the_fields_of_the_record_stored_last(store) -> None:
    (found,) = store.query_artifacts(ArtifactQuery(artifact_id="a1"))
    assert found.key == "k1"  # hit (stored last) links a1 under its own key
    changed = replace(records()[-1].inputs[0], meta={"rows": 7})
    store.record_runs([replace(records()[-1], inputs=[changed])])
    (found,) = store.query_artifacts(ArtifactQuery(artifact_id="a1"))
    assert found.meta == {"rows": 7}


def test_re_recording_a_run_replaces_its_links(store) -> None:
    c3 = records()[3]
    store.record_runs([replace(c3, inputs=c3.inputs[:1])])
    assert ids(store.query_artifacts(ArtifactQuery(consumer="c3"))) == ["a1"]
    # c3 no longer reads a2: looked up by artifact, its old link is gone too.
    links = store.query_links(LinkQuery(artifact_ids=("a2",)))
    assert [(link.run_id, link.direction) for link in links] == [
        ("c2", "output"), ("hit", "output")
    ]  # fmt: skip


def test_query_links(store) -> None:
    links = store.query_links(LinkQuery(run_ids=("c3", "c1")))
    assert [(k.run_id, k.direction, k.key, k.artifact.id) for k in links] == [
        ("c1", "input", "k0", "a0"),
        ("c1", "input", "zones", "zones"),
        ("c1", "output", "k1", "a1"),
        ("c3", "input", "left", "a1"),
        ("c3", "input", "right", "a2"),
        ("c3", "output", "100%_'key\"", "w%_'\""),
    ]
    links = store.query_links(LinkQuery(artifact_ids=("a2",), direction="output"))
    assert [link.run_id for link in links] == ["c2", "hit"]
    assert store.query_links(LinkQuery(run_ids=("nope",))) == []
    assert store.query_links(LinkQuery(run_ids=("c%",))) == []


def test_any_tags(store) -> None:
    runs = store.query_runs(RunQuery(any_tags=("report", "nope"), limit=None))
    assert [run.id for run in runs] == ["c3"]
    runs = store.query_runs(RunQuery(any_tags=("report", "chain"), limit=None))
    assert sorted(run.id for run in runs) == ["c0", "c1", "c2", "c3"]


def test_upstream_lineage_walks_producers_back_to_raw_inputs(store) -> None:
    graph = store.get_lineage("w%_'\"", direction="upstream", max_depth=None)
    assert graph.depths == {"w%_'\"": 0, "a1": 1, "a2": 1, "a0": 2, "zones": 2, "raw": 3}
    assert graph.steps == {"w%_'\"": ("c3",), "a1": ("c1",), "a2": ("c2",), "a0": ("c0",)}
    # the cache hit linked a2 as an output but did not produce it
    assert set(graph.runs) == {"c0", "c1", "c2", "c3"}
    assert graph.far["c3"] == (("left", "a1"), ("right", "a2"))
    assert graph.far["c0"] == (("seed", "raw"), ("zones", "zones"))


@pytest.mark.parametrize(
    ("depth", "artifacts", "runs"),
    [(0, {"a2"}, set()), (1, {"a2", "a1", "zones"}, {"c2"}), (2, {"a2", "a1", "zones", "a0"}, {"c2", "c1"})],
)  # fmt: skip
def test_max_depth_counts_artifact_levels(store, depth, artifacts, runs) -> None:
    graph = store.get_lineage("a2", direction="upstream", max_depth=depth)
    assert set(graph.depths) == artifacts
    assert set(graph.runs) == runs == {r for ids in graph.steps.values() for r in ids}


def test_downstream_lineage_walks_consumers(store) -> None:
    graph = store.get_lineage("a1", direction="downstream", max_depth=None)
    assert graph.steps == {"a1": ("c2", "c3", "hit"), "a2": ("c3",)}
    assert graph.depths == {"a1": 0, "a2": 1, "w%_'\"": 1}
    assert graph.far["hit"] == (("k2", "a2"),)


@pytest.mark.parametrize("depth", [None, 0, 1])
def test_lineage_of_an_unknown_artifact_is_none(store, depth) -> None:
    assert store.get_lineage("nope", direction="upstream", max_depth=depth) is None
    assert store.get_lineage("a%", direction="downstream", max_depth=depth) is None


def _plain(graph) -> dict:
    data = asdict(graph)
    data["runs"] = {k: v.to_dict() for k, v in graph.runs.items()}
    data["artifacts"] = {k: v.to_dict() for k, v in graph.artifacts.items()}
    return data


@pytest.mark.parametrize("direction", ["upstream", "downstream"])
@pytest.mark.parametrize("root", ["raw", "zones", "a0", "a1", "a2", "w%_'\""])
@pytest.mark.parametrize("depth", [None, 0, 1, 2])
def test_every_store_and_every_walk_agree(request, tmp_path: Path, direction, root, depth) -> None:
    answers = []
    for kind in KINDS:
        instance = make_store(kind, tmp_path / kind, request)
        instance.record_runs(records())
        answers.append(_plain(instance.get_lineage(root, direction=direction, max_depth=depth)))
        (found,) = instance.query_artifacts(ArtifactQuery(artifact_id=root))
        answers.append(_plain(walk_lineage(instance, found, direction, depth)))
        instance.close()
    assert all(answer == answers[0] for answer in answers)


def test_a_pending_overlay_answers_as_if_the_records_were_stored(request, tmp_path: Path) -> None:
    everything = MemoryStore()
    everything.record_runs(records())
    for kind in KINDS:
        stored = make_store(kind, tmp_path / kind, request)
        stored.record_runs(records()[:2])
        overlay = PendingOverlay(stored, records()[2:])
        for query in (
            ArtifactQuery(limit=None),
            ArtifactQuery(consumer="c3"),
            ArtifactQuery(limit=1),
        ):
            assert ids(overlay.query_artifacts(query)) == ids(everything.query_artifacts(query))
        for root in ("w%_'\"", "a0"):
            for direction in ("upstream", "downstream"):
                got = overlay.get_lineage(root, direction=direction, max_depth=None)
                want = everything.get_lineage(root, direction=direction, max_depth=None)
                assert _plain(got) == _plain(want), (kind, root, direction)


# --- runs the caller already holds (store/links.RunResolver) --------------------------


def resolver(answered: set[str], description: str | None = None):
    """A resolver answering the runs in ``answered`` as recorded (or marked with
    ``description``), and noting what it was asked."""
    runs = {record.run.id: record.run for record in records()}
    asked: list[str] = []

    def resolve(run_ids):
        asked.extend(run_ids)
        return {
            run_id: runs[run_id]
            if description is None
            else replace(runs[run_id], description=description)
            for run_id in run_ids
            if run_id in answered
        }

    return resolve, asked


@pytest.mark.parametrize("direction", ["upstream", "downstream"])
@pytest.mark.parametrize("answered", [{"c0", "c1", "c2", "c3", "hit"}, {"c1", "c3"}, set()])
def test_runs_the_caller_holds_as_stored_change_no_lineage(store, direction, answered) -> None:
    for root in ("raw", "a0", "a2", "w%_'\""):
        for depth in (None, 0, 1):
            want = store.get_lineage(root, direction=direction, max_depth=depth)
            resolve, _ = resolver(answered)
            got = store.get_lineage(
                root, direction=direction, max_depth=depth, resolve_runs=resolve
            )
            assert _plain(got) == _plain(want), (root, depth)
    resolve, _ = resolver(answered)
    assert (
        store.get_lineage("nope", direction=direction, max_depth=None, resolve_runs=resolve) is None
    )


# Stores that take the caller's runs upstream instead of fetching them (the in-memory
# store already holds its runs and ignores the resolver).
TAKES_CALLER_RUNS = {"duckdb", "postgres", "toy"}


def test_upstream_takes_the_runs_the_caller_holds_and_fetches_the_rest(store, request) -> None:
    kind = request.node.callspec.params["store"]
    resolve, asked = resolver({"c1", "c3"}, description="the caller's copy")
    graph = store.get_lineage("w%_'\"", direction="upstream", max_depth=None, resolve_runs=resolve)
    assert set(graph.runs) == {"c0", "c1", "c2", "c3"}
    by_caller = {
        run_id for run_id, run in graph.runs.items() if run.description == "the caller's copy"
    }
    if kind in TAKES_CALLER_RUNS:
        assert by_caller == {"c1", "c3"} and {"c0", "c1", "c2", "c3"} <= set(asked)
    else:
        assert by_caller == set() and asked == []
    assert graph.runs["c0"] == store.get_run("c0")


def test_a_pending_record_wins_over_the_callers_copy(request, tmp_path: Path) -> None:
    everything = MemoryStore()
    everything.record_runs(records())
    for kind in KINDS:
        stored = make_store(kind, tmp_path / kind, request)
        stored.record_runs(records()[:2])
        overlay = PendingOverlay(stored, records()[2:])
        resolve, asked = resolver({"c0", "c1", "c2", "c3", "hit"}, description="caller")
        graph = overlay.get_lineage(
            "w%_'\"", direction="upstream", max_depth=None, resolve_runs=resolve
        )
        want = everything.get_lineage("w%_'\"", direction="upstream", max_depth=None)
        # c2 and c3 are pending (newer than anything the caller read): not asked of it.
        assert {k: v.description for k, v in graph.runs.items()} == {
            "c0": "caller",
            "c1": "caller",
            "c2": None,
            "c3": None,
        }, kind
        assert set(asked) == {"c0", "c1"}
        assert graph.runs["c3"] == want.runs["c3"] and graph.depths == want.depths
        stored.close()
