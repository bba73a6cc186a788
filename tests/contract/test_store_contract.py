"""One contract, every MetadataStore: MemoryStore (the reference), DuckDBStore,
PostgresStore (on a server tests/conftest.py starts), and ToyStore, a third store written in this module against ``consist.store.base`` only.

Records are built directly (no Tracker), so a failure here is a store bug. Every test
runs against every implementation with the same data and the same expected result,
and ``test_both_stores_agree`` compares the outputs with each other as well. The toy
store shows that a new store needs nothing outside ``store/``: the tests at the end
hand it to Services and StoreSync and run the journal, sync and read policies on it.
"""

from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from consist.fs.layout import RunLayout
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.store.base import (
    EQUALITY_FILTERS,
    MetadataStore,
    PendingRecords,
    RecordDecoder,
    RunQuery,
    StoreBusy,
    StoreLineage,
    metadata_matches,
    run_sort_key,
)
from consist.store.duckdb.store import DuckDBStore
from consist.store.links import ArtifactQuery, LinkIndex, walk_lineage
from consist.store.memory import MemoryStore


class ToyStore:
    """A third store, written against consist.store.base alone: journaled like a shared
    store, with its rows and journal offsets in two dicts and one lock for sessions."""

    journaled = True
    location = None

    def __init__(self) -> None:
        self._runs: dict[str, ConsistRecord] = {}
        # Artifact queries reuse the reference index of consist.store.links.
        self._links = LinkIndex()
        self._offsets: dict[str, int] = {}
        self._generations: set[str] = set()
        self._lock = threading.RLock()
        self.sessions = 0

    @contextmanager
    def session(self, *, blocking: bool = True, timeout: float | None = None):
        if not self._lock.acquire(blocking=blocking):
            raise StoreBusy("toy")
        self.sessions += 1
        try:
            yield
        finally:
            self._lock.release()

    @contextmanager
    def read_session(self):
        with self._lock:
            yield

    def record_runs(self, records, *, rejected=None) -> None:
        with self.session():
            self._runs.update({record.run.id: record for record in records})
            self._links.record(records)

    def catch_up(self, pending: PendingRecords, decode: RecordDecoder, *, rejected=None) -> int:
        with self.session():
            chunks = pending.scan(dict(self._offsets))
            records = []
            for chunk in chunks:
                for line in chunk.lines:
                    try:
                        record = decode(line)
                    except Exception as exc:
                        if rejected is None:
                            raise
                        rejected.set_aside(None, f"unreadable: {exc}", chunk.name, line)
                        continue
                    if record is not None:
                        records.append(record)
            self._runs.update({record.run.id: record for record in records})
            self._links.record(records)
            self._offsets.update({chunk.name: chunk.end_offset for chunk in chunks})
            for name in pending.remove_consumed(dict(self._offsets)):
                del self._offsets[name]
            return len({record.run.id for record in records})

    def journal_offsets(self) -> dict[str, int]:
        return dict(self._offsets)

    def lineage(self) -> StoreLineage:
        return StoreLineage(frozenset(self._generations), empty=not self._runs)

    def add_generation(self, generation: str) -> None:
        self._generations.add(generation)

    def get_run(self, run_id: str):
        record = self._runs.get(run_id)
        return record.run if record else None

    def query_runs(self, query: RunQuery):
        def matches(run: Run) -> bool:
            return (
                all(
                    getattr(query, q) is None or getattr(run, r) == getattr(query, q)
                    for q, r in EQUALITY_FILTERS
                )
                and set(query.tags or ()).issubset(run.tags)
                and (not query.any_tags or bool(set(query.any_tags) & set(run.tags)))
                and all(
                    k in run.meta and metadata_matches(run.meta[k], v)
                    for k, v in (query.metadata or {}).items()
                )
            )

        runs = sorted(
            (r.run for r in self._runs.values() if matches(r.run)),
            key=run_sort_key(query.order),
            reverse=True,
        )
        return query.window(runs)

    def get_run_artifacts(self, run_id: str):
        record = self._runs.get(run_id)
        if record is None:
            return [], []
        return (
            sorted(record.inputs, key=lambda a: a.key),
            sorted(record.outputs, key=lambda a: a.key),
        )

    def find_artifacts_by_uri(self, uri: str):
        found = {
            a.id: a for r in self._runs.values() for a in (*r.inputs, *r.outputs) if a.uri == uri
        }
        by_id = sorted(found.values(), key=lambda a: a.id)
        return sorted(by_id, key=lambda a: a.created_at or "", reverse=True)

    def count_runs(self) -> int:
        return len(self._runs)

    def query_artifacts(self, query):
        return self._links.query_artifacts(query)

    def query_links(self, query):
        return self._links.query_links(query)

    def get_lineage(self, artifact_id, *, direction, max_depth, resolve_runs=None):
        found = self.query_artifacts(ArtifactQuery(artifact_id=artifact_id, limit=1))
        return walk_lineage(self, found[0], direction, max_depth, resolve_runs) if found else None

    def sql_engine(self):
        return None

    def close(self) -> None:
        pass


