"""RunSet: a labelled, ordered set of runs to group, align and compare; and run tables.

Rules:

* A RunSet keeps the order it was built with (``find_runs``: newest first) and never
  queries runs again; ``from_query`` is the one place it asks a tracker for runs.
* Grouping keys are the ``index_by`` forms of ``find_runs``: a run attribute, or
  ``facet.<key>`` (a flattened config-facet value, None when a run's facet lacks it).
  Facet values are read from the store of the tracker the set came from (one query
  per ``group_by`` / ``align`` / ``latest``), so a RunSet built from a list of runs
  without ``facets=`` refuses ``facet.<key>`` with a ConfigError.
* ``align(other, on=...)`` pairs runs with equal keys. A key held by several runs of
  one side is ambiguous and raises QueryError (narrow the set first, e.g. with
  ``latest(on)``); keys held by one side only are listed in ``only_left`` /
  ``only_right``. Pairs are ordered by key (keys of mixed types by their text).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consist._libs.pandas import import_pandas
from consist.errors import ConfigError, QueryError
from consist.model.html import runs_table_html
from consist.model.run import RUN_FIELDS, Run
from consist.query.runs import RUN_ATTRIBUTES, run_keys
from consist.store.base import run_sort_key

#: Columns of run tables (history, RunSet.to_frame): every Run field but the bulky
#: JSON of the cache decision and the owner.
FRAME_COLUMNS = [name for name in RUN_FIELDS if name not in ("cache_decision", "owner")]


def runs_frame(runs: Sequence[Run]) -> Any:
    """A pandas DataFrame of ``runs``, one row each, in order (FRAME_COLUMNS)."""
    pandas = import_pandas()
    return pandas.DataFrame(
        [[getattr(run, name) for name in FRAME_COLUMNS] for run in runs], columns=FRAME_COLUMNS
    )


#: Each run's facet value under a flattened key: (key, runs, parameter) -> keys.
FacetKeys = Callable[[str, Sequence[Run], str], list[Hashable]]
FACET_PREFIX = "facet."


class RunFinder(Protocol):
    def find_runs(self, **filters: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class RunPair:
    """Two runs with the same alignment key, one from each set."""

    key: Hashable
    left: Run
    right: Run

    def changes(self, fields: Sequence[str] | None = None) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: run attributes named in ``fields`` (default:
        status), then every ``meta.<key>`` of either run; values as (left, right)."""
        names = list(fields) if fields is not None else ["status"]
        for name in names:
            if name not in RUN_ATTRIBUTES:
                raise ConfigError(
                    f"fields contains {name!r}, which is not a run attribute.",
                    fix=f"Use run attributes: {', '.join(sorted(RUN_ATTRIBUTES))}.",
                    parameter="fields",
                )
        found = {
            name: (getattr(self.left, name), getattr(self.right, name))
            for name in names
            if getattr(self.left, name) != getattr(self.right, name)
        }
        for key in sorted(set(self.left.meta) | set(self.right.meta)):
            pair = (self.left.meta.get(key), self.right.meta.get(key))
            if pair[0] != pair[1]:
                found[f"meta.{key}"] = pair
        return found


@dataclass(frozen=True, slots=True)
class RunAlignment:
    """Two RunSets aligned on a key: ``pairs`` in key order, and the unmatched keys."""

    on: str
    pairs: tuple[RunPair, ...]
    only_left: tuple[Hashable, ...] = field(default=())
    only_right: tuple[Hashable, ...] = field(default=())

    def __iter__(self) -> Iterator[RunPair]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def changes(self, fields: Sequence[str] | None = None) -> dict[Hashable, dict[str, Any]]:
        """:meth:`RunPair.changes` of every pair, by key (pairs without changes left out)."""
        found = {pair.key: pair.changes(fields) for pair in self.pairs}
        return {key: diff for key, diff in found.items() if diff}


