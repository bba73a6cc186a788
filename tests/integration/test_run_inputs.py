"""End-to-end tests of Tracker.run inputs: mappings, lists, artifacts, depends_on, identity_inputs."""

from pathlib import Path

from run_helpers import write_out

from consist import (
    RunResult,
    Tracker,
)


def test_inputs_as_mapping_are_bound_and_recorded(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "households.csv").write_text("id\n1\n")
    seen = {}

    def step(households: Path) -> None:
        seen["households"] = households

    result = tracker.run(fn=step, inputs={"households": Path("households.csv")})

    assert seen["households"] == tmp_path / "households.csv"
    record = tracker.get_run_record(result.run.id)
    inputs = record.inputs_by_key()
    assert set(inputs) == {"households"}
    assert inputs["households"].path == tmp_path / "households.csv"
    assert inputs["households"].hash


def test_inputs_as_list_of_paths(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.txt").write_text("hello")

    def step() -> None:
        return None

    result = tracker.run(fn=step, inputs=[Path("a.csv"), str(tmp_path / "b.txt")])

    record = tracker.get_run_record(result.run.id)
    assert {a.path for a in record.inputs} == {tmp_path / "a.csv", tmp_path / "b.txt"}


def test_inputs_list_with_same_basename_records_both(tracker: Tracker, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "data.csv").write_text("x\n1\n")
    (tmp_path / "b" / "data.csv").write_text("x\n2\n")

    def step() -> None:
        return None

    result = tracker.run(fn=step, inputs=[Path("a/data.csv"), Path("b/data.csv")])

    record = tracker.get_run_record(result.run.id)
    assert {a.path for a in record.inputs} == {
        tmp_path / "a" / "data.csv",
        tmp_path / "b" / "data.csv",
    }


def test_inputs_as_artifact_from_earlier_run(tracker: Tracker) -> None:
    def produce() -> Path:
        return write_out("table", "payload")

    seen = {}

    def consume(table: Path) -> None:
        seen["text"] = table.read_text()

    upstream = tracker.run(fn=produce, outputs=["table"])
    artifact = upstream.outputs["table"]
    downstream = tracker.run(fn=consume, inputs={"table": artifact})
    as_list = tracker.run(fn=consume, name="consume_list", inputs=[artifact])

    assert seen["text"] == "payload"
    recorded = tracker.get_run_record(downstream.run.id).inputs_by_key()["table"]
    assert recorded.run_id == upstream.run.id
    assert recorded.producer_signature == upstream.run.signature
    assert set(tracker.get_run_record(as_list.run.id).inputs_by_key()) == {"table"}


def test_depends_on_is_part_of_identity(tracker: Tracker, tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("a: 1\n")
    calls = []

    def step() -> None:
        calls.append(1)

    first = tracker.run(fn=step, depends_on=[settings])
    same = tracker.run(fn=step, depends_on=[settings])
    settings.write_text("a: 2\n")
    changed = tracker.run(fn=step, depends_on=[settings])

    assert (first.cache_hit, same.cache_hit, changed.cache_hit) == (False, True, False)
    assert len(calls) == 2


def test_identity_inputs_change_signature_but_are_not_inputs(
    tracker: Tracker, tmp_path: Path
) -> None:
    cfg_file = tmp_path / "model.yaml"
    cfg_file.write_text("x: 1\n")
    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    (cfg_dir / "a.yaml").write_text("a\n")
    calls = []

    def step() -> None:
        calls.append(1)

    def run() -> RunResult:
        return tracker.run(fn=step, identity_inputs=[cfg_file, ("asim_config", cfg_dir)])

    first = run()
    assert tracker.get_run_record(first.run.id).inputs == []
    assert run().cache_hit

    (cfg_dir / "b.yaml").write_text("new file in the directory\n")
    after_dir_change = run()
    assert not after_dir_change.cache_hit
    assert after_dir_change.run.input_hash != first.run.input_hash

    cfg_file.write_text("x: 2\n")
    after_file_change = run()
    assert not after_file_change.cache_hit
    assert len(calls) == 3


def test_identity_inputs_as_plain_path_list(tracker: Tracker, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("1")

    def step() -> None:
        return None

    without = tracker.run(fn=step)
    with_identity = tracker.run(fn=step, identity_inputs=[str(cfg)])

    assert not with_identity.cache_hit
    assert with_identity.run.signature != without.run.signature
    assert tracker.get_run_record(with_identity.run.id).inputs == []
