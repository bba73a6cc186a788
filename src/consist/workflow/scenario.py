"""ScenarioContext: a header run that groups steps, hands outputs on, and ends once.

Lifecycle (every run, header and steps, goes through flow.py):

* enter: the header run begins (run id = the scenario name, tag ``scenario_header``) and
  is at once SUSPENDED (RunPhase): it stays off the tracker's active-run slot, so steps
  can run; a crash leaves it recorded as ``running``;
* ``run`` / ``trace`` / ``step``: an ordinary ``Tracker.run`` / ``Tracker.trace`` with
  ``parent_run_id`` = the header's id and the scenario's step defaults; the step's
  outputs are then set in the coupler under their keys;
* exit: the header resumes (EXECUTING) and ends COMPLETED, or FAILED with the error
  that left the block, or FAILED with an OutputValidationError naming the
  ``require_outputs`` keys no step produced (raised after the header is recorded).

The header is begun with ``cache_mode="overwrite"`` and ``callable_module`` code identity
unless the caller passes others, and is never a cache entry: its body is the whole
block, so "reusing" an earlier header would say nothing true. Its identity never enters
a step's identity; it enters no cache index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Unpack

from consist import flow
from consist.errors import ConfigError, OutputValidationError, RunStateError
from consist.identity.code import caller_file
from consist.model.limits import validate_optional_int
from consist.model.run import Run, RunPhase, RunResult, RunStatus
from consist.options import Hydration
from consist.request import build, input_keys, steps
from consist.services import Services
from consist.workflow.coupler import Coupler

if TYPE_CHECKING:
    from consist.request.spec import RunKwargs, TraceKwargs
    from consist.tracker.tracker import Tracker

HEADER_TAG = "scenario_header"
# begin_run's named parameters a scenario's **kwargs may set for its header.
_HEADER_NAMED = (
    "inputs", "description", "cache_mode", "artifact_dir", "allow_external_paths",
    "code_identity", "code_identity_extra_deps", "cache_version",
)  # fmt: skip


class ScenarioContext:
    """A grouped workflow: a header run and the steps run through it.

    Use it as a context manager (``with tracker.scenario("baseline") as sc:``); its
    ``run``, ``trace`` and ``step`` take the keywords of ``Tracker.run`` /
    ``Tracker.trace``.
    """

    def __init__(
        self,
        tracker: Tracker,
        services: Services,
        call: Mapping[str, Any],
    ) -> None:
        self._tracker = tracker
        self._services = services
        self.name: str = call["name"]
        self._epoch = validate_optional_int(call.get("cache_epoch"), "cache_epoch")
        self._hydration = _check_hydration(call.get("step_cache_hydration"))
        self._template = steps.check_name_template(call.get("name_template"))
        self.coupler: Coupler = _check_coupler(call.get("coupler"))
        self._required = _check_required(call.get("require_outputs"))
        self._request = _header_request(call, caller_file())
        self._active: flow.ActiveRun | None = None
        self._steps: list[Run] = []

    # --- the header ----------------------------------------------------------------

    @property
    def run_id(self) -> str:
        """The header run's id (the scenario name): every step's ``parent_run_id``."""
        return str(self._request.run_id)

    @property
    def header(self) -> Run:
        """The header run (status ``running`` until the block exits)."""
        active = self._active
        if active is None:
            raise RunStateError(
                f"Scenario {self.name!r} has not started.",
                fix="Enter it: `with tracker.scenario(...) as sc:`.",
            )
        return active.run

    @property
    def steps(self) -> list[Run]:
        """The step runs recorded through this scenario so far, in order."""
        return list(self._steps)

    def __enter__(self) -> ScenarioContext:
        if self._active is not None:
            raise RunStateError(
                f"Scenario {self.name!r} was already entered.",
                fix="Create a new scenario with tracker.scenario(...).",
            )
        self._services.sync.require_write("tracker.scenario")
        current = self._tracker.current_run
        if current is not None:
            raise RunStateError(
                f"Cannot start scenario {self.name!r}: run {current.id!r} is still active.",
                fix="Start the scenario outside tracker.run / trace / start_run blocks.",
            )
        active = flow.begin(self._services, self._request)
        active.reusable = False  # a header is never a cache entry: it ends in one append
        active.advance(RunPhase.EXECUTING)
        active.advance(RunPhase.SUSPENDED)  # steps run while the header waits
        self._active = active
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        active = self._require_open("the scenario's exit")
        active.advance(RunPhase.EXECUTING)
        if exc is not None:
            flow.end(self._services, active, RunStatus.FAILED, exc)
            return
        missing = self.coupler.missing(self._required)
        if missing:
            error = OutputValidationError(
                f"Scenario {self.name!r} ended without its required outputs {missing}.",
                cause="No step produced them and the coupler was not given them.",
                fix="Run the steps that produce them, or drop them from require_outputs.",
                run_id=self.run_id,
                missing=missing,
            )
            flow.end(self._services, active, RunStatus.FAILED, error)
            raise error
        flow.end(self._services, active, RunStatus.COMPLETED)

    # --- steps -----------------------------------------------------------------------

    def run(
        self,
        fn: Callable[..., Any] | None = None,
        name: str | None = None,
        **kwargs: Unpack[RunKwargs],
    ) -> RunResult:
        """``Tracker.run`` as a step of this scenario (skipped on a cache hit).

        The step's ``define_step`` defaults and the scenario's step defaults fill what
        the call leaves unset; its outputs go into :attr:`coupler`.
        """
        self._require_open("ScenarioContext.run")
        if not build.RUN_KEYWORDS.issuperset(kwargs):
            build.check_keywords(kwargs, build.RUN_KEYWORDS, "ScenarioContext.run")
        call = steps.apply_defaults(
            {**kwargs, "fn": fn, "name": name}, steps.step_defaults(fn), self._step_layer()
        )
        call["name"] = steps.step_name(
            call, fn, scenario=self.name, scenario_template=self._template
        )
        call.pop("name_template", None)
        call["parent_run_id"] = self._parent(call.get("parent_run_id"))
        call = self._coupled(call)
        result = self._tracker.run(**call)
        self._stepped(result.run, result.outputs)
        return result

    def trace(self, name: str, **kwargs: Unpack[TraceKwargs]) -> _StepTrace:
        """``Tracker.trace`` as a step of this scenario (the body always executes).

        Examples
        --------
        >>> with tracker.scenario("baseline") as sc:  # doctest: +SKIP
        ...     for year in [2020, 2030, 2040]:
        ...         with sc.trace(name="simulate", year=year):
        ...             tracker.log_artifact(run_model(year), key="output")
        """
        self._require_open("ScenarioContext.trace")
        if not build.TRACE_KEYWORDS.issuperset(kwargs):
            build.check_keywords(kwargs, build.TRACE_KEYWORDS, "ScenarioContext.trace")
        call = steps.apply_defaults(kwargs, self._step_layer(), grouped=False)
        call["parent_run_id"] = self._parent(call.get("parent_run_id"))
        call = self._coupled(call)
        return _StepTrace(self, self._tracker.trace(name, **call))

    def step(self, name: str, **kwargs: Unpack[TraceKwargs]) -> _StepTrace:
        """An inline step: the same as :meth:`trace` (``with sc.step("load"): ...``)."""
        return self.trace(name, **kwargs)

    # --- internals -------------------------------------------------------------------

    def _require_open(self, what: str) -> flow.ActiveRun:
        active = self._active
        if active is None or active.ended:
            raise RunStateError(
                f"{what} needs scenario {self.name!r} to be open.",
                fix="Call it inside `with tracker.scenario(...) as sc:`.",
            )
        return active

    def _step_layer(self) -> dict[str, Any]:
        layer: dict[str, Any] = {"cache_epoch": self._epoch}
        if self._hydration is not None:
            layer["cache_hydration"] = self._hydration
        return layer

    def _parent(self, given: object) -> str:
        if given is not None and given != self.run_id:
            raise ConfigError(
                f"parent_run_id={given!r} differs from the scenario's id {self.run_id!r}.",
                fix="Leave parent_run_id unset: scenario steps belong to their scenario.",
                parameter="parent_run_id",
            )
        return self.run_id

    def _coupled(self, call: dict[str, Any]) -> dict[str, Any]:
        """Deprecated ``input_keys`` / ``optional_input_keys`` read from the coupler."""
        if call.get("input_keys") is None and call.get("optional_input_keys") is None:
            return call  # (define_step defaults were merged into call already)
        return input_keys.coupled_inputs(call, dict(self.coupler.items()), self.name)

    def _stepped(self, run: Run, outputs: Mapping[str, Any]) -> None:
        self._steps.append(run)
        self.coupler.update(outputs)

    def __repr__(self) -> str:
        return f"ScenarioContext({self.name!r}, steps={len(self._steps)})"


class _StepTrace:
    """What ``ScenarioContext.trace`` returns: the tracker's trace, then the coupler."""

    def __init__(self, scenario: ScenarioContext, inner: Any) -> None:
        self._scenario = scenario
        self._inner = inner

    def __enter__(self) -> Tracker:
        return self._inner.__enter__()  # type: ignore[no-any-return]

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._inner.__exit__(exc_type, exc, tb)
        record = self._scenario._tracker.last_run
        if exc is None and record is not None:
            self._scenario._stepped(record.run, {a.key: a for a in record.outputs})