KINDS = ["memory", "duckdb", "postgres", "toy"]


def make_store(kind: str, tmp_path: Path, request=None, mounts=None):
    if kind == "postgres":
        from consist.store.postgres.store import PostgresStore

        layout = RunLayout(tmp_path / "runs", mounts)
        layout.ensure()
        url = request.getfixturevalue("pg_url")
        return PostgresStore(url, layout=layout, connect_timeout=5, retry_seconds=5)
    if kind == "memory":
        return MemoryStore()
    if kind == "toy":
        return ToyStore()
    layout = RunLayout(tmp_path / "runs", mounts)
    layout.ensure()
    return DuckDBStore(str(tmp_path / "store.duckdb"), layout=layout, lock_timeout=10)


@pytest.fixture(params=KINDS)
def store(request, tmp_path: Path):
    made = make_store(request.param, tmp_path, request)
    yield made
    made.close()


def ts(second: int, micro: int = 123456) -> str:
    """A timestamp in the shape the recorder writes (datetime.now(UTC).isoformat())."""
    return f"2024-03-01T12:00:{second:02d}.{micro:06d}+00:00"


def artifact(aid: str, key: str, run_id: str | None, **fields) -> Artifact:
    values = dict(
        uri=f"./outputs/{aid}.csv",
        driver="csv",
        hash="h" + aid,
        size=10,
        run_id=run_id,
        producer_signature=None,
        created_at=ts(0, 500),
        meta={},
    )
    values.update(fields)
    return Artifact(id=aid, key=key, **values)


def make_run(run_id: str, second: int, **fields) -> Run:
    values = dict(
        name="step",
        model_name="model_a",
        description=None,
        status="completed",
        tags=[],
        signature="sig-" + run_id,
        config_hash="cfg-" + run_id,
        input_hash="inp-" + run_id,
        git_hash="code-1",
        code_identity_mode="callable_module",
        artifact_dir=f"./outputs/model_a/{run_id}",
        created_at=ts(second),
        started_at=ts(second),
        ended_at=ts(second, 999999),
        duration_seconds=0.25,
        meta={},
    )
    values.update(fields)
    return Run(id=run_id, **values)


def make_records() -> list[ConsistRecord]:
    """Eight runs covering every filter field; created_at increases with the number."""
    runs = [
        make_run(
            "r1",
            1,
            tags=["sweep", "a"],
            year=2020,
            iteration=0,
            stage="prep",
            phase="warmup",
            meta={"seed": 1, "flag": True, "label": "alpha", "nested": {"x": 1, "y": [1, 2]}},
        ),
        make_run(
            "r2",
            2,
            tags=["sweep", "b"],
            year=2020,
            iteration=1,
            stage="prep",
            phase="main",
            meta={"seed": 2, "flag": False, "label": "beta", "naive": "naïve ∑"},
        ),
        make_run(
            "r3",
            3,
            tags=["sweep", "a", "b"],
            year=2030,
            iteration=2,
            stage="sim",
            phase="main",
            model_name="model_b",
            meta={"seed": 1, "flag": 1, "label": "gamma", "ratio": 0.5},
        ),
        make_run(
            "r4",
            4,
            name="other",
            tags=[],
            year=2030,
            iteration=None,
            stage="sim",
            status="failed",
            error="RuntimeError: boom",
            parent_run_id="r1",
            meta={"seed": 3, "empty": None, "items": ["u", 2, False]},
        ),
        make_run(
            "r5",
            5,
            tags=["a"],
            year=None,
            iteration=2,
            parent_run_id="r1",
            git_hash="code-2",
            meta={"seed": 1.0},
        ),
        make_run(
            "r6",
            6,
            tags=["b"],
            iteration=None,
            cache_hit=True,
            reused_run_id="r1",
            signature="sig-r1",
            config_hash="cfg-r1",
            input_hash="inp-r1",
            status="running",
            ended_at=None,
            duration_seconds=None,
            meta={"seed": "1"},
        ),
        # r7 and r8 share created_at: ties break by id, descending.
        make_run("r7", 7, iteration=1, model_name="model_b", description="tie 1"),
        make_run("r8", 7, iteration=1, model_name="model_b", description="tie 2"),
    ]
    records = []
    for run in runs:
        records.append(
            ConsistRecord(
                run=run,
                config={"run": run.id, "n": 1},
                inputs=[
                    artifact(f"{run.id}-in-raw", "raw", "upstream", uri="/data/raw.csv"),
                    artifact(f"{run.id}-in-zones", "zones", "upstream", driver="parquet"),
                ],
                outputs=[artifact(f"{run.id}-out", "result", run.id, meta={"rows": 3})],
                identity={"signature": run.signature},
            )
        )
    return records


