"""Config-adapter methods of Tracker: prepare / apply / canonicalize a config, identity of a
plan, override runs, and finding a run's config bundle (docs/adapters.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist import flow
from consist.errors import ConfigError, QueryError, RunStateError
from consist.tracker._base import TrackerBase

if TYPE_CHECKING:
    # adapters / views are imported in the methods: a tracker that never uses a config
    # adapter does not load them (tests/test_import_cost.py).
    from consist.adapters.base import (
        ConfigAdapter,
        ConfigAdapterOptions,
        ConfigContribution,
        ConfigPlan,
    )
    from consist.model.artifact import Artifact
    from consist.model.run import Run, RunResult
    from consist.options import ExecutionOptions


class ConfigMethods(TrackerBase):
    def prepare_config(
        self,
        adapter: ConfigAdapter,
        config_dirs: Iterable[str | os.PathLike[str]],
        *,
        strict: bool = False,
        options: ConfigAdapterOptions | None = None,
        validate_only: bool = False,
        facet_spec: dict[str, Any] | None = None,
        facet_schema_name: str | None = None,
        facet_schema_version: str | int | None = None,
        facet_index: bool | None = None,
    ) -> ConfigPlan:
        """Prepare a config plan without logging artifacts or ingesting data.

        The plan holds the canonical documents, per-file digests, queryable tables and the
        identity (:meth:`identity_from_config_plan`). Nothing is written anywhere.

        ``facet_spec`` maps facet keys to values of the configuration
        (``{"sample_size": ("settings.yaml", "households_sample_size")}``); a run the
        plan is applied to (``run(adapter=plan)``, ``apply_config_plan``) records them
        in its config facet, named ``facet_schema_name`` / ``facet_schema_version`` and
        flattened into ``run_config_kv`` unless ``facet_index=False``
        (adapters/facets.py).

        Raises
        ------
        ConfigError
            If a directory does not exist, (``strict``) a referenced file is missing, or
            ``facet_spec`` selects a file or key the configuration does not have.
        """
        from consist.adapters import plan as plans
        from consist.adapters.facets import check_facet_options, plan_facet_values

        check_facet_options(facet_spec, facet_schema_name, facet_schema_version, facet_index)
        plan = plans.prepare_config(
            adapter, config_dirs, strict=strict, options=options, validate_only=validate_only
        )
        if facet_spec is None:
            return plan
        plan = replace(
            plan,
            facet=dict(facet_spec),
            facet_schema_name=facet_schema_name,
            facet_schema_version=facet_schema_version,
            facet_index=facet_index,
        )
        plan_facet_values(plan)  # a selector the configuration lacks fails here, not at run
        return plan

    def apply_config_plan(
        self,
        plan: ConfigPlan,
        *,
        run: Run | None = None,
        ingest: bool = True,
        profile_schema: bool = False,
        adapter: ConfigAdapter | None = None,
        options: ConfigAdapterOptions | None = None,
    ) -> ConfigContribution:
        """Apply a pre-run config plan to the active run: log its files, bundle and slices.

        Applying after the run began does not change its identity (pass ``adapter=`` to
        ``run`` / ``trace`` for that).
        """
        from consist.adapters import plan as plans
        from consist.adapters.apply import apply_plan
        from consist.adapters.base import ConfigPlan
        from consist.adapters.facets import merge_plan_facet

        if not isinstance(plan, ConfigPlan):
            raise ConfigError(
                f"plan={plan!r} is not a ConfigPlan.",
                fix="Pass the plan returned by tracker.prepare_config(...).",
                parameter="plan",
            )
        _, ingest, profile_schema = plans.resolve_options(
            options, strict=False, ingest=ingest, profile_schema=profile_schema
        )
        active = self._require_active("apply_config_plan")
        if run is not None and run.id != active.run.id:
            raise RunStateError(
                f"apply_config_plan(run={run.id!r}) is not the active run {active.run.id!r}.",
                fix="Apply a plan to the active run only.",
                run_id=run.id,
            )
        services = self._services
        contribution = apply_plan(
            plan,
            run_dir=services.layout.run_dir,
            ingest=ingest,
            profile_schema=profile_schema,
            log_input=lambda path, key, meta: flow.log_input(
                services, active, path, key, meta=meta
            ),
        )
        if not plan.validate_only:
            active.run.meta.setdefault("config_adapter", plan.adapter_name)
            active.run.meta.setdefault("config_identity", plan.identity)
            if plan.facet is not None:  # the facet the plan asks for joins the run's own
                facet = merge_plan_facet(active.request.facet, plan, active.request.model)
                active.request = replace(active.request, facet=facet)
            flow.record_progress(services, active)
            if ingest:
                ingest_config_slices(self, active.run, contribution.artifacts.values(),
                                     profile_schema=profile_schema)  # fmt: skip
        return contribution

    def canonicalize_config(
        self,
        adapter: ConfigAdapter,
        config_dirs: Iterable[str | os.PathLike[str]],
        *,
        run: Run | None = None,
        run_id: str | None = None,
        strict: bool = False,
        ingest: bool = True,
        profile_schema: bool = False,
        options: ConfigAdapterOptions | None = None,
    ) -> ConfigContribution:
        """Canonicalize a model-specific config directory and ingest queryable slices.

        ``prepare_config`` + ``apply_config_plan`` on the active run.
        """
        active = self._require_active("canonicalize_config")
        if run_id is not None and run_id != active.run.id:
            raise RunStateError(
                f"canonicalize_config(run_id={run_id!r}) is not the active run {active.run.id!r}.",
                fix="Omit run_id, or pass the active run's id.",
                run_id=run_id,
            )
        from consist.adapters import plan as plans

        plan = plans.prepare_config(adapter, config_dirs, strict=strict, options=options)
        return self.apply_config_plan(
            plan, run=run, ingest=ingest, profile_schema=profile_schema, options=options
        )

    def identity_from_config_plan(self, plan: ConfigPlan) -> str:
        """Return the identity hash derived from a config plan (its canonical content)."""
        from consist.adapters import plan as plans

        return plans.identity_from_config_plan(plan)

    def run_with_config_overrides(
        self,
        *,
        adapter: Any,
        base_run_id: str | None = None,
        base_config_dirs: list[str | os.PathLike[str]] | None = None,
        base_primary_config: str | os.PathLike[str] | None = None,
        overrides: Any,
        output_dir: str | os.PathLike[str],
        fn: Any,
        name: str,
        model: str | None = None,
        config: Mapping[str, Any] | None = None,
        outputs: list[str] | None = None,
        execution_options: ExecutionOptions | None = None,
        strict: bool = True,
        identity_inputs: Any = None,
        resolved_config_identity: str = "auto",
        identity_label: str = "activitysim_config",
        override_runtime_kwargs: Mapping[str, Any] | None = None,
        **run_kwargs: Any,
    ) -> RunResult:
        """Run ``fn`` on a copy of a base configuration with ``overrides`` applied.

        Delegates to ``adapter.run_with_config_overrides(...)``. Exactly one base
        selector: ``base_run_id`` (that run's config bundle) or ``base_config_dirs``;
        ``base_primary_config`` only applies with ``base_config_dirs``.

        Raises
        ------
        ValueError
            If both or neither base selector is given, or ``base_primary_config`` is
            given with ``base_run_id``.
        """
        if (base_run_id is None) == (base_config_dirs is None):
            raise ConfigError(
                "run_with_config_overrides needs exactly one base selector: base_run_id or "
                f"base_config_dirs (got {'both' if base_run_id is not None else 'neither'}).",
                fix="Pass base_run_id='...' to start from a recorded run's config bundle, or "
                "base_config_dirs=[...] for a first override run.",
                parameter="base_run_id",
            )
        if base_primary_config is not None and base_run_id is not None:
            raise ConfigError(
                "base_primary_config only applies with base_config_dirs.",
                fix="Drop base_primary_config, or select the base with base_config_dirs.",
                parameter="base_primary_config",
            )
        delegate = getattr(adapter, "run_with_config_overrides", None)
        if not callable(delegate):
            raise ConfigError(
                f"adapter={adapter!r} does not support config overrides.",
                fix="Use an adapter with run_with_config_overrides (ActivitySim, BEAM).",
                parameter="adapter",
            )
        result: RunResult = delegate(
            self,
            base_run_id=base_run_id,
            base_config_dirs=base_config_dirs,
            base_primary_config=base_primary_config,
            overrides=overrides,
            output_dir=output_dir,
            fn=fn,
            name=name,
            model=model,
            config=config,
            outputs=outputs,
            execution_options=execution_options,
            strict=strict,
            identity_inputs=identity_inputs,
            resolved_config_identity=resolved_config_identity,
            identity_label=identity_label,
            override_runtime_kwargs=override_runtime_kwargs,
            **run_kwargs,
        )
        return result

    def get_config_bundle(
        self,
        run_id: str,
        *,
        adapter: ConfigAdapter | None = None,
        role: str = "bundle",
        allow_missing: bool = False,
    ) -> Path | None:
        """Resolve a config artifact path for a run by role.

        Scans the run's artifacts for ``artifact.meta["config_role"] == role``; with
        ``adapter``, only the run's (``run.meta["config_adapter"]``) or artifacts'
        (``meta["config_adapter"]`` / ``meta["adapter"]``) of that adapter's name match.
        Several matches: the first by (key, created_at, id).

        Raises
        ------
        QueryError
            If nothing matches and ``allow_missing`` is False.
        """
        artifact = self.get_config_bundle_artifact(
            run_id, adapter=adapter, role=role, allow_missing=allow_missing
        )
        return None if artifact is None else artifact.path

    def get_config_bundle_artifact(
        self,
        run_id: str,
        *,
        adapter: ConfigAdapter | None = None,
        role: str = "bundle",
        allow_missing: bool = False,
    ) -> Artifact | None:
        """The artifact :meth:`get_config_bundle` resolves (for lineage: its ``run_id``)."""
        record = self._services.sync.find_record(run_id)
        found: list[Artifact] = []
        if record is not None:
            wanted = None if adapter is None else adapter.name
            run_adapter = record.run.meta.get("config_adapter")
            for artifact in [*record.inputs, *record.outputs]:
                meta = artifact.meta
                if meta.get("config_role") != role:
                    continue
                own = meta.get("config_adapter", meta.get("adapter"))
                if wanted is not None and wanted not in (own, run_adapter):
                    continue
                found.append(artifact)
        if not found:
            if allow_missing:
                return None
            raise QueryError(
                f"get_config_bundle(run_id={run_id!r}): no artifact with config_role={role!r}"
                + (f" for adapter {adapter.name!r}" if adapter is not None else "")
                + (" (no such run)" if record is None else "")
                + ".",
                fix="Check the run id; config bundles are recorded by runs with adapter=... "
                "or apply_config_plan. Pass allow_missing=True to get None.",
                run_id=run_id,
            )
        found.sort(key=lambda a: (a.key, a.created_at or "", a.id))
        return found[0]


def ingest_config_slices(
    tracker: Any, run: Run, artifacts: Iterable[Artifact], *, profile_schema: bool
) -> list[str]:
    """Ingest a run's config slice artifacts into ``global_tables.<slice name>``.

    Only with a DuckDB store (a JSON-only tracker keeps the slices as JSON artifacts). A
    slice's artifact id is content addressed, so rows already ingested for it (by an
    earlier run of the same configuration) are not loaded again. Returns the tables
    loaded by this call.
    """
    from consist.store.duckdb.store import DuckDBStore
    from consist.views.names import table_name_for
    from consist.views.slices import slice_ingested

    store = tracker._services.store
    if not isinstance(store, DuckDBStore):
        return []
    loaded = []
    for artifact in artifacts:
        name = artifact.meta.get("table")
        if artifact.meta.get("config_role") != "table" or not isinstance(name, str):
            continue
        table = table_name_for(name, "table")
        if slice_ingested(store, table, artifact.id):
            continue
        rows = json.loads(artifact.path.read_text(encoding="utf-8"))
        # The slice's own name is the table name (the artifact key carries a prefix).
        tracker.ingest(replace(artifact, key=name), data=rows, run=run,
                       profile_schema=profile_schema)  # fmt: skip
        loaded.append(table)
    return loaded
