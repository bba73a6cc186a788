"""Run lookup filters as users pass them -> one checked RunQuery.

Every filter is type-checked at the call, so a wrong type is an error naming the
parameter instead of a query that silently matches nothing: ``tags`` is a list of
strings (a bare string is refused, as it is for ``run(tags=...)``), ``year`` /
``iteration`` are ints, ``status`` is a RunStatus value, ``metadata`` maps string keys,
``limit`` and ``offset`` are non-negative ints. Values are passed to the store as bound parameters,
never spliced into SQL, so ``%``, ``_`` and quotes are matched literally.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from consist.errors import ConfigError, invalid_option
from consist.model.limits import validate_optional_int, validate_optional_str, validate_tags
from consist.model.run import RUN_FIELDS, Run, RunStatus
from consist.store.base import RunQuery

_STATUSES = [status.value for status in RunStatus]


def build_run_query(
    *,
    limit: object,
    order: str = "created",
    tags: object = None,
    metadata: object = None,
    status: object = None,
    any_tags: object = None,
    offset: object = 0,
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
    checked_tags = validate_tags(_tag_list(tags))
    checked_any = validate_tags(_tag_list(any_tags))
    return RunQuery(
        tags=tuple(checked_tags) if checked_tags else None,
        any_tags=tuple(checked_any) if checked_any else None,
        metadata=_metadata(metadata),
        status=_status(status),
        limit=check_limit(limit),
        offset=_offset(offset),
        order=order,
        **checked,
    )


def _tag_list(tags: object) -> object:
    # A str is refused by validate_tags with its own hint; other non-sequences here.
    if tags is None or isinstance(tags, (str, list, tuple, set, frozenset)):
        return tags
    raise ConfigError(
        f"tags={tags!r} must be a list of strings.",
        fix="Pass tags=['baseline'].",
        parameter="tags",
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


def check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConfigError(
            f"limit={limit!r} must be a non-negative integer or None.",
            fix="Pass limit=100 (or None for no limit).",
            parameter="limit",
        )
    return limit


# Run attributes find_runs(index_by=...) can key by.
RUN_ATTRIBUTES = frozenset(RUN_FIELDS) | {"model"}

#: index_by forms beyond run attributes: prefix (e.g. "facet.") -> a function that maps
#: (the name after the prefix, the runs) to each run's key. A feature registers its
#: prefix here (config facets register "facet."); nothing else changes.
IndexResolver = Callable[[str, Sequence[Run]], list[Hashable]]
INDEX_BY_PREFIXES: dict[str, IndexResolver] = {}


def run_keys(
    runs: Sequence[Run],
    index_by: object,
    parameter: str = "index_by",
    also: Sequence[str] = (),
) -> list[Hashable]:
    """Each run's key under ``index_by``: a run attribute or a registered prefix form
    (``also``: forms the caller handles itself, named in the error)."""
    if isinstance(index_by, str):
        for prefix, resolve in INDEX_BY_PREFIXES.items():
            if index_by.startswith(prefix) and len(index_by) > len(prefix):
                return resolve(index_by[len(prefix) :], runs)
        if index_by in RUN_ATTRIBUTES:
            return [_hashable(getattr(run, index_by)) for run in runs]
    extra = [f"{prefix}<key>" for prefix in INDEX_BY_PREFIXES] + list(also)
    forms = sorted(RUN_ATTRIBUTES) + extra
    raise ConfigError(
        f"{parameter}={index_by!r} is not a run attribute name"
        + (f" nor of the form {' / '.join(extra)}." if extra else "."),
        fix=f"Use one of: {', '.join(forms)}.",
        parameter=parameter,
    )


def check_index_by(index_by: object, also: Sequence[str] = ()) -> None:
    """Refuse a bad ``index_by`` before any query runs."""
    run_keys([], index_by, also=also)


def index_runs(runs: Sequence[Run], index_by: object) -> dict[Hashable, Run]:
    """``find_runs(index_by=...)``: runs keyed by ``index_by`` (the last run wins a key)."""
    return dict(zip(run_keys(runs, index_by), runs, strict=True))


def _hashable(value: Any) -> Hashable:
    # tags (a list) and meta (a dict) are keyed by a hashable equivalent.
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]


def _offset(offset: object) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ConfigError(
            f"offset={offset!r} must be a non-negative integer.",
            fix="Pass offset=0 for the first page, offset=100 for the second (limit=100).",
            parameter="offset",
        )
    return offset