ALL_NEWEST_FIRST = ["r8", "r7", "r6", "r5", "r4", "r3", "r2", "r1"]


@pytest.fixture
def filled(store):
    store.record_runs(make_records())
    return store


def ids(runs: list[Run]) -> list[str]:
    return [run.id for run in runs]


# --- record / get / count -----------------------------------------------------------


def test_empty_store(store) -> None:
    assert store.count_runs() == 0
    assert store.get_run("r1") is None
    assert store.query_runs(RunQuery()) == []
    assert store.get_run_artifacts("r1") == ([], [])
    store.record_runs([])
    assert store.count_runs() == 0


def test_get_run_round_trips_every_field(filled) -> None:
    for record in make_records():
        assert filled.get_run(record.run.id) == record.run
    assert filled.get_run("nope") is None
    assert filled.count_runs() == 8


def test_recording_the_same_record_twice_keeps_one_row(filled) -> None:
    records = make_records()
    filled.record_runs(records)
    filled.record_runs(records[:3])
    assert filled.count_runs() == 8
    assert ids(filled.query_runs(RunQuery(limit=None))) == ALL_NEWEST_FIRST
    assert len(filled.get_run_artifacts("r1")[0]) == 2
    assert len(filled.get_run_artifacts("r1")[1]) == 1


def test_upsert_updated_fields_win(filled) -> None:
    record = make_records()[5]  # r6: running
    updated = copy.deepcopy(record)
    updated.run.status = "completed"
    updated.run.ended_at = ts(6, 777777)
    updated.run.duration_seconds = 1.5
    updated.run.tags = ["b", "late"]
    updated.run.meta = {"seed": "1", "extra": 42}
    updated.run.description = "finished"
    filled.record_runs([updated])

    assert filled.count_runs() == 8
    assert filled.get_run("r6") == updated.run
    assert "r6" not in ids(filled.query_runs(RunQuery(status="running")))
    assert ids(filled.query_runs(RunQuery(tags=("late",)))) == ["r6"]
    assert ids(filled.query_runs(RunQuery(metadata={"extra": 42}))) == ["r6"]


def test_last_record_of_a_batch_wins(store) -> None:
    first, second = make_records()[0], copy.deepcopy(make_records()[0])
    second.run.description = "second"
    store.record_runs([first, second])
    assert store.count_runs() == 1
    assert store.get_run("r1").description == "second"


# --- filters --------------------------------------------------------------------------

