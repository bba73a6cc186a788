"""executor='container' through the ContainerBackend protocol, with the local-process
backend (no container engine on test machines): a container run is a pure function of
image digest, command, environment, working directory, volumes and inputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from consist import ConfigError, ExecutionOptions, Tracker
from consist.errors import ContainerError
from consist.integrations.containers import LocalProcessBackend

TOOL = (
    "import os, sys\n"
    "value = int(open(sys.argv[1]).read())\n"
    "open(sys.argv[2], 'w').write(str(value * int(os.environ.get('FACTOR', '2'))))\n"
    "open(os.environ['EXEC_LOG'], 'a').write('ran\\n')\n"
)


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "data.txt").write_text("21")
    return {"in": tmp_path / "in", "out": tmp_path / "out", "log": tmp_path / "exec.log"}


def _run(
    tracker: Tracker,
    paths: dict[str, Path],
    *,
    digest: str = "sha256:aaa",
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    **container: Any,
):
    backend = LocalProcessBackend(images={"tool:1": digest})
    spec = {
        "image": "tool:1",
        "command": [sys.executable, "-c", TOOL, "/in/data.txt", "/out/result.txt", *extra_args],
        "environment": {"EXEC_LOG": str(paths["log"]), **(env or {})},
        "volumes": {paths["in"]: "/in:ro", paths["out"]: "/out"},
        "backend": backend,
        **container,
    }
    return tracker.run(
        name="tool",
        execution_options=ExecutionOptions(executor="container", container=spec),
        output_paths={"result": paths["out"] / "result.txt"},
    )


def _executions(paths: dict[str, Path]) -> int:
    return len(paths["log"].read_text().splitlines()) if paths["log"].exists() else 0


def test_container_runs_are_cached_and_rerun_exactly_when_identity_changes(
    tracker: Tracker, paths: dict[str, Path]
) -> None:
    first = _run(tracker, paths)
    assert not first.cache_hit and _executions(paths) == 1
    assert (paths["out"] / "result.txt").read_text() == "42"
    assert set(first.outputs) == {"result", "volume:/out"}
    assert "volume:/in" in tracker.get_run_inputs(first.run.id)

    hit = _run(tracker, paths)
    assert hit.cache_hit and _executions(paths) == 1

    new_image = _run(tracker, paths, digest="sha256:bbb")
    assert not new_image.cache_hit and _executions(paths) == 2
    assert "container.image_digest" in tracker.explain(new_image.run.id).summary

    new_command = _run(tracker, paths, digest="sha256:bbb", extra_args=("--verbose",))
    assert not new_command.cache_hit and _executions(paths) == 3
    assert "container.command" in tracker.explain(new_command.run.id).summary

    (paths["in"] / "data.txt").write_text("5")
    new_input = _run(tracker, paths, digest="sha256:bbb", extra_args=("--verbose",))
    assert not new_input.cache_hit and _executions(paths) == 4
    assert "volume:/in" in tracker.explain(new_input.run.id).summary
    assert (paths["out"] / "result.txt").read_text() == "10"

    unchanged = _run(tracker, paths, digest="sha256:bbb", extra_args=("--verbose",))
    assert unchanged.cache_hit and _executions(paths) == 4


def test_environment_and_working_dir_are_identity(tracker: Tracker, paths: dict[str, Path]) -> None:
    _run(tracker, paths)
    env = _run(tracker, paths, env={"FACTOR": "3"})
    assert not env.cache_hit and (paths["out"] / "result.txt").read_text() == "63"
    workdir = _run(tracker, paths, env={"FACTOR": "3"}, working_dir="/out")
    assert not workdir.cache_hit
    assert "container.working_dir" in tracker.explain(workdir.run.id).summary


def test_a_pinned_image_digest_needs_no_engine_lookup(
    tracker: Tracker, paths: dict[str, Path]
) -> None:
    # The backend knows no such digest mapping entry, but the spec pins it.
    result = _run(tracker, paths, digest="ignored", image_digest="sha256:pinned")
    assert result.run.id and _executions(paths) == 1
    record = tracker.get_run_record(result.run.id)
    assert record.config["container"]["image_digest"] == "sha256:pinned"


def test_a_failing_container_fails_the_run(tracker: Tracker, paths: dict[str, Path]) -> None:
    (paths["in"] / "data.txt").write_text("not a number")
    with pytest.raises(ContainerError, match="exited with status 1") as caught:
        _run(tracker, paths)
    assert isinstance(caught.value, RuntimeError)
    failed = tracker.find_runs(model="tool")
    assert [run.status for run in failed] == ["failed"]


def test_container_runs_need_output_paths_and_a_spec(tracker: Tracker) -> None:
    options = ExecutionOptions(
        executor="container", container={"image": "x", "command": ["true"], "backend": "docker"}
    )
    with pytest.raises(ValueError, match="output_paths"):
        tracker.run(name="x", execution_options=options)
    with pytest.raises(ConfigError, match="fn"):
        tracker.run(name="x")
    with pytest.raises(ValueError, match="executor"):
        ExecutionOptions(executor="kubernetes")
    with pytest.raises(ConfigError, match="unknown keys"):
        tracker.run(
            name="x",
            execution_options=ExecutionOptions(executor="container", container={"img": "x"}),
            output_paths={"a": "a.txt"},
        )


def test_an_unknown_local_image_is_a_clear_error(tracker: Tracker, paths: dict[str, Path]) -> None:
    backend = LocalProcessBackend(images={})
    options = ExecutionOptions(
        executor="container",
        container={"image": "tool:9", "command": ["true"], "backend": backend},
    )
    with pytest.raises(ContainerError, match="no image 'tool:9'"):
        tracker.run(name="x", execution_options=options, output_paths={"a": paths["out"]})
