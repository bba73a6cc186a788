"""Docker, Apptainer/Singularity and local-process backends of the container executor.

Rules:

* Each backend builds an argument list (``command_line``) and runs it with
  ``subprocess.run`` (injectable as ``runner`` so command construction is testable
  without an engine). Output streams are inherited: a container's log goes where the
  caller's goes.
* The engine executable is looked up on PATH when it is first needed; a missing engine is
  a ContainerError saying which executable was looked for and how to pin a digest.
* Image digests: Docker uses ``docker image inspect --format {{.Id}}`` (the local image
  id, a sha256 of its config); Apptainer uses the content digest of a local ``.sif`` file,
  or the ``@sha256:...`` part of a ``docker://`` / ``oras://`` reference; any other image
  needs ``image_digest=`` pinned in the spec.
* The local-process backend has no images: digests come from the ``images`` mapping it
  was built with, and container paths of volumes (and the working directory) are
  rewritten to their host paths in the command and the environment before it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from consist.errors import ConfigError, ContainerError, invalid_option
from consist.execute.container import ContainerBackend, ContainerExecutor, ContainerSpec
from consist.identity.files import digest_file_uncached

Runner = Callable[..., Any]


def _which(candidates: Sequence[str], engine: str) -> str:
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise ContainerError(
        f"The {engine} engine is not installed: no {' or '.join(repr(c) for c in candidates)} "
        "on PATH.",
        fix=f"Install {engine}, add it to PATH, or choose another backend "
        "(container={'backend': 'docker' | 'apptainer' | 'local', ...}).",
        engine=engine,
    )


class DockerBackend:
    """Runs specs with ``docker run --rm``."""

    name = "docker"

    def __init__(self, executable: str = "docker", runner: Runner = subprocess.run) -> None:
        self.executable = executable
        self.runner = runner

    def command_line(self, spec: ContainerSpec, image_digest: str | None = None) -> list[str]:
        args = [self.executable, "run", "--rm"]
        for volume in spec.volumes:
            suffix = ":ro" if volume.mode == "ro" else ""
            args += ["-v", f"{volume.host}:{volume.container}{suffix}"]
        for key, value in spec.environment:
            args += ["-e", f"{key}={value}"]
        if spec.working_dir:
            args += ["-w", spec.working_dir]
        return [*args, spec.image, *spec.command]

    def resolve_image(self, image: str) -> str:
        exe = _which([self.executable], "Docker")
        done = self.runner(
            [exe, "image", "inspect", "--format", "{{.Id}}", image],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise ContainerError(
                f"Docker cannot inspect the image {image!r}.",
                cause=(done.stderr or "").strip() or None,
                fix=f"docker pull {image}, or pin container={{'image_digest': 'sha256:...'}}.",
                image=image,
            )
        return str(done.stdout).strip()

    def run(self, spec: ContainerSpec, image_digest: str) -> int:
        args = self.command_line(spec, image_digest)
        args[0] = _which([self.executable], "Docker")
        return int(self.runner(args).returncode)


class ApptainerBackend:
    """Runs specs with ``apptainer exec`` (or ``singularity exec``)."""

    name = "apptainer"

    def __init__(
        self,
        executables: Sequence[str] = ("apptainer", "singularity"),
        runner: Runner = subprocess.run,
    ) -> None:
        self.executables = tuple(executables)
        self.runner = runner

    def command_line(self, spec: ContainerSpec, image_digest: str | None = None) -> list[str]:
        args = [self.executables[0], "exec", "--cleanenv"]
        for volume in spec.volumes:
            suffix = ":ro" if volume.mode == "ro" else ""
            args += ["--bind", f"{volume.host}:{volume.container}{suffix}"]
        for key, value in spec.environment:
            args += ["--env", f"{key}={value}"]
        if spec.working_dir:
            args += ["--pwd", spec.working_dir]
        return [*args, spec.image, *spec.command]

    def resolve_image(self, image: str) -> str:
        if "@sha256:" in image:
            return "sha256:" + image.rsplit("@sha256:", 1)[1]
        if os.path.isfile(image):
            return "file:" + digest_file_uncached(image)
        raise ContainerError(
            f"Apptainer image {image!r} is neither a local file nor pinned by digest.",
            fix="Use a .sif file, a docker://repo@sha256:... reference, or pin "
            "container={'image_digest': '...'}.",
            image=image,
        )

    def run(self, spec: ContainerSpec, image_digest: str) -> int:
        args = self.command_line(spec, image_digest)
        args[0] = _which(self.executables, "Apptainer/Singularity")
        return int(self.runner(args).returncode)


class LocalProcessBackend:
    """Runs the command as a host process (no engine): for development and tests.

    Parameters
    ----------
    images:
        Image name -> digest, standing in for a registry; an unknown image is an error.
    """

    name = "local"

    def __init__(
        self, images: Mapping[str, str] | None = None, runner: Runner = subprocess.run
    ) -> None:
        self.images = dict(images or {})
        self.runner = runner

    def resolve_image(self, image: str) -> str:
        digest = self.images.get(image)
        if digest is None:
            raise ContainerError(
                f"The local backend knows no image {image!r} (known: {sorted(self.images)}).",
                fix="Build LocalProcessBackend(images={name: digest}) with it.",
                image=image,
            )
        return digest

    def command_line(self, spec: ContainerSpec, image_digest: str | None = None) -> list[str]:
        return [self._host(arg, spec) for arg in spec.command]

    def run(self, spec: ContainerSpec, image_digest: str) -> int:
        env = {**os.environ, **{k: self._host(v, spec) for k, v in spec.environment}}
        cwd = self._host(spec.working_dir, spec) if spec.working_dir else None
        return int(self.runner(self.command_line(spec), env=env, cwd=cwd).returncode)

    @staticmethod
    def _host(text: str, spec: ContainerSpec) -> str:
        # Longest container path first, so /data/in is rewritten before /data.
        for volume in sorted(spec.volumes, key=lambda v: len(v.container), reverse=True):
            if text == volume.container or text.startswith(volume.container + "/"):
                return volume.host + text[len(volume.container) :]
            text = text.replace(volume.container + "/", volume.host + "/")
        return text


def backend_for(backend: object) -> ContainerBackend:
    """A backend instance for a name (``docker``, ``apptainer``, ``singularity``, ``local``)."""
    if isinstance(backend, str):
        if backend == "docker":
            return DockerBackend()
        if backend in ("apptainer", "singularity"):
            order = (
                ("apptainer", "singularity")
                if backend == "apptainer"
                else ("singularity", "apptainer")
            )
            return ApptainerBackend(order)
        if backend == "local":
            raise ConfigError(
                "backend='local' needs the images it may run.",
                fix="Pass container={'backend': LocalProcessBackend(images={...}), ...}.",
                parameter="container",
            )
        raise invalid_option(
            "container['backend']", backend, ["docker", "apptainer", "singularity"]
        )
    if callable(getattr(backend, "resolve_image", None)) and callable(
        getattr(backend, "run", None)
    ):
        return backend  # type: ignore[return-value]
    raise ConfigError(
        f"container['backend']={backend!r} is not a backend name or a ContainerBackend.",
        fix="Use 'docker', 'apptainer', or an object with resolve_image() and run().",
        parameter="container",
    )


def container_executor(spec: ContainerSpec) -> ContainerExecutor:
    return ContainerExecutor(backend_for(spec.backend))