FILTER_CASES = [
    pytest.param(RunQuery(limit=None), ALL_NEWEST_FIRST, id="no-filter"),
    pytest.param(RunQuery(tags=("a",)), ["r5", "r3", "r1"], id="tags-one"),
    pytest.param(RunQuery(tags=("a", "b")), ["r3"], id="tags-subset"),
    pytest.param(RunQuery(tags=("b", "sweep")), ["r3", "r2"], id="tags-subset-order"),
    pytest.param(RunQuery(tags=("missing",)), [], id="tags-none"),
    pytest.param(RunQuery(tags=()), ALL_NEWEST_FIRST, id="tags-empty-is-any"),
    pytest.param(RunQuery(year=2020), ["r2", "r1"], id="year"),
    pytest.param(RunQuery(year=2030), ["r4", "r3"], id="year-2030"),
    pytest.param(RunQuery(iteration=2), ["r5", "r3"], id="iteration"),
    pytest.param(RunQuery(iteration=0), ["r1"], id="iteration-zero"),
    pytest.param(RunQuery(stage="prep"), ["r2", "r1"], id="stage"),
    pytest.param(RunQuery(phase="main"), ["r3", "r2"], id="phase"),
    pytest.param(RunQuery(model="model_b"), ["r8", "r7", "r3"], id="model"),
    pytest.param(RunQuery(status="failed"), ["r4"], id="status-failed"),
    pytest.param(RunQuery(status="running"), ["r6"], id="status-running"),
    pytest.param(
        RunQuery(status="completed"), ["r8", "r7", "r5", "r3", "r2", "r1"], id="status-completed"
    ),
    pytest.param(RunQuery(parent_id="r1"), ["r5", "r4"], id="parent_id"),
    pytest.param(RunQuery(name="other"), ["r4"], id="name"),
    pytest.param(RunQuery(signature="sig-r1"), ["r6", "r1"], id="signature"),
    pytest.param(RunQuery(config_hash="cfg-r3"), ["r3"], id="config_hash"),
    pytest.param(RunQuery(input_hash="inp-r1"), ["r6", "r1"], id="input_hash"),
    pytest.param(RunQuery(git_hash="code-2"), ["r5"], id="git_hash"),
    pytest.param(
        RunQuery(config_hash="cfg-r1", input_hash="inp-r1", git_hash="code-1"),
        ["r6", "r1"],
        id="identity-components",
    ),
    pytest.param(
        RunQuery(year=2030, stage="sim", model="model_a"), ["r4"], id="filters-combine-with-and"
    ),
    pytest.param(RunQuery(year=2020, stage="sim"), [], id="filters-and-empty"),
    # metadata: exact matches by JSON type and value
    pytest.param(RunQuery(metadata={"label": "beta"}), ["r2"], id="meta-str"),
    pytest.param(RunQuery(metadata={"naive": "naïve ∑"}), ["r2"], id="meta-str-non-ascii"),
    pytest.param(RunQuery(metadata={"seed": 2}), ["r2"], id="meta-int"),
    pytest.param(RunQuery(metadata={"seed": 1}), ["r5", "r3", "r1"], id="meta-int-matches-1.0"),
    pytest.param(RunQuery(metadata={"seed": "1"}), ["r6"], id="meta-str-is-not-int"),
    pytest.param(RunQuery(metadata={"flag": True}), ["r1"], id="meta-bool-true-not-1"),
    pytest.param(RunQuery(metadata={"flag": False}), ["r2"], id="meta-bool-false"),
    pytest.param(RunQuery(metadata={"flag": 1}), ["r3"], id="meta-int-1-not-true"),
    pytest.param(RunQuery(metadata={"ratio": 0.5}), ["r3"], id="meta-float"),
    pytest.param(RunQuery(metadata={"empty": None}), ["r4"], id="meta-null"),
    pytest.param(RunQuery(metadata={"absent": None}), [], id="meta-missing-key"),
    pytest.param(
        RunQuery(metadata={"nested": {"y": [1, 2], "x": 1}}), ["r1"], id="meta-dict-key-order"
    ),
    pytest.param(RunQuery(metadata={"nested": {"x": 1}}), [], id="meta-dict-exact-not-subset"),
    pytest.param(RunQuery(metadata={"items": ["u", 2, False]}), ["r4"], id="meta-list"),
    pytest.param(RunQuery(metadata={"items": [2, "u", False]}), [], id="meta-list-order"),
    pytest.param(RunQuery(metadata={"seed": 1, "label": "gamma"}), ["r3"], id="meta-several-keys"),
    pytest.param(RunQuery(metadata={}), ALL_NEWEST_FIRST, id="meta-empty-is-any"),
    # limit
    pytest.param(RunQuery(limit=3), ["r8", "r7", "r6"], id="limit"),
    pytest.param(RunQuery(limit=0), [], id="limit-zero"),
    pytest.param(RunQuery(tags=("a",), limit=1), ["r5"], id="limit-after-filter"),
    pytest.param(RunQuery(limit=1000), ALL_NEWEST_FIRST, id="limit-above-count"),
    # offset (paging): skips matches before the limit applies
    pytest.param(RunQuery(limit=3, offset=3), ["r5", "r4", "r3"], id="offset-second-page"),
    pytest.param(RunQuery(limit=3, offset=6), ["r2", "r1"], id="offset-last-page"),
    pytest.param(RunQuery(limit=3, offset=8), [], id="offset-past-the-end"),
    pytest.param(RunQuery(limit=None, offset=5), ["r3", "r2", "r1"], id="offset-no-limit"),
    pytest.param(RunQuery(tags=("b",), limit=1, offset=1), ["r3"], id="offset-after-filter"),
    pytest.param(
        RunQuery(order="latest", limit=2, offset=2), ["r8", "r7"], id="offset-order-latest"
    ),
    pytest.param(
        RunQuery(metadata={"nested": {"y": [1, 2], "x": 1}}, offset=1), [], id="offset-nested-meta"
    ),
]


@pytest.mark.parametrize("query, expected", FILTER_CASES)
def test_query_filters(filled, query: RunQuery, expected: list[str]) -> None:
    assert ids(filled.query_runs(query)) == expected


def test_default_limit_is_100(store) -> None:
    base = make_records()[0]
    records = []
    for i in range(105):
        record = copy.deepcopy(base)
        record.run.id = f"bulk-{i:03d}"
        record.run.created_at = f"2024-03-01T12:{i // 60:02d}:{i % 60:02d}.000001+00:00"
        records.append(record)
    store.record_runs(records)
    runs = store.query_runs(RunQuery())
    assert len(runs) == 100
    assert runs[0].id == "bulk-104"
    assert store.count_runs() == 105
    assert len(store.query_runs(RunQuery(limit=None))) == 105


