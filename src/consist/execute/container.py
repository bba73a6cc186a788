"""The container executor: an image + command run as a pure function of its inputs.

Rules:

* Identity. A container run's config gains ``{"container": {image, image_digest,
  command, environment, working_dir, volumes}}`` where volumes are listed by their
  container path and mode (host paths are machine-local and stay out of identity). The
  image digest is the backend's (``docker image inspect`` Id, a ``.sif`` file's content
  digest...) unless the spec pins ``image_digest``. Code identity is the image: unless
  the user sets ``code_identity``, the calling repository's git state is not used.
* Volumes. A read-only volume (``mode="ro"``) is an input named ``volume:<container
  path>``: its content digest is part of the identity and it is recorded as an input
  artifact. A read-write volume is where results appear: it is recorded as an output
  artifact ``volume:<container path>`` after the run; it is not hashed before the run
  (it holds the previous results, which would make every run a miss).
* Backends implement :class:`ContainerBackend`; Docker and Apptainer/Singularity live in
  ``consist.integrations.containers``. A missing engine is a ContainerError naming it.
* A non-zero exit status fails the run with a ContainerError (a RuntimeError).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from consist.errors import ConfigError, ContainerError
from consist.identity.inputs import ResolvedInput, iter_named_refs
from consist.options import CodeIdentityMode
from consist.request.spec import RunRequest


@dataclass(frozen=True, slots=True)
class Volume:
    """A host directory or file mounted at ``container`` (``mode`` ``"ro"`` or ``"rw"``)."""

    host: str
    container: str
    mode: str = "rw"


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """What to run: image, command, environment, working directory and volumes.

    ``backend`` is ``"docker"`` (default), ``"apptainer"``, ``"singularity"``, ``"local"``
    or a :class:`ContainerBackend` instance.
    """

    image: str
    command: tuple[str, ...]
    environment: tuple[tuple[str, str], ...] = ()
    working_dir: str | None = None
    volumes: tuple[Volume, ...] = ()
    backend: Any = "docker"
    image_digest: str | None = None

    @classmethod
    def parse(cls, value: object) -> ContainerSpec:
        """A ContainerSpec from itself or a mapping of its fields (volumes as a mapping
        ``{host: container}`` / ``{host: "container:ro"}`` / ``{host: {"bind", "mode"}}``)."""
        if isinstance(value, ContainerSpec):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"execution_options.container={value!r} must be a ContainerSpec or a mapping.",
                fix="Pass container={'image': 'repo/tool:1.0', 'command': ['run', ...], ...}.",
                parameter="container",
            )
        unknown = set(value) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(
                f"container has unknown keys {sorted(unknown)}.",
                fix="Use image, command, environment, working_dir, volumes, backend, image_digest.",
                parameter="container",
            )
        image = value.get("image")
        if not isinstance(image, str) or not image:
            raise ConfigError(
                f"container['image']={image!r} must be a non-empty image name.",
                fix="Pass container={'image': 'repo/tool:1.0', ...}.",
                parameter="container",
            )
        command = value.get("command")
        if isinstance(command, str):
            command = command.split()
        if not isinstance(command, (list, tuple)) or not command:
            raise ConfigError(
                f"container['command']={command!r} must be a non-empty list of arguments.",
                fix="Pass command=['python', 'model.py', '--year', '2030'].",
                parameter="container",
            )
        env = value.get("environment") or {}
        if not isinstance(env, Mapping):
            raise ConfigError(
                f"container['environment']={env!r} must be a mapping of names to values.",
                fix="Pass environment={'THREADS': '4'}.",
                parameter="container",
            )
        return cls(
            image=image,
            command=tuple(str(arg) for arg in command),
            environment=tuple(sorted((str(k), str(v)) for k, v in env.items())),
            working_dir=value.get("working_dir"),
            volumes=_volumes(value.get("volumes") or {}),
            backend=value.get("backend", "docker"),
            image_digest=value.get("image_digest"),
        )

    def identity(self, image_digest: str) -> dict[str, Any]:
        """The container's part of the run config (see the module rules)."""
        return {
            "image": self.image,
            "image_digest": image_digest,
            "command": list(self.command),
            "environment": dict(self.environment),
            "working_dir": self.working_dir,
            "volumes": sorted([v.container, v.mode] for v in self.volumes),
        }


