"""What each page of ``consist ui`` shows, computed from the public Tracker API.

Rules:
- Every function takes a read-only :class:`~consist.tracker.tracker.Tracker` and plain
  request values and returns plain data for a template; no HTTP here, no SQL, no store
  internals (the web app is a client of the Tracker like any user script).
- Filters come from a query string, so they arrive as text: an empty field is "any",
  a bad value (``year=abc``, an unknown status) becomes a message on the page, never a
  server error.
- Paging asks for one run more than a page holds: whether a next page exists is known
  without counting the whole store (a count over 100,000 runs would cost more than the
  page itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from consist.errors import ConsistError
from consist.model.artifact import Artifact
from consist.model.decision import CacheDecision
from consist.model.run import Run, RunStatus

if TYPE_CHECKING:
    from consist.tracker.tracker import Tracker

#: Filters of the runs table, in the order the form shows them.
RUN_FILTERS = ("model", "status", "tag", "year", "stage", "phase", "name")
STATUSES = tuple(status.value for status in RunStatus)
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(slots=True)
class RunsPage:
    """The runs table: one page of runs and the filters that chose them."""

    runs: list[Run]
    filters: dict[str, str]
    page: int
    per_page: int
    has_next: bool
    error: str | None = None
    redirect: str | None = None  # a search that names one run goes straight to it

    def query(self, **changes: object) -> str:
        """The query string of this page with ``changes`` applied (for links)."""
        values: dict[str, object] = {k: v for k, v in self.filters.items() if v}
        values.update(page=self.page, per_page=self.per_page)
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def runs_page(tracker: Tracker, params: Mapping[str, str]) -> RunsPage:
    """One page of ``find_runs`` under the filters in ``params`` (query-string values)."""
    filters = {name: (params.get(name) or "").strip() for name in (*RUN_FILTERS, "q")}
    page = _positive_int(params.get("page"), 1)
    per_page = min(_positive_int(params.get("per_page"), DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    result = RunsPage([], filters, page, per_page, has_next=False)
    search = filters["q"]
    if search and tracker.get_run(search) is not None:
        result.redirect = f"/runs/{search}"
        return result
    kwargs: dict[str, Any] = {
        k: filters[k] for k in ("model", "status", "stage", "phase", "name") if filters[k]
    }
    if search:  # not a run id: search by run name
        kwargs["name"] = search
    if filters["tag"]:
        kwargs["tags"] = [tag.strip() for tag in filters["tag"].split(",") if tag.strip()]
    if filters["year"]:
        try:
            kwargs["year"] = int(filters["year"])
        except ValueError:
            result.error = f"year={filters['year']!r} is not a whole number."
            return result
    try:
        found = tracker.find_runs(limit=per_page + 1, offset=(page - 1) * per_page, **kwargs)
    except ConsistError as exc:
        result.error = str(exc)
        return result
    assert isinstance(found, list)  # no index_by
    result.runs = found[:per_page]
    result.has_next = len(found) > per_page
    return result


@dataclass(slots=True)
class RunView:
    """Everything the run page shows about one run."""

    run: Run
    config: Any
    inputs: list[Artifact]
    outputs: list[Artifact]
    decision: CacheDecision | None
    children: list[Run] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)


def run_view(tracker: Tracker, run_id: str) -> RunView | None:
    """The run page of ``run_id``, or None when no such run is recorded."""
    record = tracker.get_run_record(run_id, allow_missing=True)
    if record is None:
        return None
    run = record.run
    children = tracker.find_runs(parent_id=run.id, limit=500)
    assert isinstance(children, list)
    decision = CacheDecision.from_dict(run.cache_decision) if run.cache_decision else None
    return RunView(
        run=run,
        config=record.config,
        inputs=sorted(record.inputs, key=lambda a: a.key),
        outputs=sorted(record.outputs, key=lambda a: a.key),
        decision=decision,
        children=sorted(children, key=lambda r: (r.created_at or "", r.id)),
        identity=dict(record.identity),
    )


@dataclass(slots=True)
class ArtifactRow:
    """One artifact key of a diff: its artifact in run A and in run B (either may lack it)."""

    key: str
    a: Artifact | None
    b: Artifact | None

    @property
    def same(self) -> bool:
        return self.a is not None and self.b is not None and self.a.hash == self.b.hash


@dataclass(slots=True)
class DiffView:
    """Two runs side by side: fields, config (flattened facet) and artifacts by key."""

    a: Run
    b: Run
    fields: list[tuple[str, Any, Any]]
    config: dict[str, Any]
    inputs: list[ArtifactRow]
    outputs: list[ArtifactRow]


_DIFF_FIELDS = (
    "name", "model_name", "status", "cache_hit", "year", "iteration", "stage", "phase",
    "tags", "signature", "config_hash", "input_hash", "git_hash", "duration_seconds",
)  # fmt: skip


def diff_view(tracker: Tracker, run_id_a: str, run_id_b: str) -> DiffView | str:
    """The diff page of two runs, or a message naming the run that is not recorded."""
    records = []
    for run_id in (run_id_a, run_id_b):
        record = tracker.get_run_record(run_id, allow_missing=True)
        if record is None:
            return f"No run {run_id!r} is recorded."
        records.append(record)
    ra, rb = records
    fields = [(name, getattr(ra.run, name), getattr(rb.run, name)) for name in _DIFF_FIELDS]
    config = tracker.diff_runs(ra.run.id, rb.run.id, include_equal=True)
    return DiffView(
        a=ra.run,
        b=rb.run,
        fields=fields,
        config=config,
        inputs=_pair(ra.inputs_by_key(), rb.inputs_by_key()),
        outputs=_pair(ra.outputs_by_key(), rb.outputs_by_key()),
    )


def _pair(a: dict[str, Artifact], b: dict[str, Artifact]) -> list[ArtifactRow]:
    return [ArtifactRow(key, a.get(key), b.get(key)) for key in sorted(a.keys() | b.keys())]


@dataclass(slots=True)
class FacetView:
    """One config key across runs: each run's value, and the runs grouped by value."""

    key: str
    model: str
    rows: list[tuple[Run, Any]]
    groups: list[tuple[str, list[Run]]]
    keys: list[str]  # keys the newest run's facet has (choices for the form)
    error: str | None = None