# --- ordering -------------------------------------------------------------------------


def test_order_created_is_newest_first_ties_by_id(filled) -> None:
    runs = filled.query_runs(RunQuery(order="created", limit=None))
    assert ids(runs) == ALL_NEWEST_FIRST
    assert [run.created_at for run in runs] == sorted(
        (run.created_at for run in runs), reverse=True
    )


def test_order_latest_highest_iteration_first_then_newest(filled) -> None:
    runs = filled.query_runs(RunQuery(order="latest", limit=None))
    # iteration 2: r5 (newer), r3; iteration 1: r8/r7 (tie on created_at -> id), r2;
    # iteration 0: r1; then runs without iteration, newest first: r6, r4.
    assert ids(runs) == ["r5", "r3", "r8", "r7", "r2", "r1", "r6", "r4"]


def test_order_latest_with_filter_and_limit(filled) -> None:
    assert ids(filled.query_runs(RunQuery(order="latest", model="model_b", limit=1))) == ["r3"]
    assert ids(filled.query_runs(RunQuery(order="latest", year=2030, limit=None))) == [
        "r3",
        "r4",
    ]
    assert ids(filled.query_runs(RunQuery(order="latest", iteration=None, tags=("b",)))) == [
        "r3",
        "r2",
        "r6",
    ]


# --- artifacts ------------------------------------------------------------------------


def _by_key(artifacts: list[Artifact]) -> list[Artifact]:
    return sorted(artifacts, key=lambda a: (a.key, a.id))


def test_get_run_artifacts_splits_inputs_and_outputs(filled) -> None:
    for record in make_records():
        inputs, outputs = filled.get_run_artifacts(record.run.id)
        assert _by_key(inputs) == _by_key(record.inputs)
        assert _by_key(outputs) == _by_key(record.outputs)
    assert filled.get_run_artifacts("nope") == ([], [])


def test_an_artifact_shared_by_two_runs(store) -> None:
    producer, consumer = make_records()[:2]
    shared = producer.outputs[0]
    consumer.inputs = [copy.deepcopy(shared)]
    store.record_runs([producer, consumer])
    assert store.get_run_artifacts("r2")[0] == [shared]
    assert store.get_run_artifacts("r1")[1] == [shared]
    assert store.get_run_artifacts("r2")[1] == consumer.outputs


def test_same_artifact_as_input_and_output_of_one_run(store) -> None:
    record = make_records()[0]
    record.inputs = [copy.deepcopy(record.outputs[0])]
    store.record_runs([record])
    inputs, outputs = store.get_run_artifacts("r1")
    assert inputs == outputs == record.outputs


def test_find_artifacts_by_uri_newest_first(store) -> None:
    producer, consumer = make_records()[:2]
    shared = producer.outputs[0]
    consumer.inputs = [copy.deepcopy(shared)]
    later = artifact("zz", "again", "r2", uri=shared.uri, created_at=ts(9))
    tie = artifact("aa", "tie", "r2", uri=shared.uri, created_at=ts(9))
    consumer.outputs = [*consumer.outputs, later, tie]
    store.record_runs([producer, consumer])
    found = store.find_artifacts_by_uri(shared.uri)
    assert [a.id for a in found] == ["aa", "zz", shared.id]
    assert found[2] == shared
    assert store.find_artifacts_by_uri("./nowhere.csv") == []


# --- both implementations give identical results ----------------------------------------

AGREEMENT_QUERIES = [case.values[0] for case in FILTER_CASES] + [
    RunQuery(order="latest", limit=None),
    RunQuery(order="latest", limit=3),
    RunQuery(order="latest", tags=("sweep",)),
]


@pytest.mark.parametrize("sql_kind", ["duckdb", "postgres"])
def test_both_stores_agree(tmp_path: Path, sql_kind: str, request) -> None:
    memory, duck = make_store("memory", tmp_path), make_store(sql_kind, tmp_path, request)
    records = make_records()
    for target in (memory, duck):
        target.record_runs(records)
        target.record_runs(records[2:5])  # a replayed sync
    assert memory.count_runs() == duck.count_runs()
    for query in AGREEMENT_QUERIES:
        assert memory.query_runs(query) == duck.query_runs(query), query
    for record in records:
        run_id = record.run.id
        assert memory.get_run(run_id) == duck.get_run(run_id)
        mem_in, mem_out = memory.get_run_artifacts(run_id)
        duck_in, duck_out = duck.get_run_artifacts(run_id)
        assert _by_key(mem_in) == _by_key(duck_in)
        assert _by_key(mem_out) == _by_key(duck_out)


