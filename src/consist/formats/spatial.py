"""Vector spatial files: GeoJSON, GeoPackage and shapefiles (geopandas / pyogrio, GDAL).

Rules:
- ``load_frame`` reads a file as a ``geopandas.GeoDataFrame`` (keyword options, e.g.
  ``layer=`` for a GeoPackage, go to ``geopandas.read_file``). It needs the ``spatial``
  extra. A shapefile is logged by its ``.shp`` path; its sidecar files (``.shx``, ``.dbf``,
  ``.prj``) must sit beside it.
- ``read_metadata`` inspects a file without reading its geometries::

      {"layers": ["roads", ...],
       "layer": "roads",            # the layer described (the first one)
       "crs": "EPSG:4326",          # or None
       "geometry_type": "Point",
       "feature_count": 3,
       "bounds": [minx, miny, maxx, maxy],   # or None
       "columns": {"name": "object", ...},
       "driver": "GeoJSON"}
"""

from __future__ import annotations

from typing import Any

from consist._libs.extras import import_geopandas, import_pyogrio
from consist.formats.netcdf import json_safe


def load_frame(path: str, **options: Any) -> Any:
    """The spatial file at ``path`` as a GeoDataFrame."""
    return import_geopandas("Loading a spatial file").read_file(path, **options)


def read_metadata(path: str, layer: str | None = None) -> dict[str, Any]:
    """Layers, CRS, geometry type, feature count, bounds and columns of ``path``."""
    pyogrio = import_pyogrio()
    layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    chosen = layer if layer is not None else (layers[0] if layers else None)
    info = pyogrio.read_info(path, layer=chosen, force_feature_count=True, force_total_bounds=True)
    bounds = info.get("total_bounds")
    return {
        "layers": layers,
        "layer": chosen,
        "crs": info.get("crs"),
        "geometry_type": info.get("geometry_type"),
        "feature_count": json_safe(info.get("features")),
        "bounds": json_safe(bounds) if bounds is not None else None,
        "columns": {str(n): str(t) for n, t in zip(info["fields"], info["dtypes"], strict=True)},
        "driver": info.get("driver"),
    }
