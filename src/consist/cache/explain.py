"""Why did a step hit the cache, or run? A CacheLookup becomes a CacheDecision.

Rules:

* HIT names the reused run; OVERWRITE says the cache was not consulted; DEMOTED names
  the matched run and the cached output (key and path) that is missing.
* MISS compares the run with the nearest earlier completed run of the same step
  (cache/steps.py), component by component, in this order: code (digest or code
  identity mode), config (dotted keys added / removed / changed between the two
  canonical configs), inputs / depends_on / identity_inputs (names added / removed /
  whose source changed), model, year, iteration, cache_version, cache_epoch. Without an
  earlier run the decision says "first run of this step".
* A component is only walked further when its digest differs, so the common miss
  (one config value changed) costs a few dict lookups.
* Config values compare type-strictly (``True`` is not ``1``), as the canonical form
  does; lists of equal length are compared item by item (``layers[2].size``).
* Name lists are capped at ``MAX_NAMES`` each; ``omitted`` counts the rest, so a
  decision stays small enough for every run row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from consist.cache.lookup import CacheLookup
from consist.cache.steps import StepIndex
from consist.model.decision import CacheDecision, CacheOutcome, ComponentChange, DemotionReason
from consist.model.decision import IdentityComponent as C
from consist.model.run import ConsistRecord

MAX_NAMES = 50
_SCALARS = frozenset({str, int, float, bool, type(None)})  # leaves of a canonical config
_SHOWN = 5  # names per list in the one-line summary
_ROLE_COMPONENT = {"input": C.INPUTS, "depends_on": C.DEPENDS_ON, "identity": C.IDENTITY_INPUTS}
_VALUE_COMPONENTS = (
    ("model", C.MODEL),
    ("year", C.YEAR),
    ("iteration", C.ITERATION),
    ("cache_version", C.CACHE_VERSION),
    ("cache_epoch", C.CACHE_EPOCH),
)


def explain_lookup(
    found: CacheLookup, current: Callable[[], ConsistRecord], steps: StepIndex
) -> CacheDecision:
    """The decision record for the run being begun, given the lookup result.

    ``current`` builds that run's record; it is only called on a miss (hits stay cheap).
    """
    outcome = found.outcome
    if outcome is CacheOutcome.OVERWRITE:
        return CacheDecision(
            outcome, "overwrite: cache_mode='overwrite' skips the cache; the step ran again"
        )
    if outcome is CacheOutcome.HIT and found.record is not None:
        reused = found.record.run.id
        return CacheDecision(
            outcome, f"hit: reused run {reused!r} (same signature)", matched_run_id=reused
        )
    if outcome is CacheOutcome.DEMOTED and found.record is not None and found.missing is not None:
        matched, missing = found.record.run.id, found.missing
        path = missing.abs_path or missing.uri
        reason = found.reason or DemotionReason.MISSING
        what = (
            f"at {path} no longer has its recorded content"
            if reason is DemotionReason.CHANGED
            else f"is missing at {path} (no recorded copy found)"
        )
        return CacheDecision(
            outcome,
            f"demoted: run {matched!r} matched, but its output {missing.key!r} {what}; "
            "the step ran again",
            matched_run_id=matched,
            missing_key=missing.key,
            missing_path=path,
            demotion_reason=reason,
        )
    record = current()
    run = record.run
    earlier = steps.nearest(run.model_name, run.name, run.year, run.iteration)
    if earlier is None or earlier.run.id == run.id:
        return CacheDecision(
            CacheOutcome.MISS,
            f"miss: first run of this step (model {run.model_name!r}, name {run.name!r})",
        )
    changes = compare_records(earlier, record)
    if changes:
        text = "; ".join(map(describe_change, changes))
    else:
        # Same components but no index entry: the entry (or its snapshot) was removed.
        text = "no identity component differs, but no completed run with this signature was found"
    return CacheDecision(
        CacheOutcome.MISS,
        f"miss: {text} (compared with run {earlier.run.id!r})",
        compared_run_id=earlier.run.id,
        changes=changes,
    )


def compare_records(before: ConsistRecord, after: ConsistRecord) -> tuple[ComponentChange, ...]:
    """The identity components of ``after`` that differ from ``before``, in a fixed order.

    Digests are not repeated in the changes: both runs' identities hold them.
    """
    old, new = before.identity, after.identity
    get_old, get_new = old.get, new.get
    changes: list[ComponentChange] = []
    if get_old("code") != get_new("code") or get_old("code_mode") != get_new("code_mode"):
        changes.append(_code_change(before, after))
    if get_old("config") != get_new("config"):
        changes.append(_config_change(before.config, after.config))
    if get_old("inputs") != get_new("inputs"):
        changes.extend(_input_changes(old, new))
    for key, component in _VALUE_COMPONENTS:
        was, now = get_old(key), get_new(key)
        if was != now:
            changes.append(ComponentChange(component, before=was, after=now))
    return tuple(changes)


def _code_change(before: ConsistRecord, after: ConsistRecord) -> ComponentChange:
    old_mode, new_mode = before.identity.get("code_mode"), after.identity.get("code_mode")
    if old_mode != new_mode:
        detail = f"code_mode {old_mode!r} -> {new_mode!r}"
    else:
        commits = (before.run.meta.get("git_commit"), after.run.meta.get("git_commit"))
        if all(commits) and commits[0] != commits[1]:
            detail = f"git commit {commits[0]} -> {commits[1]}"
        else:
            detail = f"{new_mode} code digest changed" if new_mode else "code digest changed"
    return ComponentChange(C.CODE, detail=detail)


def _config_change(before: Any, after: Any) -> ComponentChange:
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    old = {} if before is None else before
    new = {} if after is None else after
    if type(old) is dict and type(new) is dict and old.keys() == new.keys():
        # A sweep's usual miss: the same keys, some values changed. Scalars are compared
        # here; a key holding a dict or a list is walked as below.
        for key in sorted(new):
            was, now = old[key], new[key]
            if type(was) is type(now) and type(now) in _SCALARS:
                if was != now:
                    changed.append(key)
            elif not _same(was, now):
                _walk(was, now, key, added, removed, changed)
    else:
        # The digests differ, so the configs do: no need to compare them as a whole first.
        _walk(old, new, "", added, removed, changed)
    if changed and not added and not removed and len(changed) <= MAX_NAMES:
        return ComponentChange(C.CONFIG, changed=tuple(changed))  # the usual miss
    names, omitted = _cap(added, removed, changed)
    detail = "" if any(names) else "config digest changed"
    return ComponentChange(
        C.CONFIG, added=names[0], removed=names[1], changed=names[2], omitted=omitted,
        detail=detail,
    )  # fmt: skip


def diff_config(before: Any, after: Any) -> tuple[list[str], list[str], list[str]]:
    """Dotted keys (added, removed, changed) from one canonical config to another."""
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    # The canonical form of a missing config is {} (identity/canonical.py).
    old, new = ({} if before is None else before), ({} if after is None else after)
    if not _same(old, new):
        _walk(old, new, "", added, removed, changed)
    return added, removed, changed


def _walk(
    old: Any, new: Any, path: str, added: list[str], removed: list[str], changed: list[str]
) -> None:
    """Record where ``old`` and ``new`` (known to differ) differ, under ``path``."""
    if _is_branch(old) and _is_branch(new):
        for key in sorted(old.keys() | new.keys()):
            sub = f"{path}.{key}" if path else key
            if key not in new:
                removed.append(sub)
            elif key not in old:
                added.append(sub)
            elif not _same(old[key], new[key]):
                _walk(old[key], new[key], sub, added, removed, changed)
    elif type(old) is list and type(new) is list and len(old) == len(new) and path:
        for index, (item_old, item_new) in enumerate(zip(old, new, strict=True)):
            if not _same(item_old, item_new):
                _walk(item_old, item_new, f"{path}[{index}]", added, removed, changed)
    else:
        changed.append(path or "<config>")


def _is_branch(value: Any) -> bool:
    # A one-key dict with a dunder key is a canonical tag ({"__float__": "nan"}): a leaf.
    if type(value) is not dict:
        return False
    return not (len(value) == 1 and next(iter(value)).startswith("__"))


def _same(old: Any, new: Any) -> bool:
    if type(old) is not type(new):
        return False
    if type(old) is dict:
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in old)
    if type(old) is list:
        return len(old) == len(new) and all(map(_same, old, new))
    return bool(old == new)


def _input_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ComponentChange]:
    before, after = old.get("input_parts"), new.get("input_parts")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [ComponentChange(
            C.INPUTS,
            detail="the input set changed (the earlier run did not record per-input digests)",
        )]  # fmt: skip
    changes: list[ComponentChange] = []
    for role, component in _ROLE_COMPONENT.items():
        prefix = role + ":"
        was = {k[len(prefix) :]: v for k, v in before.items() if k.startswith(prefix)}
        now = {k[len(prefix) :]: v for k, v in after.items() if k.startswith(prefix)}
        if was == now:
            continue
        added = sorted(now.keys() - was.keys())
        removed = sorted(was.keys() - now.keys())
        changed = sorted(k for k in was.keys() & now.keys() if was[k] != now[k])
        upstream = [k for k in changed if _content(was[k]) == _content(now[k])]
        names, omitted = _cap(added, removed, changed)
        detail = ""
        if upstream:
            # Same bytes, different producer: an upstream run changed (the Merkle link).
            detail = "same content from a different upstream run: " + ", ".join(upstream[:_SHOWN])
        changes.append(ComponentChange(
            component, added=names[0], removed=names[1], changed=names[2], omitted=omitted,
            detail=detail,
        ))  # fmt: skip
    if not changes:
        changes.append(ComponentChange(
            C.INPUTS, detail="the input set digest changed",
        ))  # fmt: skip
    return changes


def _content(source: str) -> str:
    # "file:<digest>" or "run:<producer signature>:<digest>": the content digest is last.
    return source.rsplit(":", 1)[-1]


def _cap(
    added: list[str], removed: list[str], changed: list[str]
) -> tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], int]:
    if len(added) <= MAX_NAMES and len(removed) <= MAX_NAMES and len(changed) <= MAX_NAMES:
        return (tuple(added), tuple(removed), tuple(changed)), 0  # the usual few names
    omitted = sum(max(0, len(names) - MAX_NAMES) for names in (added, removed, changed))
    return (
        tuple(added[:MAX_NAMES]),
        tuple(removed[:MAX_NAMES]),
        tuple(changed[:MAX_NAMES]),
    ), omitted


def describe_change(change: ComponentChange) -> str:
    """One phrase for a change, e.g. ``config changed (changed: a.b; added: c)``."""
    component = change.component
    if component in (C.CODE,):
        return f"code changed ({change.detail})"
    shown = []
    if change.changed:
        shown.append(f"changed: {_names(change.changed)}")
    if change.added:
        shown.append(f"added: {_names(change.added)}")
    if change.removed:
        shown.append(f"removed: {_names(change.removed)}")
    if shown or change.detail:
        parts = shown + ([change.detail] if change.detail else [])
        suffix = f" (+{change.omitted} more)" if change.omitted else ""
        return f"{component.value} changed ({'; '.join(parts)}{suffix})"
    return f"{component.value} {change.before!r} -> {change.after!r}"


def _names(names: tuple[str, ...]) -> str:
    text = ", ".join(names[:_SHOWN])
    return text + (f" (+{len(names) - _SHOWN})" if len(names) > _SHOWN else "")