def _volumes(value: object) -> tuple[Volume, ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"container['volumes']={value!r} must map host paths to container paths.",
            fix="Pass volumes={'data/in': '/in:ro', 'data/out': '/out'}.",
            parameter="container",
        )
    volumes = []
    for host, target in value.items():
        mode = "rw"
        if isinstance(target, Mapping):
            mode = str(target.get("mode", "rw"))
            target = target.get("bind")
        if isinstance(target, str) and target.endswith((":ro", ":rw")):
            target, mode = target[:-3], target[-2:]
        valid = isinstance(target, str) and target.startswith("/") and ":" not in target
        if not valid or mode not in ("ro", "rw"):
            raise ConfigError(
                f"container volume {host!r} -> {target!r} (mode {mode!r}) is not valid.",
                fix="Map a host path to an absolute container path (no ':'), optionally "
                "with ':ro' / ':rw'.",
                parameter="container",
            )
        volumes.append(Volume(os.path.abspath(os.fspath(host)), target, mode))
    return tuple(sorted(volumes, key=lambda v: v.container))


class ContainerBackend(Protocol):
    """A container engine: resolves image digests and runs a spec."""

    @property
    def name(self) -> str: ...

    def resolve_image(self, image: str) -> str:
        """The content digest of ``image`` (ContainerError if the engine or image is missing)."""
        ...

    def run(self, spec: ContainerSpec, image_digest: str) -> int:
        """Run ``spec`` to completion; return the exit status."""
        ...


class ContainerExecutor:
    """The Executor of ``executor='container'`` runs, over one ContainerBackend."""

    def __init__(self, backend: ContainerBackend) -> None:
        self.backend = backend
        self._digest: str | None = None

    def prepare(self, request: RunRequest) -> RunRequest:
        """The request with the container's identity, volume inputs and volume outputs."""
        spec: ContainerSpec = request.container
        digest = spec.image_digest or self.backend.resolve_image(spec.image)
        self._digest = digest
        config = request.config
        if config is None:
            config = {}
        if not isinstance(config, Mapping) or "container" in config:
            raise ConfigError(
                "A container run's config must be a mapping without a 'container' key "
                "(Consist adds the container's identity under it).",
                fix="Rename the key, or pass config as a dict.",
                parameter="config",
            )
        inputs = list(iter_named_refs(request.inputs, "inputs"))
        inputs += [(f"volume:{v.container}", v.host) for v in spec.volumes if v.mode == "ro"]
        outputs = dict(request.output.paths or {})
        outputs.update({f"volume:{v.container}": v.host for v in spec.volumes if v.mode == "rw"})
        for volume in spec.volumes:
            if volume.mode == "rw":
                os.makedirs(volume.host, exist_ok=True)
        cache = request.cache
        if cache.code_identity is None:  # the image is the code, not the caller's repository
            cache = dataclasses.replace(cache, code_identity=CodeIdentityMode.CALLABLE_MODULE)
        return dataclasses.replace(
            request,
            config={**config, "container": spec.identity(digest)},
            inputs=inputs or None,
            output=dataclasses.replace(request.output, paths=outputs),
            cache=cache,
        )

    def check(self, request: RunRequest) -> None:
        if request.container is None:
            raise ConfigError(
                "executor='container' needs execution_options.container.",
                fix="Pass ExecutionOptions(executor='container', container={...}).",
                parameter="container",
            )

    def execute(self, request: RunRequest, inputs: Sequence[ResolvedInput]) -> Any:
        spec: ContainerSpec = request.container
        digest = self._digest or spec.image_digest or self.backend.resolve_image(spec.image)
        status = self.backend.run(spec, digest)
        if status != 0:
            raise ContainerError(
                f"The container {spec.image!r} ({self.backend.name}) exited with status "
                f"{status} running {list(spec.command)!r}.",
                fix="Read the container's output above; fix the command or its inputs.",
                run_id=request.run_id,
                status=status,
            )
        return None
