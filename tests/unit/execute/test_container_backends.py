"""Docker and Apptainer backends: command construction and error paths, without an engine."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from consist import ConfigError
from consist.errors import ContainerError
from consist.execute.container import ContainerSpec
from consist.integrations.containers import (
    ApptainerBackend,
    DockerBackend,
    backend_for,
)


def _spec(tmp_path: Path, **extra: Any) -> ContainerSpec:
    return ContainerSpec.parse({
        "image": "ghcr.io/org/model:2.1",
        "command": ["python", "run.py", "--year", "2030"],
        "environment": {"THREADS": "4", "A": "1"},
        "working_dir": "/work",
        "volumes": {tmp_path / "in": "/in:ro", tmp_path / "out": {"bind": "/out", "mode": "rw"}},
        **extra,
    })  # fmt: skip


def test_docker_command_line(tmp_path: Path) -> None:
    args = DockerBackend().command_line(_spec(tmp_path))
    assert args == [
        "docker", "run", "--rm",
        "-v", f"{tmp_path / 'in'}:/in:ro", "-v", f"{tmp_path / 'out'}:/out",
        "-e", "A=1", "-e", "THREADS=4",
        "-w", "/work",
        "ghcr.io/org/model:2.1", "python", "run.py", "--year", "2030",
    ]  # fmt: skip


def test_apptainer_command_line(tmp_path: Path) -> None:
    args = ApptainerBackend().command_line(_spec(tmp_path))
    assert args == [
        "apptainer", "exec", "--cleanenv",
        "--bind", f"{tmp_path / 'in'}:/in:ro", "--bind", f"{tmp_path / 'out'}:/out",
        "--env", "A=1", "--env", "THREADS=4",
        "--pwd", "/work",
        "ghcr.io/org/model:2.1", "python", "run.py", "--year", "2030",
    ]  # fmt: skip


def test_a_missing_engine_is_a_clear_error(tmp_path: Path) -> None:
    docker = DockerBackend(executable="consist-no-such-docker")
    with pytest.raises(ContainerError, match="Docker engine is not installed") as caught:
        docker.resolve_image("x:1")
    assert "consist-no-such-docker" in str(caught.value) and isinstance(caught.value, RuntimeError)
    with pytest.raises(ContainerError, match="not installed"):
        docker.run(_spec(tmp_path), "sha256:1")
    apptainer = ApptainerBackend(executables=("consist-no-apptainer", "consist-no-singularity"))
    with pytest.raises(ContainerError, match="Apptainer/Singularity engine is not installed"):
        apptainer.run(_spec(tmp_path), "sha256:1")


def test_docker_image_digest_through_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def runner(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        ok = args[-1] == "known:1"
        return subprocess.CompletedProcess(args, 0 if ok else 1, "sha256:abc\n" if ok else "",
                                           "" if ok else "No such image")  # fmt: skip

    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    backend = DockerBackend(runner=runner)
    assert backend.resolve_image("known:1") == "sha256:abc"
    assert calls[0] == ["/usr/bin/docker", "image", "inspect", "--format", "{{.Id}}", "known:1"]
    with pytest.raises(ContainerError, match="docker pull missing:2") as caught:
        backend.resolve_image("missing:2")
    assert "No such image" in str(caught.value)


def test_docker_run_returns_the_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/opt/{name}")
    seen: list[list[str]] = []

    def runner(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(args)
        return subprocess.CompletedProcess(args, 3)

    assert DockerBackend(runner=runner).run(_spec(tmp_path), "sha256:1") == 3
    assert seen[0][0] == "/opt/docker" and seen[0][-1] == "2030"


def test_apptainer_image_digests(tmp_path: Path) -> None:
    backend = ApptainerBackend()
    sif = tmp_path / "model.sif"
    sif.write_bytes(b"image-bytes")
    digest = backend.resolve_image(str(sif))
    assert digest.startswith("file:")
    sif.write_bytes(b"other-bytes")
    assert backend.resolve_image(str(sif)) != digest
    assert backend.resolve_image("docker://org/model@sha256:feed") == "sha256:feed"
    with pytest.raises(ContainerError, match="neither a local file nor pinned"):
        backend.resolve_image("docker://org/model:latest")


def test_backend_names() -> None:
    assert isinstance(backend_for("docker"), DockerBackend)
    singularity = backend_for("singularity")
    assert isinstance(singularity, ApptainerBackend)
    assert singularity.executables[0] == "singularity"
    with pytest.raises(ConfigError, match="container\\['backend'\\]"):
        backend_for("podman")
    with pytest.raises(ConfigError, match="LocalProcessBackend"):
        backend_for("local")


@pytest.mark.parametrize(
    ("container", "message"),
    [
        ("image:1", "ContainerSpec or a mapping"),
        ({"command": ["x"]}, "image"),
        ({"image": "x", "command": []}, "command"),
        ({"image": "x", "command": ["a"], "environment": ["A=1"]}, "environment"),
        ({"image": "x", "command": ["a"], "volumes": {"/h": "relative"}}, "volume"),
        ({"image": "x", "command": ["a"], "volumes": {"/h": "/c:rx"}}, "volume"),
    ],
)
def test_bad_specs_are_refused(container: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ContainerSpec.parse(container)


def test_identity_leaves_host_paths_out(tmp_path: Path) -> None:
    identity = _spec(tmp_path).identity("sha256:1")
    assert identity["volumes"] == [["/in", "ro"], ["/out", "rw"]]
    assert str(tmp_path) not in repr(identity)