def _header_request(call: Mapping[str, Any], caller: str | None) -> Any:
    """The header's RunRequest: begin_run's path, with the scenario's own defaults."""
    extra = dict(call.get("kwargs") or {})
    named = {key: extra.pop(key) for key in _HEADER_NAMED if key in extra}
    named.setdefault("cache_mode", "overwrite")
    named.setdefault("code_identity", "callable_module")
    tags = call.get("tags")
    if tags is None:
        tags = [HEADER_TAG]
    elif isinstance(tags, (list, tuple)):
        tags = list(dict.fromkeys([*tags, HEADER_TAG]))
    # Anything else is refused by request/build.py with its named error.
    header = {
        "run_id": call["name"],
        "model": call.get("model", "scenario"),
        "config": call.get("config"),
        "tags": tags,
        **named,
    }
    return build.request_from_begin_run(header, extra, caller)


def _check_hydration(value: object) -> Hydration | None:
    """``step_cache_hydration``, parsed as every step's ``cache_hydration`` would be."""
    return None if value is None else Hydration.parse(value, "step_cache_hydration")


def _check_coupler(coupler: object) -> Coupler:
    if coupler is None:
        return Coupler()
    if not isinstance(coupler, Coupler):
        raise ConfigError(
            f"coupler={coupler!r} must be a consist.Coupler.",
            fix="Pass coupler=consist.Coupler() (or leave it unset for a new one).",
            parameter="coupler",
        )
    return coupler


def _check_required(required: object) -> tuple[str, ...]:
    if required is None:
        return ()
    items: Iterable[object] = [required] if isinstance(required, str) else required  # type: ignore[assignment]
    try:
        given = tuple(items)
    except TypeError:
        given = (required,)
    keys: list[str] = []
    for key in given:
        if not isinstance(key, str) or not key:
            raise ConfigError(
                f"require_outputs contains {key!r}; output keys are non-empty strings.",
                fix="Pass require_outputs=['key', ...].",
                parameter="require_outputs",
            )
        keys.append(key)
    return tuple(keys)
