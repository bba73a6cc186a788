"""Scenario, step and cache-context methods of Tracker.

``scenario`` builds a :class:`~consist.workflow.scenario.ScenarioContext` (which drives
``run`` / ``trace`` and flow.py); ``define_step`` attaches defaults (request/steps.py);
the ``cached_*`` helpers and ``suspend/restore_cache_options`` read or swap state of the
active run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from consist.errors import ConfigError, invalid_option
from consist.flow import ActiveRun
from consist.model.artifact import Artifact
from consist.request import steps
from consist.request.cache_scope import ActiveRunCacheOptions
from consist.tracker._base import TrackerBase

if TYPE_CHECKING:
    from consist.workflow.coupler import Coupler
    from consist.workflow.scenario import ScenarioContext

_F = TypeVar("_F", bound=Callable[..., Any])


class ScenarioMethods(TrackerBase):
    def scenario(
        self,
        name: str,
        config: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        model: str = "scenario",
        step_cache_hydration: str | None = None,
        name_template: str | None = None,
        cache_epoch: int | None = None,
        coupler: Coupler | None = None,
        require_outputs: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> ScenarioContext:
        """Create a ScenarioContext: a header run grouping the steps run through it.

        The header run (id ``name``, tag ``"scenario_header"``) starts when the block is
        entered, is suspended while the steps run, and ends when the block exits:
        completed, or failed with the error that left the block. Steps run with
        ``sc.run(...)`` / ``sc.trace(...)`` / ``sc.step(...)`` carry
        ``parent_run_id=name``; their outputs go into ``sc.coupler``.

        Parameters
        ----------
        name:
            The scenario name; the header's run id.
        config:
            Stored on the header run; NOT inherited by the steps.
        tags:
            Header tags; ``"scenario_header"`` is appended.
        model:
            The header's model name.
        step_cache_hydration:
            Default ``cache_hydration`` of every step that does not set one.
        name_template:
            Name of ``sc.run`` steps called without a name and without a step-level
            template, e.g. ``"{fn_name}_{year}"``.
        cache_epoch:
            ``cache_epoch`` of every step that does not set one: bump it to re-run them.
        coupler:
            The Coupler to use (a new one by default).
        require_outputs:
            Output keys the coupler must hold when the block exits, else the header fails
            and an OutputValidationError names the missing keys.
        **kwargs:
            For the header: ``begin_run`` keywords and run fields; others become meta.

        Examples
        --------
        >>> with tracker.scenario("baseline", cache_epoch=1) as sc:  # doctest: +SKIP
        ...     sc.run(fn=make_population, outputs=["population"])
        ...     for year in [2020, 2030]:
        ...         sc.run(fn=simulate, year=year,
        ...                inputs={"population": sc.coupler.require("population")})
        """
        from consist.workflow.scenario import ScenarioContext

        call = dict(locals())
        call.pop("self")
        return ScenarioContext(self, self._services, call)  # type: ignore[arg-type]

    def define_step(self, **kwargs: Any) -> Callable[[_F], _F]:
        """Attach run defaults (``outputs``, ``tags``, ``cache_mode``, ...) to a function.

        ``Tracker.run`` and ``ScenarioContext.run`` read them; explicit arguments win.

        Examples
        --------
        >>> @tracker.define_step(outputs=["cleaned"], tags=["etl"])  # doctest: +SKIP
        ... def clean(raw): ...
        """
        return steps.define_step(**kwargs)

    def cached_artifacts(self, direction: str = "output") -> dict[str, Artifact]:
        """Artifacts of the active run's cache hit, by key (empty when it is not a hit).

        ``direction="output"``: the cached outputs, checked and hydrated as the in-run
        cache options say (the run's ``validate_cached_outputs`` / ``cache_hydration``,
        or the defaults after :meth:`suspend_cache_options`; cache/in_run.py); one that
        fails validation is left out with a warning. ``"input"``: the inputs the reused
        run recorded.

        Raises
        ------
        RunStateError
            Outside an active run.
        """
        if direction not in ("output", "input"):
            raise invalid_option("direction", direction, ["output", "input"])
        active = self._require_active("cached_artifacts")
        if direction == "input":
            reused = active.reused
            return {} if reused is None else {a.key: a for a in reused.inputs}
        return self._cached_outputs(active, None)

    def cached_output(self, key: str | None = None) -> Artifact | None:
        """One cached output of the active run: ``key``'s, or the first; None if not a hit,
        absent, or failing the in-run validation (see :meth:`cached_artifacts`)."""
        active = self._require_active("cached_output")
        found = self._cached_outputs(active, None if key is None else (key,))
        if key is None:
            return next(iter(found.values()), None)
        return found.get(key)

    def _cached_outputs(
        self, active: ActiveRun, keys: tuple[str, ...] | None
    ) -> dict[str, Artifact]:
        from consist.cache.in_run import cached_outputs

        reused = active.reused
        if reused is None:
            return {}
        services = self._services
        return cached_outputs(
            reused.outputs,
            active.cache_scope,
            keys=keys,
            output_paths=active.request.output.paths,
            artifact_dir=active.capture.artifact_dir,
            copies=services.copies,
            digester=services.digester,
        )

    def suspend_cache_options(self) -> ActiveRunCacheOptions:
        """Reset the active run's in-run cache options to defaults; return the previous.

        For helper functions that want default cache behaviour without changing the
        caller's; pair with :meth:`restore_cache_options`. :meth:`cached_artifacts` and
        :meth:`cached_output` validate and hydrate under the options in force. The run's
        own identity, cache decision and persistence were settled when it began and do
        not change.
        """
        active = self._require_active("suspend_cache_options")
        previous = active.cache_scope
        active.cache_options = ActiveRunCacheOptions()
        return previous

    def restore_cache_options(self, options: ActiveRunCacheOptions) -> None:
        """Restore in-run cache options returned by :meth:`suspend_cache_options`."""
        active = self._require_active("restore_cache_options")
        if not isinstance(options, ActiveRunCacheOptions):
            raise ConfigError(
                f"restore_cache_options needs the ActiveRunCacheOptions that "
                f"suspend_cache_options returned, got {type(options).__name__} {options!r}.",
                fix="options = tracker.suspend_cache_options(); ...; "
                "tracker.restore_cache_options(options).",
                parameter="options",
            )
        active.cache_options = options
