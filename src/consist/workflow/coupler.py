"""Coupler: artifacts handed from step to step of a scenario, by key.

Rules: a coupler holds recorded :class:`~consist.Artifact` objects only (never bare
paths), because an Artifact carries the signature of the run that produced it; a step
that takes one as an input gets an identity chained to its producer (Merkle link), so
a changed upstream step invalidates everything downstream of it and nothing else.
Every output of a scenario step is set under its key when the step ends (a later step's
output replaces an earlier one of the same key). Keys follow the artifact key rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from consist.errors import ConfigError, MissingInputError
from consist.model.artifact import Artifact


class Coupler:
    """Artifacts by key, shared by the steps of a scenario.

    Parameters
    ----------
    artifacts:
        Initial artifacts (e.g. outputs of an earlier scenario), key -> Artifact.

    Examples
    --------
    >>> with tracker.scenario("baseline") as sc:  # doctest: +SKIP
    ...     sc.run(fn=make_population, outputs=["population"])
    ...     sc.run(fn=simulate, inputs={"population": sc.coupler.require("population")})
    """

    __slots__ = ("_artifacts",)

    def __init__(self, artifacts: Mapping[str, Artifact] | None = None) -> None:
        self._artifacts: dict[str, Artifact] = {}
        if artifacts is not None:
            self.update(artifacts)

    def set(self, key: str, artifact: Artifact) -> Artifact:
        """Hand ``artifact`` on under ``key`` (replacing an earlier one); return it."""
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"Coupler key {key!r} must be a non-empty string.",
                fix="Use the output key, e.g. coupler.set('population', artifact).",
                parameter="key",
            )
        if not isinstance(artifact, Artifact):
            raise ConfigError(
                f"Coupler.set({key!r}, ...) got {type(artifact).__name__} {artifact!r}; "
                "a coupler holds recorded Artifacts.",
                cause="A bare path carries no producer, so the next step's identity would "
                "not chain to the step that wrote it.",
                fix="Log the file first (tracker.log_output / a step's outputs) and pass "
                "the Artifact it returns.",
                parameter="artifact",
            )
        self._artifacts[key] = artifact
        return artifact

    def update(self, artifacts: Mapping[str, Artifact]) -> None:
        """Set every ``key -> Artifact`` of ``artifacts``."""
        if not isinstance(artifacts, Mapping):
            raise ConfigError(
                f"Coupler.update needs a mapping of key -> Artifact, got "
                f"{type(artifacts).__name__}.",
                fix="Pass e.g. result.outputs.",
                parameter="artifacts",
            )
        for key, artifact in artifacts.items():
            self.set(key, artifact)

    def get(self, key: str, default: Artifact | None = None) -> Artifact | None:
        """The artifact under ``key``, or ``default``."""
        return self._artifacts.get(key, default)

    def require(self, key: str) -> Artifact:
        """The artifact under ``key``; a MissingInputError naming the keys held if absent."""
        found = self._artifacts.get(key)
        if found is None:
            held = ", ".join(repr(k) for k in sorted(self._artifacts)) or "none"
            raise MissingInputError(
                f"The coupler holds no artifact {key!r} (it holds: {held}).",
                fix="Run the step that produces it first, or coupler.set() it.",
                parameter="key",
                value=key,
            )
        return found

    def path(self, key: str) -> Path:
        """Local path of the artifact under ``key`` (see :meth:`require`)."""
        return self.require(key).path

    def missing(self, keys: Iterator[str] | list[str] | tuple[str, ...]) -> list[str]:
        """The keys of ``keys`` this coupler does not hold, in the order given."""
        return [key for key in keys if key not in self._artifacts]

    def keys(self) -> list[str]:
        """Keys held, in the order they were first set."""
        return list(self._artifacts)

    def items(self) -> list[tuple[str, Artifact]]:
        """``(key, Artifact)`` pairs held."""
        return list(self._artifacts.items())

    def __getitem__(self, key: str) -> Artifact:
        return self.require(key)

    def __contains__(self, key: object) -> bool:
        return key in self._artifacts

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._artifacts))

    def __len__(self) -> int:
        return len(self._artifacts)

    def __repr__(self) -> str:
        return f"Coupler({sorted(self._artifacts)})"
