"""Artifact lookups as users pass them -> checked store queries, and their result shapes.

Rules: every filter is an exact match on a bound value (``%``, ``_`` and quotes are
data); a run filter takes a run id or a :class:`Run`; ``key_or_id`` is tried as an
artifact id first (a :class:`uuid.UUID` or a dashed UUID string is turned into the
32-hex form Consist records), then as a key, where the newest artifact with that key
wins. A wrong type raises ConfigError naming the parameter.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from consist.errors import ConfigError, QueryError, invalid_option
from consist.model.artifact import Artifact
from consist.model.run import Run
from consist.query.runs import check_limit
from consist.store.links import ArtifactQuery

DIRECTIONS = ["output", "input"]


@dataclass(frozen=True, slots=True)
class RunArtifacts:
    """A run's artifacts by key: ``inputs`` and ``outputs`` (what get_artifacts_for_run returns)."""

    inputs: dict[str, Artifact] = field(default_factory=dict)
    outputs: dict[str, Artifact] = field(default_factory=dict)


def run_id_of(value: object, parameter: str) -> str | None:
    """The run id of a ``creator=`` / ``consumer=`` / ``run_id=`` value (str or Run)."""
    if value is None:
        return None
    if isinstance(value, Run):
        return value.id
    if isinstance(value, str) and value:
        return value
    raise ConfigError(
        f"{parameter}={value!r} must be a run id (a non-empty str) or a Run.",
        fix=f"Pass {parameter}=run.id.",
        parameter=parameter,
    )


def build_artifact_query(
    *, creator: object = None, consumer: object = None, key: object = None, limit: object = 100
) -> ArtifactQuery:
    """The store query of ``find_artifacts``; the first bad filter raises ConfigError."""
    if key is not None and not isinstance(key, str):
        raise ConfigError(
            f"key={key!r} must be a str (matched exactly).",
            fix="Pass key='households'.",
            parameter="key",
        )
    return ArtifactQuery(
        key=key,
        creator=run_id_of(creator, "creator"),
        consumer=run_id_of(consumer, "consumer"),
        limit=check_limit(limit),
    )


def id_candidates(key_or_id: object) -> tuple[list[str], str | None]:
    """(artifact ids to try, key to try) for a ``key_or_id`` argument."""
    if isinstance(key_or_id, uuid.UUID):
        return [key_or_id.hex], None
    if not isinstance(key_or_id, str) or not key_or_id:
        raise ConfigError(
            f"key_or_id={key_or_id!r} must be an artifact key or id (a non-empty str or UUID).",
            fix="Pass the artifact's key (e.g. 'households') or its id.",
            parameter="key_or_id",
        )
    ids = [key_or_id]
    try:
        dashed = uuid.UUID(key_or_id)
    except ValueError:
        pass
    else:
        if dashed.hex != key_or_id:
            ids.append(dashed.hex)
    return ids, key_or_id


def find_artifact(
    query_artifacts: Callable[[ArtifactQuery], list[Artifact]],
    key_or_id: object,
    run_id: object = None,
) -> Artifact | None:
    """An artifact by id or key (see the module doc), optionally linked to ``run_id``."""
    ids, key = id_candidates(key_or_id)
    linked = run_id_of(run_id, "run_id")
    for artifact_id in ids:
        found = query_artifacts(ArtifactQuery(artifact_id=artifact_id, run_id=linked, limit=1))
        if found:
            return found[0]
    if key is None:
        return None
    found = query_artifacts(ArtifactQuery(key=key, run_id=linked, limit=1))
    return found[0] if found else None


def pick_run_artifact(
    artifacts: RunArtifacts, key: object, key_contains: object, direction: object
) -> Artifact | None:
    """``get_run_artifact``: the artifact of exact ``key``, else the first key (sorted)
    containing ``key_contains``, else the run's only artifact in ``direction``; None
    when nothing matches. Several artifacts and no key is an error, not a guess."""
    if direction not in DIRECTIONS:
        raise invalid_option("direction", direction, DIRECTIONS)
    for name, value in (("key", key), ("key_contains", key_contains)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"{name}={value!r} must be a str.", fix=f"Pass {name}='...'.", parameter=name
            )
    by_key = artifacts.outputs if direction == "output" else artifacts.inputs
    if key is not None:
        return by_key.get(str(key))
    if key_contains is not None:
        matches = sorted(k for k in by_key if str(key_contains) in k)
        return by_key[matches[0]] if matches else None
    if len(by_key) > 1:
        raise QueryError(
            f"The run has {len(by_key)} {direction} artifacts ({', '.join(sorted(by_key))}).",
            fix="Pass key='...' or key_contains='...' to choose one.",
        )
    return next(iter(by_key.values()), None)