class RunSet:
    """An ordered set of runs with a label, for grouping, alignment and comparison.

    Examples
    --------
    >>> base = tracker.run_set("baseline", tags=["baseline"])  # doctest: +SKIP
    >>> policy = tracker.run_set("policy", tags=["policy"])  # doctest: +SKIP
    >>> for pair in base.latest("year").align(policy.latest("year"), on="year"):
    ...     print(pair.key, pair.changes())  # doctest: +SKIP
    """

    __slots__ = ("_facets", "_runs", "label")

    def __init__(
        self, runs: Sequence[Run] = (), label: str | None = None, *, facets: FacetKeys | None = None
    ) -> None:
        if label is not None and not isinstance(label, str):
            raise ConfigError(
                f"label={label!r} must be a str or None.", fix="Pass label='baseline'.",
                parameter="label",
            )  # fmt: skip
        runs = list(runs)
        for run in runs:
            if not isinstance(run, Run):
                raise ConfigError(
                    f"runs contains {run!r}, which is not a Run.",
                    fix="Build a RunSet from tracker.find_runs(...) results.",
                    parameter="runs",
                )
        self._runs = tuple(runs)
        self.label = label
        self._facets = facets

    @classmethod
    def from_query(cls, tracker: RunFinder, label: str | None = None, **filters: Any) -> RunSet:
        """The runs ``tracker.find_runs(**filters)`` returns, as a RunSet."""
        if "index_by" in filters:
            raise ConfigError(
                "run_set does not take index_by: a RunSet is a list of runs.",
                fix="Drop index_by; use RunSet.group_by(...) or .align(..., on=...).",
                parameter="index_by",
            )
        facets = getattr(tracker, "_facet_keys_of_runs", None)
        return cls(tracker.find_runs(**filters), label=label, facets=facets)

    @property
    def runs(self) -> tuple[Run, ...]:
        return self._runs

    @property
    def ids(self) -> list[str]:
        return [run.id for run in self._runs]

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self._runs)

    def _repr_html_(self) -> str:
        """A table of the runs (labelled), for notebooks."""
        return runs_table_html(self._runs, title=self.label)

    def __getitem__(self, index: int) -> Run:
        return self._runs[index]

    def __repr__(self) -> str:
        return f"RunSet(label={self.label!r}, runs={len(self._runs)})"

    def filter(self, **attributes: Any) -> RunSet:
        """The runs whose attributes equal every given value (same label)."""
        keys = {name: run_keys(self._runs, name, "filter") for name in attributes}
        kept = [
            run
            for i, run in enumerate(self._runs)
            if all(keys[name][i] == value for name, value in attributes.items())
        ]
        return self._derived(kept)

    def group_by(self, by: str) -> dict[Hashable, RunSet]:
        """RunSets by key of ``by``, in order of first appearance; order kept within."""
        groups: dict[Hashable, list[Run]] = {}
        for key, run in zip(self._keys(by, "by"), self._runs, strict=True):
            groups.setdefault(key, []).append(run)
        return {key: self._derived(runs) for key, runs in groups.items()}

    def latest(self, by: str | None = None) -> RunSet:
        """The latest run (highest iteration, then newest) overall, or of each ``by`` key."""
        newest = run_sort_key("latest")
        if by is None:
            return self._derived([max(self._runs, key=newest)] if self._runs else [])
        return self._derived([max(g, key=newest) for g in self.group_by(by).values()])

    def align(self, other: RunSet, on: str) -> RunAlignment:
        """Pair this set's runs with ``other``'s by equal ``on`` keys (see the module doc)."""
        if not isinstance(other, RunSet):
            raise ConfigError(
                f"other={other!r} must be a RunSet.", fix="Pass tracker.run_set(...).",
                parameter="other",
            )  # fmt: skip
        left, right = self._unique(on, "left"), other._unique(on, "right")
        keys = sorted(set(left) & set(right), key=_order)
        return RunAlignment(
            on=on,
            pairs=tuple(RunPair(key, left[key], right[key]) for key in keys),
            only_left=tuple(sorted(set(left) - set(right), key=_order)),
            only_right=tuple(sorted(set(right) - set(left), key=_order)),
        )

    def to_frame(self) -> Any:
        """The runs as a pandas DataFrame (the columns of ``Tracker.history``)."""
        return runs_frame(self._runs)

    def _derived(self, runs: Sequence[Run]) -> RunSet:
        return RunSet(runs, self.label, facets=self._facets)

    def _keys(self, by: str, parameter: str) -> list[Hashable]:
        """Each run's key under ``by``: a run attribute or ``facet.<key>``."""
        if isinstance(by, str) and by.startswith(FACET_PREFIX):
            if self._facets is None:
                raise ConfigError(
                    f"{parameter}={by!r} needs facet values, and this RunSet was built "
                    "from a list of runs without a tracker.",
                    fix="Build it with tracker.run_set(...) (or RunSet.from_query(tracker)).",
                    parameter=parameter,
                )
            return self._facets(by[len(FACET_PREFIX) :], self._runs, parameter)
        return run_keys(self._runs, by, parameter, also=(FACET_PREFIX + "<key>",))

    def _unique(self, on: str, side: str) -> dict[Hashable, Run]:
        by_key: dict[Hashable, Run] = {}
        for key, run in zip(self._keys(on, "on"), self._runs, strict=True):
            if key in by_key:
                name = self.label or side
                raise QueryError(
                    f"RunSet {name!r} has several runs with {on}={key!r} "
                    f"({by_key[key].id}, {run.id}), so they cannot be aligned.",
                    fix=f"Narrow it first, e.g. run_set.latest({on!r}).",
                )
            by_key[key] = run
        return by_key


def _order(key: Hashable) -> tuple[bool, str, Any]:
    # None last; numbers by value; everything else by its text.
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return (False, "", key)
    return (key is None, str(key), 0)