@pytest.mark.parametrize("sql_kind", ["duckdb", "postgres"])
def test_both_stores_return_artifacts_in_the_same_order(
    tmp_path: Path, sql_kind: str, request
) -> None:
    memory, duck = make_store("memory", tmp_path), make_store(sql_kind, tmp_path, request)
    record = make_records()[0]
    record.inputs.reverse()  # "zones" before "raw": not key order
    for target in (memory, duck):
        target.record_runs([record])
    assert memory.get_run_artifacts("r1") == duck.get_run_artifacts("r1")
    inputs, _ = duck.get_run_artifacts("r1")
    assert [a.key for a in inputs] == ["raw", "zones"]  # both sort by key


# --- edge cases where the two implementations once diverged ------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_upsert_replaces_the_runs_artifact_links(kind: str, tmp_path: Path, request) -> None:
    store = make_store(kind, tmp_path, request)
    record = make_records()[0]
    store.record_runs([record])
    updated = copy.deepcopy(record)
    updated.inputs = updated.inputs[:1]
    updated.outputs = [artifact("r1-out-v2", "result", "r1")]
    store.record_runs([updated])
    inputs, outputs = store.get_run_artifacts("r1")
    assert _by_key(inputs) == _by_key(updated.inputs)
    assert outputs == updated.outputs


@pytest.mark.parametrize("kind", KINDS)
def test_whole_second_timestamps_round_trip(kind: str, tmp_path: Path, request) -> None:
    store = make_store(kind, tmp_path, request)
    record = make_records()[0]
    record.run.created_at = record.run.started_at = "2024-03-01T12:00:01+00:00"
    record.outputs[0].created_at = "2024-03-01T12:00:02+00:00"
    store.record_runs([record])
    assert store.get_run("r1") == record.run
    assert store.get_run_artifacts("r1")[1] == record.outputs


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_large_integers_match_exactly(kind: str, tmp_path: Path, request) -> None:
    store = make_store(kind, tmp_path, request)
    record = make_records()[0]
    record.run.meta = {"seed": 2**53 + 1}
    store.record_runs([record])
    assert ids(store.query_runs(RunQuery(metadata={"seed": 2**53 + 1}))) == ["r1"]
    assert ids(store.query_runs(RunQuery(metadata={"seed": 2**53}))) == []


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_nested_floats_match(kind: str, tmp_path: Path, request) -> None:
    store = make_store(kind, tmp_path, request)
    record = make_records()[0]
    record.run.meta = {"bounds": [1e-7, 1e20], "scale": {"k": 1e16}}
    store.record_runs([record])
    assert ids(store.query_runs(RunQuery(metadata={"bounds": [1e-7, 1e20]}))) == ["r1"]
    assert ids(store.query_runs(RunQuery(metadata={"scale": {"k": 1e16}}))) == ["r1"]


@pytest.mark.parametrize(
    "kind",
    KINDS,
)
def test_metadata_int_float_beyond_2_53_match_exactly(kind: str, tmp_path: Path, request) -> None:
    store = make_store(kind, tmp_path, request)
    record = make_records()[0]
    record.run.meta = {"int_seed": 2**53 + 1, "float_seed": float(2**53)}
    store.record_runs([record])
    assert ids(store.query_runs(RunQuery(metadata={"int_seed": float(2**53)}))) == []
    assert ids(store.query_runs(RunQuery(metadata={"float_seed": 2**53 + 1}))) == []
    assert ids(store.query_runs(RunQuery(metadata={"float_seed": 2**53}))) == ["r1"]


# --- the rest of the protocol: sessions, catching up, offsets, engine ------------------


def test_every_store_implements_the_whole_protocol(store) -> None:
    members = [name for name in vars(MetadataStore) if not name.startswith("_")]
    assert {"session", "read_session", "catch_up", "journal_offsets", "sql_engine"} <= set(members)
    assert isinstance(store, MetadataStore)
    for name in members:
        assert hasattr(store, name), name


def test_sessions_nest_and_reads_see_the_writes(store) -> None:
    records = make_records()
    with store.session():
        with store.session(blocking=False):
            store.record_runs(records[:2])
        with store.read_session():
            assert store.count_runs() == 2
    with store.read_session():
        with store.read_session():
            assert ids(store.query_runs(RunQuery())) == ["r2", "r1"]
            assert store.get_run("r1") == records[0].run
    assert store.count_runs() == 2


def _journal(tmp_path: Path):
    from consist.persist.journal import PendingJournal

    return PendingJournal(RunLayout(tmp_path / "journal-runs"))


def _decoder(tmp_path: Path) -> RecordDecoder:
    from consist.persist.snapshot import decode_record

    layout = RunLayout(tmp_path / "journal-runs")
    return lambda line: decode_record(line, layout)


