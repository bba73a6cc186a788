"""Data methods of Tracker: load artifacts, log DataFrames, explore structure, load matrices.

Rules (the format work itself lives in ``consist.formats``):
- ``load`` / ``_load_frame`` accept an Artifact or a path. An artifact's file is its
  ``abs_path``, else its URI resolved under this tracker's run_dir; its driver (and for an
  HDF5 table its ``table_path``) comes from the record unless given as an option.
- Artifacts of a key (for the ``*_metadata`` views and ``load_matrix``) are the outputs
  named ``concept_key`` of the matching runs (inputs when a run has no such output),
  newest run first; ``run_ids`` keeps exactly those runs, in the order given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consist._libs.pandas import is_pandas_object
from consist.errors import ConfigError, QueryError
from consist.formats import tabular
from consist.formats.registry import DRIVERS, default_table_driver, driver_for_path
from consist.model.artifact import Artifact
from consist.model.run import Run
from consist.query.runs import build_run_query
from consist.tracker._artifact_methods import ArtifactMethods

if TYPE_CHECKING:
    from consist.formats import structure

# Upper bound on runs scanned for one key; far above any realistic scenario sweep.
_KEY_SCAN_LIMIT = 1_000_000


class DataMethods(ArtifactMethods):
    def load(self, artifact: Artifact | str | os.PathLike[str], **kwargs: Any) -> Any:
        """Load an artifact (or a path) as its natural object.

        Equivalent to ``consist.load(artifact, tracker=self, ...)``: the artifact's driver
        selects the loader.

        Parameters
        ----------
        artifact : Artifact | str | Path
            The artifact (or a file path) to load.
        **kwargs
            Loader options: ``driver=`` overrides the recorded driver, ``table_path=`` the
            table of an HDF5 file; the rest go to the reader (DuckDB or pandas for tables,
            xarray for NetCDF / Zarr, geopandas for spatial files).

        Returns
        -------
        Any
            A DuckDB relation (csv, tsv, parquet, json, feather), an ``xarray.Dataset``
            (netcdf, zarr, omx), a GeoDataFrame (geojson, geopackage, shapefile), a pandas
            DataFrame (an HDF5 table) or a read-only ``h5py.File`` (an HDF5 container).

        Raises
        ------
        ConfigError
            If the driver cannot load files.
        MissingInputError
            If the file does not exist.
        MissingDependencyError
            If the format's extra is not installed (the message names the pip install).
        """
        from consist.formats import load as format_load

        path, options = self._load_target(artifact, kwargs)
        return format_load.load_path(path, **options)

    def _load_frame(self, artifact: Artifact | str | os.PathLike[str], **kwargs: Any) -> Any:
        """The artifact as a pandas DataFrame (``consist.load_df``)."""
        from consist.formats import load as format_load

        path, options = self._load_target(artifact, kwargs)
        return format_load.load_frame(path, **options)

    def _load_target(
        self, artifact: Artifact | str | os.PathLike[str], kwargs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        from consist.formats import load as format_load

        return format_load.load_target(artifact, kwargs, self._services.layout.from_uri)

    def _local_path(self, artifact: Artifact) -> str:
        if artifact.abs_path is not None:
            return artifact.abs_path
        return self._services.layout.from_uri(artifact.uri)

    def log_dataframe(
        self,
        df: Any,
        key: str,
        schema: Any = None,
        direction: str = "output",
        path: str | Path | None = None,
        driver: str | None = None,
        meta: dict[str, Any] | None = None,
        profile_file_schema: bool = False,
        file_schema_sample_rows: int | None = 1000,
        **to_file_kwargs: Any,
    ) -> Artifact:
        """Write a DataFrame to a file, log it as an artifact, and ingest it when asked.

        Parameters
        ----------
        df : pandas.DataFrame | pandas.Series
            Data to persist.
        key : str
            Artifact key.
        schema : type[SQLModel], optional
            Ingest the rows under this schema after logging (needs ingestion support).
        direction : str
            ``"output"`` (default) or ``"input"``.
        path : str | Path, optional
            Where to write; defaults to ``<run artifact dir>/<key>.<driver suffix>``.
            Without ``driver`` the driver is inferred from this path's suffix.
        driver : str, optional
            ``"parquet"`` (default when pyarrow is installed), ``"csv"``, ``"tsv"``,
            ``"json"`` or ``"feather"``.
        meta : dict, optional
            Metadata for the artifact.
        profile_file_schema : bool
            Record the frame's column names and dtypes under ``meta["file_schema"]``.
        file_schema_sample_rows : int, optional
            Rows the profile looks at (``None``: all).
        **to_file_kwargs
            Options for the pandas writer (``to_parquet``, ``to_csv``...).

        Returns
        -------
        Artifact
            The artifact logged for the written file.

        Raises
        ------
        ValueError
            If the driver cannot write tables, or ``df`` is not a DataFrame or Series.

        Examples
        --------
        >>> art = tracker.log_dataframe(df, "households", driver="csv")  # doctest: +SKIP
        """
        active = self._require_active("log_dataframe")
        if not is_pandas_object(df):
            raise ConfigError(
                f"df of type {type(df).__name__} is not a pandas DataFrame or Series.",
                fix="Pass a pandas DataFrame (convert other tables with .to_pandas()).",
                parameter="df",
            )
        name = driver or (driver_for_path(path) if path is not None else None)
        found = DRIVERS.find(name or default_table_driver())
        if found is None or found.write is None:
            writable = [n for n in DRIVERS.names() if DRIVERS.get(n).write is not None]
            raise ConfigError(
                f"driver={name!r} cannot write a DataFrame.",
                fix=f"Use one of: {', '.join(writable)}.",
                parameter="driver",
            )
        if path is None:
            target = str(active.capture.output_path(key, found.suffixes[0]))
        else:
            target = os.path.abspath(os.fspath(path))
            os.makedirs(os.path.dirname(target), exist_ok=True)
        frame = df.to_frame() if type(df).__name__ == "Series" else df
        found.write(frame, target, **to_file_kwargs)
        extra = dict(meta or {})
        if profile_file_schema:
            rows = file_schema_sample_rows
            sample = frame if rows is None else frame.head(rows)
            extra["file_schema"] = tabular.frame_schema(sample, len(sample))
        artifact = self.log_artifact(
            target, key, direction=direction, driver=found.name, schema=schema, **extra
        )
        if schema is not None:
            self._ingest_logged(artifact, frame, schema)
        return artifact

    def _ingest_logged(self, artifact: Artifact, frame: Any, schema: Any) -> None:
        ingest = getattr(self, "ingest", None)
        if ingest is None:
            raise ConfigError(
                "log_dataframe(schema=...) ingests the rows, but this Consist build has no "
                "ingestion support.",
                fix="Drop schema= (the file is logged), or install a Consist with ingest().",
                parameter="schema",
            )
        ingest(artifact, frame, schema)

    def _keyed_artifacts(
        self,
        concept_key: str,
        *,
        run_ids: list[str] | None = None,
        parent_id: str | None = None,
        model: str | None = None,
        status: str | None = None,
    ) -> list[tuple[Run, Artifact]]:
        if not isinstance(concept_key, str) or not concept_key:
            raise ConfigError(
                f"concept_key={concept_key!r} must be a non-empty string.",
                fix="Pass the key the artifact was logged under.",
                parameter="concept_key",
            )
        query = build_run_query(
            parent_id=parent_id, model=model, status=status, limit=_KEY_SCAN_LIMIT
        )
        if run_ids is not None:
            if isinstance(run_ids, str):
                raise ConfigError(
                    f"run_ids={run_ids!r} is a single string.",
                    fix=f"Pass a list: run_ids=[{run_ids!r}].",
                    parameter="run_ids",
                )
            by_id = {run.id: run for run in self._services.sync.query_runs(query)}
            runs = [by_id[r] for r in run_ids if r in by_id]
        else:
            runs = self._services.sync.query_runs(query)
        found: list[tuple[Run, Artifact]] = []
        for run in runs:
            record = self._services.sync.find_record(run.id)
            if record is None:
                continue
            artifact = record.outputs_by_key().get(concept_key)
            artifact = artifact or record.inputs_by_key().get(concept_key)
            if artifact is not None:
                found.append((run, artifact))
        return found

    def _structure_view(self, cls: type[structure.StructureView], concept_key: str) -> Any:
        from consist.formats import structure

        found = self._keyed_artifacts(concept_key)
        if not found:
            raise QueryError(
                f"No run recorded an artifact with key {concept_key!r}.",
                fix="Check the key, e.g. in tracker.get_run_outputs(run_id).",
            )
        entries = [
            structure.StructureEntry(run.id, art, self._local_path(art)) for run, art in found
        ]

        def describe(path: str) -> dict[str, Any]:
            entry = next(e for e in entries if e.path == path)
            driver = DRIVERS.find(entry.artifact.driver or "")
            if driver is None or driver.describe is None:
                raise QueryError(
                    f"Artifact {concept_key!r} has driver {entry.artifact.driver!r}, whose "
                    f"structure {cls.__name__} cannot read.",
                    fix="Use the view that matches the file's format.",
                )
            return driver.describe(path)

        return cls(concept_key, entries, describe)

    def netcdf_metadata(self, concept_key: str) -> structure.NetCdfMetadataView:
        """Explore the variables, dimensions and attributes of a NetCDF artifact.

        Returns
        -------
        NetCdfMetadataView
            ``get_variables()``, ``get_dimensions()``, ``get_coordinates()``,
            ``get_attributes()`` and ``summary()``, each for the newest artifact of the
            key or for ``run_id=``.
        """
        from consist.formats import structure

        view: structure.NetCdfMetadataView = self._structure_view(
            structure.NetCdfMetadataView, concept_key
        )
        return view

    def openmatrix_metadata(self, concept_key: str) -> structure.OpenMatrixMetadataView:
        """Explore the matrices, zones and attributes of an OpenMatrix artifact.

        Returns
        -------
        OpenMatrixMetadataView
            ``get_matrices()``, ``get_zones()``, ``get_shape()``, ``get_lookups()``,
            ``get_attributes()`` and ``summary()``.
        """
        from consist.formats import structure

        view: structure.OpenMatrixMetadataView = self._structure_view(
            structure.OpenMatrixMetadataView, concept_key
        )
        return view

    def spatial_metadata(self, concept_key: str) -> structure.SpatialMetadataView:
        """Explore the layers, CRS, bounds and columns of a spatial artifact.

        Returns
        -------
        SpatialMetadataView
            ``get_layers()``, ``get_crs()``, ``get_geometry_type()``,
            ``get_feature_count()``, ``get_bounds()``, ``get_columns()``, ``summary()``.
        """
        from consist.formats import structure

        view: structure.SpatialMetadataView = self._structure_view(
            structure.SpatialMetadataView, concept_key
        )
        return view

    def load_matrix(
        self,
        concept_key: str,
        variables: list[str] | None = None,
        *,
        run_ids: list[str] | None = None,
        parent_id: str | None = None,
        model: str | None = None,
        status: str | None = None,
    ) -> Any:
        """Load the Zarr matrices of ``concept_key`` across runs as one xarray Dataset.

        Parameters
        ----------
        concept_key : str
            Key of the Zarr artifacts.
        variables : list[str], optional
            Variables to load from each store; all by default.
        run_ids : list[str], optional
            Only these runs, in this order (default: every matching run, oldest first).
        parent_id, model, status : str, optional
            Filters on the runs, as in ``find_runs``.

        Returns
        -------
        xarray.Dataset
            The stores concatenated along a ``run_id`` dimension, with ``year`` and
            ``iteration`` coordinates on it.

        Raises
        ------
        QueryError
            If no matching run has a Zarr artifact under ``concept_key``.
        """
        from consist.formats.zarr import RunStore, concat_runs

        found = self._keyed_artifacts(
            concept_key, run_ids=run_ids, parent_id=parent_id, model=model, status=status
        )
        zarr_found = [(run, art) for run, art in found if art.driver == "zarr"]
        if not zarr_found:
            raise QueryError(
                f"No matching run has a Zarr artifact with key {concept_key!r}"
                + (
                    f" (found drivers {sorted({str(a.driver) for _, a in found})})."
                    if found
                    else "."
                ),
                fix="Check the key and the run filters; load_matrix reads Zarr stores.",
            )
        if run_ids is None:
            zarr_found.reverse()  # chronological: the concatenation reads like the sweep
        stores = [
            RunStore(run.id, self._local_path(art), run.year, run.iteration)
            for run, art in zarr_found
        ]
        return concat_runs(stores, variables)
