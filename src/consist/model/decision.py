"""Cache decisions as data: why a run reused a cached result or executed.

Every run records one :class:`CacheDecision` (``Run.cache_decision`` holds its JSON
form, persisted in the snapshot and the ``runs.cache_decision`` column). The record
is built by ``cache/explain.py``; this module only defines its shape, which is a
persisted contract: ``to_dict`` writes JSON-native values only (lists, never tuples), so
a snapshot round-trip and a store read-back compare equal, and leaves out keys that hold
their default (None, empty, 0): every run row carries one, and SQL reads a missing key
as NULL just like a null one (``cache_decision->>'missing_key'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CacheOutcome(StrEnum):
    """What the cache lookup decided for a run.

    HIT: a completed run with the same signature was reused; the function did not run
        (``trace`` bodies still execute). ``matched_run_id`` names the reused run.
    MISS: no completed run has this signature, so the function ran. ``changes`` says
        which identity components differ from the nearest earlier run of the step.
    OVERWRITE: ``cache_mode='overwrite'``: the cache was not consulted; the function
        ran and its result became the newest cache entry.
    DEMOTED: a completed run with the same signature exists, but one of its cached
        outputs is missing, so it could not be reused and the function ran again.
    """

    HIT = "hit"
    MISS = "miss"
    OVERWRITE = "overwrite"
    DEMOTED = "demoted"


class DemotionReason(StrEnum):
    """Why a matched run's outputs could not be reused (outcome DEMOTED).

    MISSING: a cached output file is gone and no recorded copy of its bytes was found.
    CHANGED: ``validate_cached_outputs='strict'``: a cached output's bytes no longer have
        the digest recorded when it was produced.
    """

    MISSING = "missing"
    CHANGED = "changed"


class IdentityComponent(StrEnum):
    """One component of a run's identity, as named in a cache miss reason.

    CODE: the code digest, or the code identity mode, changed.
    CONFIG: config keys were added, removed or changed.
    INPUTS: entries of ``inputs`` were added, removed or changed content (or producer).
    DEPENDS_ON: entries of ``depends_on`` were added, removed or changed.
    IDENTITY_INPUTS: entries of ``identity_inputs`` were added, removed or changed.
    MODEL: the model name differs.
    YEAR: the year differs.
    ITERATION: the iteration differs.
    CACHE_VERSION: ``cache_version`` was changed.
    CACHE_EPOCH: ``cache_epoch`` was changed.
    """

    CODE = "code"
    CONFIG = "config"
    INPUTS = "inputs"
    DEPENDS_ON = "depends_on"
    IDENTITY_INPUTS = "identity_inputs"
    MODEL = "model"
    YEAR = "year"
    ITERATION = "iteration"
    CACHE_VERSION = "cache_version"
    CACHE_EPOCH = "cache_epoch"


Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class ComponentChange:
    """How one identity component differs from the run it was compared with.

    ``added`` / ``removed`` / ``changed`` name dotted config keys (CONFIG) or input
    names (INPUTS, DEPENDS_ON, IDENTITY_INPUTS); each list is capped, and ``omitted``
    counts the names left out. ``before`` / ``after`` hold the earlier and current value
    of MODEL, YEAR, ITERATION, CACHE_VERSION and CACHE_EPOCH (digests are not repeated:
    both runs' identities hold them). ``detail`` is one human phrase, e.g.
    ``"code_mode 'repo_git' -> 'callable_module'"``.
    """

    component: IdentityComponent
    before: Scalar = None
    after: Scalar = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    omitted: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"component": self.component.value}
        if self.before is not None or self.after is not None:
            data["before"] = self.before
            data["after"] = self.after
        if self.added:
            data["added"] = list(self.added)
        if self.removed:
            data["removed"] = list(self.removed)
        if self.changed:
            data["changed"] = list(self.changed)
        if self.omitted:
            data["omitted"] = self.omitted
        if self.detail:
            data["detail"] = self.detail
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComponentChange:
        return cls(
            component=IdentityComponent(data["component"]),
            before=data.get("before"),
            after=data.get("after"),
            added=tuple(data.get("added") or ()),
            removed=tuple(data.get("removed") or ()),
            changed=tuple(data.get("changed") or ()),
            omitted=int(data.get("omitted") or 0),
            detail=str(data.get("detail") or ""),
        )


@dataclass(frozen=True, slots=True)
class CacheDecision:
    """Why a run was a cache hit, or why it executed.

    Attributes
    ----------
    outcome: HIT, MISS, OVERWRITE or DEMOTED (see :class:`CacheOutcome`).
    summary: one human-readable line, e.g. ``"miss: config key 'a.b' changed since run 'x'"``.
    matched_run_id: HIT: the reused run; DEMOTED: the run whose output is missing.
    compared_run_id: MISS: the nearest earlier run of the same step (same model and run
        name; same year and iteration when there is one), or None on the step's first run.
    changes: MISS: the identity components that differ from ``compared_run_id``.
    missing_key, missing_path: DEMOTED: the cached output that was not found (or, with
        ``demotion_reason`` CHANGED, whose bytes changed).
    demotion_reason: DEMOTED: ``"missing"`` or ``"changed"`` (see :class:`DemotionReason`).

    Examples
    --------
    >>> result = tracker.run(fn=step, config={"a": 2})  # doctest: +SKIP
    >>> result.cache_reason.summary  # doctest: +SKIP
    "miss: config changed since run 'step-1' (changed: a)"
    """

    outcome: CacheOutcome
    summary: str
    matched_run_id: str | None = None
    compared_run_id: str | None = None
    changes: tuple[ComponentChange, ...] = ()
    missing_key: str | None = None
    missing_path: str | None = None
    demotion_reason: DemotionReason | None = None

    @property
    def hit(self) -> bool:
        """Whether the run reused a cached result."""
        return self.outcome is CacheOutcome.HIT

    @property
    def first_run(self) -> bool:
        """A miss with no earlier completed run of the same step to compare with."""
        return self.outcome is CacheOutcome.MISS and self.compared_run_id is None

    @property
    def components(self) -> tuple[IdentityComponent, ...]:
        """The identity components named in ``changes``, in order."""
        return tuple(change.component for change in self.changes)

    def change(self, component: IdentityComponent | str) -> ComponentChange | None:
        """The change recorded for ``component`` (a member or its value), if any."""
        for item in self.changes:
            if item.component == component:
                return item
        return None

    def __str__(self) -> str:
        return self.summary

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outcome": self.outcome.value, "summary": self.summary}
        if self.matched_run_id is not None:
            data["matched_run_id"] = self.matched_run_id
        if self.compared_run_id is not None:
            data["compared_run_id"] = self.compared_run_id
        if self.missing_key is not None:
            data["missing_key"] = self.missing_key
        if self.missing_path is not None:
            data["missing_path"] = self.missing_path
        if self.demotion_reason is not None:
            data["demotion_reason"] = self.demotion_reason.value
        if self.changes:
            data["changes"] = [change.to_dict() for change in self.changes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CacheDecision:
        return cls(
            outcome=CacheOutcome(data["outcome"]),
            summary=str(data.get("summary") or ""),
            matched_run_id=data.get("matched_run_id"),
            compared_run_id=data.get("compared_run_id"),
            changes=tuple(ComponentChange.from_dict(c) for c in data.get("changes") or ()),
            missing_key=data.get("missing_key"),
            missing_path=data.get("missing_path"),
            demotion_reason=(
                DemotionReason(data["demotion_reason"]) if data.get("demotion_reason") else None
            ),
        )