def test_catch_up_copies_the_pending_journal_once(store, tmp_path: Path) -> None:
    from consist.persist.snapshot import encode_record

    journal, decode = _journal(tmp_path), _decoder(tmp_path)
    records = make_records()
    running = copy.deepcopy(records[0])
    running.run.status = "running"
    for record in (running, records[0], records[1]):
        journal.append(encode_record(record))
    copied = store.catch_up(journal, decode)
    if not store.journaled:
        # A process-private store never reads the journal: records came in directly.
        assert copied == 0 and store.count_runs() == 0 and store.journal_offsets() == {}
        return
    assert copied == 2
    assert store.get_run("r1").status == "completed"  # the run's last line wins
    assert store.count_runs() == 2
    # Fully consumed, its owner's file is removed and its offset forgotten.
    assert journal.scan({}) == [] and store.journal_offsets() == {}
    assert store.catch_up(journal, decode) == 0


def test_journal_offsets_record_how_far_each_file_was_read(store, tmp_path: Path) -> None:
    import os

    from consist.persist import journal as journal_module
    from consist.persist.snapshot import encode_record

    if not store.journaled:
        pytest.skip("only journaled stores read journals")
    journal, decode = _journal(tmp_path), _decoder(tmp_path)
    pending_dir = tmp_path / "journal-runs" / ".consist" / "pending"
    pending_dir.mkdir(parents=True)
    # A file of another live process (our parent): read, but not removed.
    other = f"{journal_module._HOST}-{os.getppid()}-feedbeef.log"
    line = encode_record(make_records()[2]) + b"\n"
    (pending_dir / other).write_bytes(line + b'{"half a line')
    assert store.catch_up(journal, decode) == 1
    assert store.journal_offsets() == {other: len(line)}
    with store.read_session():
        assert store.journal_offsets() == {other: len(line)}
    assert store.catch_up(journal, decode) == 0


def test_location_engine_and_close(store, tmp_path: Path) -> None:
    if isinstance(store, DuckDBStore):
        assert store.location == str(tmp_path / "store.duckdb")
        store.record_runs(make_records()[:1])
        engine = store.sql_engine()
        assert engine is not None and store.sql_engine() is engine
        from sqlalchemy import text

        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
    elif type(store).__name__ == "PostgresStore":
        assert store.location == store.url  # no password in this URL to mask
        store.record_runs(make_records()[:1])
        engine = store.sql_engine()
        assert engine is not None and store.sql_engine() is engine
        from sqlalchemy import text

        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
    else:
        assert store.location is None and store.sql_engine() is None
    store.close()
    store.close()
    assert store.count_runs() in (0, 1)  # still usable after close


def test_read_only_duckdb_store_never_creates_or_writes(tmp_path: Path) -> None:
    from consist.errors import StoreError

    layout = RunLayout(tmp_path / "runs")
    db_path = tmp_path / "missing.duckdb"
    reader = DuckDBStore(str(db_path), layout=layout, lock_timeout=10, read_only=True)
    assert reader.count_runs() == 0
    assert reader.query_runs(RunQuery()) == []
    assert reader.get_run("r1") is None
    assert reader.get_run_artifacts("r1") == ([], [])
    assert reader.journal_offsets() == {}
    assert reader.sql_engine() is None
    with pytest.raises(StoreError, match="access_mode='read'"):
        reader.record_runs(make_records()[:1])
    with pytest.raises(StoreError, match="access_mode='read'"):
        reader.catch_up(_journal(tmp_path), _decoder(tmp_path))
    assert not db_path.exists() and not (tmp_path / "runs").exists()

    layout.ensure()
    writer = DuckDBStore(str(db_path), layout=layout, lock_timeout=10)
    writer.record_runs(make_records())
    assert ids(reader.query_runs(RunQuery(limit=2))) == ["r8", "r7"]
    assert reader.get_run_artifacts("r1") == writer.get_run_artifacts("r1")


# --- a new store needs no change outside store/ ------------------------------------------


def _services_over(store, tmp_path: Path, access_mode: str = "write"):
    from consist.services import build_services
    from consist.settings import TrackerConfig

    config = TrackerConfig(
        run_dir=tmp_path / "runs", db_path=None, access_mode=access_mode, sync_every_runs=1000
    )
    return build_services(config, store=store)


