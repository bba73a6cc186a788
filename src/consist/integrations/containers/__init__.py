"""Container backends for ``executor='container'`` runs: Docker, Apptainer/Singularity and
a local-process backend (no engine: the command runs on the host with volume paths
rewritten; for development and tests).

>>> from consist.integrations.containers import DockerBackend, ApptainerBackend  # doctest: +SKIP
"""

from consist.execute.container import ContainerBackend, ContainerExecutor, ContainerSpec, Volume
from consist.integrations.containers.backends import (
    ApptainerBackend,
    DockerBackend,
    LocalProcessBackend,
    backend_for,
    container_executor,
)

__all__ = [
    "ApptainerBackend",
    "ContainerBackend",
    "ContainerExecutor",
    "ContainerSpec",
    "DockerBackend",
    "LocalProcessBackend",
    "Volume",
    "backend_for",
    "container_executor",
]
