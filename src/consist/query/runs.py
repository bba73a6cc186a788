"""Run lookup filters as users pass them -> one checked RunQuery.

Every filter is type-checked at the call, so a wrong type is an error naming the
parameter instead of a query that silently matches nothing: ``tags`` is a list of
strings (a bare string is refused, as it is for ``run(tags=...)``), ``year`` /
``iteration`` are ints, ``status`` is a RunStatus value, ``metadata`` maps string keys,
``limit`` is a non-negative int. Values are passed to the store as bound parameters,
never spliced into SQL, so ``%``, ``_`` and quotes are matched literally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consist.errors import ConfigError, invalid_option
from consist.model.limits import validate_optional_int, validate_optional_str, validate_tags
from consist.model.run import RunStatus
from consist.store.base import RunQuery

_STATUSES = [status.value for status in RunStatus]


def build_run_query(
    *,
    limit: object,
    order: str = "created",
    tags: object = None,
    metadata: object = None,
    status: object = None,
    **filters: object,
) -> RunQuery:
    """A RunQuery from find_runs-style filters; the first bad one raises ConfigError.

    ``filters`` are the plain ones: year, iteration (ints), stage, phase, model,
    parent_id, name, signature, config_hash, input_hash, git_hash (strings).
    """
    checked: dict[str, Any] = {}
    for key, value in filters.items():
        if key in ("year", "iteration"):
            checked[key] = validate_optional_int(value, key)
        else:
            checked[key] = validate_optional_str(value, key)
    checked_tags = validate_tags(tags)
    return RunQuery(
        tags=tuple(checked_tags) if checked_tags else None,
        metadata=_metadata(metadata),
        status=_status(status),
        limit=_limit(limit),
        order=order,
        **checked,
    )


def _status(status: object) -> str | None:
    if status is None:
        return None
    if isinstance(status, str) and status in _STATUSES:
        return str(status)
    raise invalid_option("status", status, _STATUSES)


def _metadata(metadata: object) -> dict[str, Any] | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
        raise ConfigError(
            f"metadata={metadata!r} must be a mapping of string keys to values.",
            fix="Pass metadata={'key': value}.",
            parameter="metadata",
        )
    return dict(metadata)


def _limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigError(
            f"limit={limit!r} must be a non-negative integer or None.",
            fix="Pass limit=100 (or None for no limit).",
            parameter="limit",
        )
    return limit