def test_services_and_sync_run_on_the_toy_store(tmp_path: Path) -> None:
    from consist.persist.snapshot import encode_record, write_snapshot

    toy = ToyStore()
    services = _services_over(toy, tmp_path)
    assert services.store is toy
    sync = services.sync
    records = make_records()
    running = copy.deepcopy(records[0])
    running.run.status = "running"
    sync.journal_started(running, encode_record(running))
    for record in records[:2]:  # as persist/recorder.py ends a miss: snapshot, then journal
        write_snapshot(services.layout, record, update_latest=False)
        sync.journal_ended(record, encode_record(record))
    assert toy.count_runs() == 0  # journaled: nothing reaches the store before a sync

    # A write-mode read copies the pending journal in first, in one write session.
    assert ids(sync.query_runs(RunQuery())) == ["r2", "r1"]
    assert toy.get_run("r1").status == "completed"
    sessions = toy.sessions
    # Nothing pending now: the next reads cost no write session.
    assert ids(sync.query_runs(RunQuery(status="completed"))) == ["r2", "r1"]
    assert toy.sessions == sessions

    sync.journal_progress(records[2], encode_record(records[2]))  # log_*: journaled only
    assert toy.get_run("r3") is None
    assert sync.sync() == 1
    assert toy.get_run("r3") == records[2].run
    # Consuming r3's line materialised its snapshot, beside the two the runs wrote.
    assert sync.rebuild() == 3
    assert toy.count_runs() == 3
    assert toy.get_run("r1").status == "completed"


def test_a_read_only_sync_over_the_toy_store_shows_pending_runs_without_writing(
    tmp_path: Path,
) -> None:
    from consist.errors import RunStateError
    from consist.persist.snapshot import encode_record

    toy = ToyStore()
    records = make_records()
    toy.record_runs(records[:2])
    writer = _services_over(ToyStore(), tmp_path).sync  # journals into the same run_dir
    updated = copy.deepcopy(records[1])
    updated.run.status = "failed"
    for record in (updated, records[2]):
        writer.journal_started(record, encode_record(record))
    pending_dir = tmp_path / "runs" / ".consist" / "pending"
    before = {p.name: p.read_bytes() for p in pending_dir.iterdir()}

    reader = _services_over(toy, tmp_path, access_mode="read").sync
    sessions = toy.sessions
    assert ids(reader.query_runs(RunQuery())) == ["r3", "r2", "r1"]
    assert ids(reader.query_runs(RunQuery(status="failed"))) == ["r2"]
    assert ids(reader.query_runs(RunQuery(status="completed", limit=1))) == ["r3"]
    assert toy.sessions == sessions and toy.count_runs() == 2
    assert {p.name: p.read_bytes() for p in pending_dir.iterdir()} == before
    for write in (reader.sync, reader.rebuild):
        with pytest.raises(RunStateError, match="access_mode='read'"):
            write()
    with pytest.raises(RunStateError, match="access_mode='read'"):
        reader.journal_started(records[3], encode_record(records[3]))


class RecordingSink:
    """A RejectedRecords sink that remembers what it was handed."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, str, str, bytes | None]] = []

    def set_aside(self, run_id, reason, origin, line) -> None:
        self.items.append((run_id, reason, origin, line))


def test_catch_up_sets_aside_unreadable_lines_and_reads_past_them(store, tmp_path: Path) -> None:
    from consist.persist.snapshot import encode_record

    if not store.journaled:
        pytest.skip("only journaled stores read journals")
    journal, decode = _journal(tmp_path), _decoder(tmp_path)
    records = make_records()
    journal.append(encode_record(records[0]))
    journal.append(b'{"run": "not a run"}')
    journal.append(encode_record(records[1]))
    with pytest.raises((ValueError, KeyError, TypeError, AttributeError)):
        store.catch_up(journal, decode)  # without a sink the error propagates
    assert store.count_runs() == 0 and store.journal_offsets() == {}

    sink = RecordingSink()
    assert store.catch_up(journal, decode, rejected=sink) == 2
    assert {run.id for run in store.query_runs(RunQuery())} == {"r1", "r2"}
    [(run_id, reason, origin, line)] = sink.items
    assert run_id is None and line == b'{"run": "not a run"}'
    assert origin.endswith(".log") and reason
    # Read past: the journal is consumed, and nothing is handed over twice.
    assert journal.scan(store.journal_offsets()) == []
    assert store.catch_up(journal, decode, rejected=sink) == 0
    assert len(sink.items) == 1


def test_lineage_lists_the_generations_a_store_indexes(store) -> None:
    if isinstance(store, MemoryStore):
        assert store.lineage() is None  # nothing to heal: it dies with the process
        return
    with store.session():
        found = store.lineage()
        assert found.generations == frozenset() and found.empty
        store.add_generation("g1")
        store.add_generation("g2")
        store.add_generation("g1")
    store.record_runs(make_records()[:1])
    with store.read_session():
        found = store.lineage()
    assert found.generations == {"g1", "g2"} and not found.empty
    assert found.created is None
