"""Read-only views over the structure metadata of NetCDF, OpenMatrix and spatial artifacts.

Rules:
- A view covers every recorded artifact of one key (one per run), newest run first. Each
  method takes ``run_id=None``: ``None`` means the newest artifact, a run id picks that
  run's (an unknown one is a ``QueryError`` listing the runs that have it).
- The structure is what the artifact recorded (``log_netcdf_file`` stores it under
  ``meta["netcdf"]``, ``log_openmatrix_file`` under ``meta["openmatrix"]``); an artifact
  logged some other way (plain ``log_artifact``, or any spatial file) is inspected on disk
  when the view first needs it, which needs the format's extra and the file.
- Views return plain dicts/lists/values (copies), never live file handles.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from consist.errors import QueryError
from consist.model.artifact import Artifact


@dataclass(slots=True)
class StructureEntry:
    """One artifact of the key: the run it belongs to, the record, and its local path."""

    run_id: str
    artifact: Artifact
    path: str
    _structure: dict[str, Any] | None = field(default=None, repr=False)


class StructureView:
    """Shared lookup of one artifact's structure; see the subclasses for the accessors."""

    meta_key = ""

    def __init__(
        self,
        concept_key: str,
        entries: list[StructureEntry],
        describe: Callable[[str], dict[str, Any]],
    ) -> None:
        self.concept_key = concept_key
        self._entries = entries
        self._describe = describe

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.concept_key!r}, runs={self.run_ids()})"

    @property
    def artifacts(self) -> list[Artifact]:
        """The artifacts of this key, newest run first."""
        return [entry.artifact for entry in self._entries]

    def run_ids(self) -> list[str]:
        """Ids of the runs that recorded this key, newest first."""
        return [entry.run_id for entry in self._entries]

    def _entry(self, run_id: str | None) -> StructureEntry:
        if run_id is None:
            return self._entries[0]
        for entry in self._entries:
            if entry.run_id == run_id:
                return entry
        raise QueryError(
            f"run_id={run_id!r} has no artifact {self.concept_key!r}.",
            fix=f"Use one of: {', '.join(self.run_ids())}.",
            run_id=run_id,
        )

    def summary(self, run_id: str | None = None) -> dict[str, Any]:
        """The whole structure metadata of the (newest, or ``run_id``'s) artifact."""
        entry = self._entry(run_id)
        if entry._structure is None:
            recorded = entry.artifact.meta.get(self.meta_key) if self.meta_key else None
            if isinstance(recorded, dict):
                entry._structure = recorded
            elif os.path.exists(entry.path):
                entry._structure = self._describe(entry.path)
            else:
                raise QueryError(
                    f"Artifact {self.concept_key!r} of run {entry.run_id!r} recorded no "
                    f"structure and its file {entry.path!r} is gone.",
                    fix="Log such files with log_netcdf_file / log_openmatrix_file, "
                    "or restore the file.",
                    run_id=entry.run_id,
                )
        return copy.deepcopy(entry._structure)

    def _part(self, name: str, run_id: str | None) -> Any:
        return self.summary(run_id).get(name)


class NetCdfMetadataView(StructureView):
    """Variables, dimensions, coordinates and attributes of a NetCDF artifact."""

    meta_key = "netcdf"

    def get_variables(self, run_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Data variables: name → ``{"dims", "shape", "dtype", "attrs"}``."""
        return dict(self._part("variables", run_id) or {})

    def get_dimensions(self, run_id: str | None = None) -> dict[str, int]:
        """Dimension name → size."""
        return dict(self._part("dimensions", run_id) or {})

    def get_coordinates(self, run_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Coordinate variables, in the same shape as :meth:`get_variables`."""
        return dict(self._part("coordinates", run_id) or {})

    def get_attributes(self, run_id: str | None = None) -> dict[str, Any]:
        """Global attributes of the file."""
        return dict(self._part("attributes", run_id) or {})


class OpenMatrixMetadataView(StructureView):
    """Matrices, zones, lookups and attributes of an OpenMatrix artifact."""

    meta_key = "openmatrix"

    def get_matrices(self, run_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Matrix name → ``{"shape", "dtype", "attrs"}``."""
        return dict(self._part("matrices", run_id) or {})

    def get_zones(self, run_id: str | None = None) -> int | None:
        """Number of zones (rows of the matrices)."""
        zones = self._part("zones", run_id)
        return int(zones) if zones is not None else None

    def get_shape(self, run_id: str | None = None) -> list[int] | None:
        """Matrix shape ``[rows, columns]``."""
        shape = self._part("shape", run_id)
        return list(shape) if shape is not None else None

    def get_lookups(self, run_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Zone mapping name → ``{"length", "dtype"}``."""
        return dict(self._part("lookups", run_id) or {})

    def get_attributes(self, run_id: str | None = None) -> dict[str, Any]:
        """Root attributes of the file (OMX bookkeeping attributes left out)."""
        return dict(self._part("attributes", run_id) or {})


class SpatialMetadataView(StructureView):
    """Layers, CRS, geometry type, feature count, bounds and columns of a spatial artifact."""

    meta_key = "spatial"

    def get_layers(self, run_id: str | None = None) -> list[str]:
        return list(self._part("layers", run_id) or [])

    def get_crs(self, run_id: str | None = None) -> str | None:
        crs = self._part("crs", run_id)
        return str(crs) if crs is not None else None

    def get_geometry_type(self, run_id: str | None = None) -> str | None:
        value = self._part("geometry_type", run_id)
        return str(value) if value is not None else None

    def get_feature_count(self, run_id: str | None = None) -> int | None:
        value = self._part("feature_count", run_id)
        return int(value) if value is not None else None

    def get_bounds(self, run_id: str | None = None) -> list[float] | None:
        """``[minx, miny, maxx, maxy]`` of all features, or ``None``."""
        value = self._part("bounds", run_id)
        return [float(v) for v in value] if value is not None else None

    def get_columns(self, run_id: str | None = None) -> dict[str, str]:
        """Attribute column name → type (geometry excluded)."""
        return dict(self._part("columns", run_id) or {})
