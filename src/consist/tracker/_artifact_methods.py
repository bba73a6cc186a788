"""Artifact and metadata logging methods of Tracker (they act on the active run)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from consist import flow
from consist.errors import ConfigError, invalid_option
from consist.execute.artifacts import check_key, default_key
from consist.model.artifact import Artifact
from consist.model.limits import validate_meta
from consist.model.plain import plain_numbers
from consist.request.facet import build_facet, check_index
from consist.tracker._base import TrackerBase

if TYPE_CHECKING:
    from consist.model.facet import ConfigFacet


class ArtifactMethods(TrackerBase):
    def log_artifact(
        self,
        path: Any,
        key: str | None = None,
        direction: str = "output",
        schema: type | None = None,
        driver: str | None = None,
        content_hash: str | None = None,
        validate_content_hash: bool = False,
        profile_file_schema: bool | str | None = None,
        file_schema_sample_rows: int | None = None,
        facet: object = None,
        facet_schema_version: str | int | None = None,
        facet_index: bool = False,
        **meta: Any,
    ) -> Artifact:
        """Log a file (or an existing Artifact) as an input or output of the active run.

        An input path that an earlier run produced is linked to that run (provenance).
        The run's JSON snapshot is rewritten at once; the SQL store catches up at the end.
        ``schema=Model`` records the SQLModel class by name (``meta["schema_name"]``);
        ``profile_file_schema=True`` profiles a tabular file's columns over at most
        ``file_schema_sample_rows`` rows (``"if_changed"``: reuse the profile of the same
        bytes); see docs/data.md.
        ``facet`` (a small dict or pydantic model) is stored with the run's record, its
        id in ``artifact.meta["facet_id"]``; with ``facet_index=True`` its leaves are
        flattened into ``global_tables.artifact_kv`` (see docs/queries.md).

        Raises
        ------
        RuntimeError
            If called outside an active run.
        ValueError
            If ``direction`` is not "input" or "output".
        """
        active = self._require_active("log_artifact")
        if profile_file_schema is not None and profile_file_schema is not False:
            # views (profiling, schemas) load only when a schema feature is used
            from consist.views.profiling import check_profile_option

            check_profile_option(profile_file_schema)
        built = _artifact_facet(active, facet, facet_schema_version, facet_index)
        artifact = self._log_one(
            active, path, key, direction, driver, content_hash, validate_content_hash, meta
        )
        if schema is not None or profile_file_schema:
            from consist.views.profiling import annotate_artifact
            from consist.views.schemas import SchemaStore

            annotate_artifact(
                SchemaStore(self._services.layout.state_dir),
                artifact,
                schema=schema,
                profile=profile_file_schema,
                sample_rows=file_schema_sample_rows,
            )
        _attach(active, artifact, built)
        flow.record_progress(self._services, active)
        return artifact

    def log_input(self, path: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        """Log an input artifact (``log_artifact(direction="input")``)."""
        return self.log_artifact(path, key, direction="input", **kwargs)

    def log_output(self, path: Any, key: str | None = None, **kwargs: Any) -> Artifact:
        """Log an output artifact (``log_artifact(direction="output")``)."""
        return self.log_artifact(path, key, direction="output", **kwargs)

    def log_artifacts(
        self,
        outputs: Mapping[str, Any],
        direction: str = "output",
        driver: str | None = None,
        metadata_by_key: Mapping[str, dict[str, Any]] | None = None,
        facets_by_key: Mapping[str, object] | None = None,
        facet_schema_versions_by_key: Mapping[str, str | int] | None = None,
        facet_index: bool = False,
        **shared_meta: Any,
    ) -> dict[str, Artifact]:
        """Log several artifacts with one snapshot write.

        Raises
        ------
        TypeError
            If a key of ``outputs`` is not a string.
        ValueError
            If ``metadata_by_key`` names keys not in ``outputs``.
        """
        active = self._require_active("log_artifacts")
        if not isinstance(outputs, Mapping):
            raise ConfigError(
                f"outputs must be a mapping of key -> path, got {type(outputs).__name__}.",
                fix="Pass log_artifacts({'key': path, ...}).",
                parameter="outputs",
            )
        for key in outputs:
            if not isinstance(key, str):
                raise TypeError(f"log_artifacts: key {key!r} is not a string; use string keys.")
        by_key = {
            "metadata_by_key": metadata_by_key,
            "facets_by_key": facets_by_key,
            "facet_schema_versions_by_key": facet_schema_versions_by_key,
        }
        for parameter, mapping in by_key.items():
            extra = set(mapping or ()) - set(outputs)
            if extra:
                raise ConfigError(
                    f"{parameter} has keys {sorted(extra)} that are not in outputs.",
                    fix=f"Use the same keys in {parameter} as in outputs.",
                    parameter=parameter,
                )
        built = {  # every facet is checked before any artifact is logged
            key: _artifact_facet(
                active,
                (facets_by_key or {}).get(key),
                (facet_schema_versions_by_key or {}).get(key),
                facet_index,
            )
            for key in outputs
        }
        logged = {}
        for key, path in outputs.items():
            meta = {**shared_meta, **(metadata_by_key or {}).get(key, {})}
            logged[key] = self._log_one(active, path, key, direction, driver, None, False, meta)
            _attach(active, logged[key], built[key])
        flow.record_progress(self._services, active)
        return logged

    def log_meta(self, **kwargs: Any) -> None:
        """Merge ``kwargs`` into the active run's ``meta`` and rewrite its snapshot."""
        active = self._require_active("log_meta")
        kwargs = plain_numbers(kwargs)  # np.int64(3) is stored as 3, not "np.int64(3)"
        validate_meta({**active.run.meta, **kwargs}, "log_meta")
        active.run.meta.update(kwargs)
        flow.record_progress(self._services, active)

    def _log_one(
        self,
        active: flow.ActiveRun,
        path: Any,
        key: str | None,
        direction: str,
        driver: str | None,
        content_hash: str | None,
        validate_content_hash: bool,
        meta: dict[str, Any],
    ) -> Artifact:
        key = check_key(key) if key is not None else default_key(path)
        meta = plain_numbers(meta) if meta else meta
        validate_meta(meta, "meta")
        target = path.path if isinstance(path, Artifact) else path
        if direction == "output":
            return active.capture.log_output(
                target,
                key,
                driver=driver,
                content_hash=content_hash,
                validate_content_hash=validate_content_hash,
                meta=meta,
            )
        if direction == "input":
            return flow.log_input(
                self._services, active, path, key, content_hash=content_hash, meta=meta
            )
        raise invalid_option("direction", direction, ["input", "output"])


def _artifact_facet(
    active: flow.ActiveRun, facet: object, version: object, index: object
) -> ConfigFacet | None:
    """The checked facet of an artifact (namespace: the run's model), or None."""
    return build_facet(
        namespace=active.run.model_name,
        config=None,
        facet=facet,
        facet_from=None,
        version=version,
        index=check_index(index, "facet_index", default=False),
    )


def _attach(active: flow.ActiveRun, artifact: Artifact, facet: ConfigFacet | None) -> None:
    if facet is not None:
        active.artifact_facets[artifact.id] = facet
        artifact.meta["facet_id"] = facet.id