#: Runs a facet pivot reads: each costs one short store read.
FACET_RUN_LIMIT = 200


def facet_view(tracker: Tracker, params: Mapping[str, str]) -> FacetView:
    """``get_config_values`` of one key for the newest runs of a model."""
    key = (params.get("key") or "").strip()
    model = (params.get("model") or "").strip()
    limit = min(_positive_int(params.get("limit"), 50), FACET_RUN_LIMIT)
    view = FacetView(key, model, [], [], [])
    if not model:
        view.error = "Choose a model: a facet pivot compares runs of one model."
        return view
    try:
        runs = tracker.find_runs(model=model, limit=limit)
        assert isinstance(runs, list)
        if runs:
            view.keys = sorted(tracker.get_config_values(runs[0].id))
        if not key:
            return view
        for run in runs:
            values = tracker.get_config_values(run.id, keys=[key])
            view.rows.append((run, values.get(key, _MISSING)))
    except ConsistError as exc:
        view.error = str(exc)
        return view
    grouped: dict[str, list[Run]] = {}
    for run, value in view.rows:
        grouped.setdefault(format_value(value), []).append(run)
    view.groups = sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))
    return view


class _Missing:
    def __repr__(self) -> str:
        return "(not set)"


_MISSING = _Missing()


def format_value(value: Any) -> str:
    """A config value as the pages print it (strings quoted, like Python)."""
    if isinstance(value, _Missing):
        return "(not set)"
    return repr(value) if isinstance(value, str) else str(value)


def _positive_int(text: str | None, default: int) -> int:
    try:
        value = int(text) if text else default
    except ValueError:
        return default
    return value if value > 0 else default
