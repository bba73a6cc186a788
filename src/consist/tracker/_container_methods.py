"""Container logging methods of Tracker: HDF5 files and their tables, NetCDF, OpenMatrix.

Rules:
- A container is logged like any file (its bytes hashed, driver ``"h5"`` / ``"netcdf"`` /
  ``"omx"``); NetCDF and OpenMatrix artifacts also record their structure in
  ``meta["netcdf"]`` / ``meta["openmatrix"]`` (read before anything is logged, so a
  missing extra or a bad file logs nothing).
- A table of an HDF5 file is an artifact of its own with driver ``"h5_table"``, the file's
  URI, ``meta["table_path"]``, and ``meta["parent_artifact_id"]`` / ``meta["parent_key"]``
  when it belongs to a logged container. Its ``hash`` is the table's content hash (see
  ``formats/h5.py``), so it changes only when that table's values change; with hashing
  off it is the container file's digest. Discovered tables are keyed
  ``"<container key>/<table path without the leading slash>"``.
- ``hash_tables="if_unchanged"`` reuses a table hash computed earlier in this process for
  a container with the same digest (content-addressed, so never stale); ``"always"``
  recomputes; ``"never"`` uses the container digest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consist import flow
from consist.errors import ConfigError, invalid_option
from consist.execute.artifacts import check_key, default_key
from consist.formats import tabular
from consist.identity.canonical import digest_bytes
from consist.model.artifact import Artifact
from consist.tracker._artifact_methods import ArtifactMethods

_HASH_MODES = ("always", "if_unchanged", "never")
_PROFILE_MODES = (False, True, "if_changed")


class ContainerMethods(ArtifactMethods):
    def log_h5_container(
        self,
        path: str | Path,
        key: str | None = None,
        direction: str = "output",
        discover_tables: bool = True,
        table_filter: Callable[[str], bool] | list[str] | None = None,
        hash_tables: str = "if_unchanged",
        table_hash_chunk_rows: int | None = None,
        **meta: Any,
    ) -> tuple[Artifact, list[Artifact]]:
        """Log an HDF5 file and, optionally, each of its tables as a child artifact.

        Parameters
        ----------
        path : str | Path
            The HDF5 file.
        key : str, optional
            Container key (default: the file stem).
        direction : str
            ``"output"`` (default) or ``"input"``.
        discover_tables : bool
            Scan the file and log one child artifact per table (needs h5py).
        table_filter : callable | list[str], optional
            Keep a table when ``table_filter("/full/path")`` is true, or when its path
            (with or without the leading slash) is in the list.
        hash_tables : {"always", "if_unchanged", "never"}
            How child tables are hashed (see the module rules).
        table_hash_chunk_rows : int, optional
            Rows read at a time when hashing (memory bound; the digest does not depend on it).
        **meta
            Metadata for the container artifact.

        Returns
        -------
        tuple[Artifact, list[Artifact]]
            The container artifact and the table artifacts (depth-first, by name).

        Examples
        --------
        >>> container, tables = tracker.log_h5_container(  # doctest: +SKIP
        ...     "data.h5", key="urbansim_data", table_filter=["households", "persons"])
        """
        from consist.formats import h5

        active = self._require_active("log_h5_container")
        if hash_tables not in _HASH_MODES:
            raise invalid_option("hash_tables", hash_tables, list(_HASH_MODES))
        key = check_key(key) if key is not None else default_key(path)
        abs_path = os.path.abspath(os.fspath(path))
        tables = h5.select_tables(h5.list_tables(abs_path), table_filter) if discover_tables else []
        container_meta = dict(meta)
        if discover_tables:
            container_meta["h5_tables"] = [table.path for table in tables]
        container = self._log_one(
            active, abs_path, key, direction, "h5", None, False, container_meta
        )
        children = []
        for table in tables:
            if hash_tables == "never":
                digest = None
            elif hash_tables == "always":
                digest = h5.hash_table(abs_path, table.path, table_hash_chunk_rows)
            else:
                digest = h5.hash_table_memoized(
                    abs_path, table.path, container.hash, table_hash_chunk_rows
                )
            child_meta = {**table.to_meta(), "parent_artifact_id": container.id, "parent_key": key}
            child_key = f"{key}/{table.path.lstrip('/')}"
            children.append(
                self._log_table(active, abs_path, child_key, direction, digest, child_meta)
            )
        flow.record_progress(self._services, active)
        return container, children

    def log_h5_table(
        self,
        path: str | Path,
        *,
        table_path: str,
        key: str | None = None,
        direction: str = "output",
        parent: Artifact | None = None,
        hash_table: bool = True,
        table_hash_chunk_rows: int | None = None,
        profile_file_schema: bool | str = False,
        file_schema_sample_rows: int | None = None,
        **meta: Any,
    ) -> Artifact:
        """Log one table of an HDF5 file without scanning the rest of the container.

        Parameters
        ----------
        path : str | Path
            The HDF5 file.
        table_path : str
            The table's path inside the file, e.g. ``"/2025/households"``.
        key : str, optional
            Artifact key (default: the last part of ``table_path``).
        direction : str
            ``"output"`` (default) or ``"input"``.
        parent : Artifact, optional
            The container artifact this table belongs to.
        hash_table : bool
            Hash the table's values (else the file's digest stands in).
        table_hash_chunk_rows : int, optional
            Rows read at a time when hashing.
        profile_file_schema : bool | "if_changed"
            Record the table's column names and dtypes under ``meta["file_schema"]``;
            ``"if_changed"`` skips it when this table's content hash matches the hash an
            earlier profile was recorded for in ``meta``.
        file_schema_sample_rows : int, optional
            Rows the profile reads (``None``: all).
        **meta
            Metadata for the table artifact.

        Returns
        -------
        Artifact
            The table artifact (driver ``"h5_table"``).
        """
        from consist.formats import h5

        active = self._require_active("log_h5_table")
        if profile_file_schema not in _PROFILE_MODES:
            raise invalid_option(
                "profile_file_schema", profile_file_schema, ["False", "True", "if_changed"]
            )
        abs_path = os.path.abspath(os.fspath(path))
        info = h5.table_info(abs_path, table_path)
        key = check_key(key) if key is not None else info.path.rsplit("/", 1)[-1]
        digest = h5.hash_table(abs_path, info.path, table_hash_chunk_rows) if hash_table else None
        table_meta: dict[str, Any] = {**meta, **info.to_meta()}
        if parent is not None:
            if not isinstance(parent, Artifact):
                raise ConfigError(
                    f"parent={parent!r} is not an Artifact.",
                    fix="Pass the container artifact returned by log_h5_container / log_artifact.",
                    parameter="parent",
                )
            table_meta.update(parent_artifact_id=parent.id, parent_key=parent.key)
        if profile_file_schema and not (
            profile_file_schema == "if_changed"
            and digest is not None
            and meta.get("file_schema_hash") == digest
        ):
            sample = h5.sample_table(abs_path, info.path, file_schema_sample_rows)
            table_meta["file_schema"] = tabular.frame_schema(sample)
            if digest is not None:
                table_meta["file_schema_hash"] = digest
        artifact = self._log_table(active, abs_path, key, direction, digest, table_meta)
        flow.record_progress(self._services, active)
        return artifact

    def _log_table(
        self,
        active: flow.ActiveRun,
        abs_path: str,
        key: str,
        direction: str,
        digest: str | None,
        meta: dict[str, Any],
    ) -> Artifact:
        artifact = self._log_one(active, abs_path, key, direction, "h5_table", digest, False, meta)
        if direction == "input":
            # Input records are derived from the file; a table is its own piece of it.
            artifact.driver = "h5_table"
            if digest is not None:
                artifact.hash = digest
            table_path = meta["table_path"]
            artifact.id = digest_bytes(f"{artifact.uri}#{table_path}\n{artifact.hash}".encode())[
                :32
            ]
        return artifact

    def log_netcdf_file(
        self, path: str | Path, key: str | None = None, direction: str = "output", **meta: Any
    ) -> Artifact:
        """Log a NetCDF file, recording its variables, dimensions, coordinates and attributes.

        The structure is stored under ``meta["netcdf"]`` (see ``netcdf_metadata``).

        Raises
        ------
        RuntimeError
            If called outside an active run.
        ImportError
            If the ``netcdf`` extra (xarray + h5netcdf) is not installed.
        """
        return self._log_structured("log_netcdf_file", path, key, direction, meta, "netcdf")

    def log_openmatrix_file(
        self, path: str | Path, key: str | None = None, direction: str = "output", **meta: Any
    ) -> Artifact:
        """Log an OpenMatrix (OMX) file, recording its matrices, zones, lookups and attributes.

        The structure is stored under ``meta["openmatrix"]`` (see ``openmatrix_metadata``).

        Raises
        ------
        RuntimeError
            If called outside an active run.
        ImportError
            If h5py (the ``openmatrix`` extra) is not installed.
        """
        return self._log_structured("log_openmatrix_file", path, key, direction, meta, "omx")

    def _log_structured(
        self,
        what: str,
        path: str | Path,
        key: str | None,
        direction: str,
        meta: dict[str, Any],
        driver: str,
    ) -> Artifact:
        from consist.formats import netcdf, openmatrix

        active = self._require_active(what)
        key = check_key(key) if key is not None else default_key(path)
        abs_path = os.path.abspath(os.fspath(path))
        if not os.path.exists(abs_path):
            raise ConfigError(
                f"path={os.fspath(path)!r} does not exist.",
                fix="Write the file before logging it.",
                parameter="path",
            )
        if driver == "netcdf":
            structure = {"netcdf": netcdf.read_metadata(abs_path)}
        else:
            structure = {"openmatrix": openmatrix.read_metadata(abs_path)}
        artifact = self._log_one(
            active, abs_path, key, direction, driver, None, False, {**meta, **structure}
        )
        if direction == "input":
            artifact.driver = driver  # inputs infer it from the suffix; the call says it
        flow.record_progress(self._services, active)
        return artifact
