"""The ``consist ui`` web app: Starlette routes rendering Jinja2 templates.

Rules:
- Read-only: each request opens ``Tracker(run_dir, db_path, access_mode="read")`` and
  closes it before the response is sent. A read tracker writes nothing and opens the
  DuckDB file only for the length of one query (docs/concurrency.md), so no file is
  held between requests and a sweep writing the same store keeps running.
- The app is a client of the public Tracker API (pages.py, graph.py); it has no SQL.
- Unknown runs are 404 pages; bad filter values are messages on the page; any other
  ConsistError is a 400 page naming the problem and its fix. Nothing here writes.

Routes: ``/runs`` (table, filters, paging), ``/runs/<run_id>`` (one run),
``/lineage/run/<run_id>`` (interactive graph; ``.json`` for its elements),
``/lineage/artifact/<key or id>?direction=upstream|downstream`` (the same, for an
artifact, from ``get_artifact_lineage``),
``/diff?a=<run>&b=<run>`` (side by side), ``/facets?model=&key=`` (one config key
across runs), ``/static/...`` (CSS, the graph script, Cytoscape.js).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from consist.errors import ConsistError
from consist.tracker.tracker import Tracker
from consist.web import graph as lineage
from consist.web import pages
from consist.web.format import FILTERS

HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """Where the app reads from: the tracker's ``run_dir`` and ``db_path``."""

    run_dir: Path
    db_path: Path | None


def create_app(run_dir: str | Path, db_path: str | Path | None = None) -> Starlette:
    """The web app over the store at ``run_dir`` / ``db_path`` (read-only)."""
    location = StoreLocation(Path(run_dir), Path(db_path) if db_path is not None else None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(FILTERS)
    templates.env.globals["store"] = location

    @contextmanager
    def reader() -> Iterator[Tracker]:
        tracker = Tracker(location.run_dir, location.db_path, access_mode="read")
        try:
            yield tracker
        finally:
            tracker.close()

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def runs(request: Request) -> Response:
        with reader() as tracker:
            view = pages.runs_page(tracker, request.query_params)
        if view.redirect:
            return RedirectResponse(view.redirect, status_code=303)
        return page(
            request, "runs.html", view=view, statuses=pages.STATUSES, page_sizes=pages.PAGE_SIZES
        )

    def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        with reader() as tracker:
            view = pages.run_view(tracker, run_id)
        if view is None:
            raise HTTPException(404, f"No run {run_id!r} is recorded under {location.run_dir}.")
        return page(request, "run.html", view=view)

    def lineage_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        depth = _depth(request.query_params.get("depth"))
        with reader() as tracker:
            found = lineage.run_lineage(tracker, run_id, depth=depth)
        if found is None:
            raise HTTPException(404, f"No run {run_id!r} is recorded under {location.run_dir}.")
        elements = json.dumps(found.to_elements())
        return page(request, "lineage.html", graph=found, elements=elements, depth=depth)

    def lineage_json(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        with reader() as tracker:
            found = lineage.run_lineage(
                tracker, run_id, depth=_depth(request.query_params.get("depth"))
            )
        if found is None:
            return JSONResponse({"error": f"No run {run_id!r} is recorded."}, status_code=404)
        return JSONResponse({**found.to_elements(), "truncated": found.truncated})

    def artifact_graph(request: Request) -> lineage.LineageGraph:
        key = request.path_params["key"]
        direction = request.query_params.get("direction") or "upstream"
        with reader() as tracker:
            found = lineage.artifact_lineage(
                tracker, key, direction=direction, depth=_depth(request.query_params.get("depth"))
            )
        if found is None:
            raise HTTPException(404, f"No artifact {key!r} is recorded under {location.run_dir}.")
        return found

    def artifact_page(request: Request) -> Response:
        found = artifact_graph(request)
        elements = json.dumps(found.to_elements())
        direction = request.query_params.get("direction") or "upstream"
        return page(
            request, "lineage.html", graph=found, elements=elements, direction=direction,
            depth=_depth(request.query_params.get("depth")),
        )  # fmt: skip

    def artifact_json(request: Request) -> Response:
        found = artifact_graph(request)
        return JSONResponse({**found.to_elements(), "truncated": found.truncated})

    def diff(request: Request) -> Response:
        a = request.query_params.get("a", "").strip()
        b = request.query_params.get("b", "").strip()
        if not (a and b):
            return page(request, "diff.html", view=None, a=a, b=b, error=None)
        with reader() as tracker:
            view = pages.diff_view(tracker, a, b)
        if isinstance(view, str):
            return page(request, "diff.html", 404, view=None, a=a, b=b, error=view)
        return page(request, "diff.html", view=view, a=a, b=b, error=None)

    def facets(request: Request) -> Response:
        with reader() as tracker:
            view = pages.facet_view(tracker, request.query_params)
        return page(request, "facets.html", view=view)

    def home(request: Request) -> Response:
        return RedirectResponse("/runs", status_code=307)

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return page(request, "error.html", exc.status_code, title="Not found", message=exc.detail)

    async def consist_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsistError)
        return page(request, "error.html", 400, title="Cannot show this", message=str(exc))

    routes = [
        Route("/", home),
        Route("/runs", runs),
        Route("/runs/{run_id:path}", run),
        Route("/lineage/run/{run_id:path}.json", lineage_json),
        Route("/lineage/run/{run_id:path}", lineage_page),
        Route("/lineage/artifact/{key:path}.json", artifact_json),
        Route("/lineage/artifact/{key:path}", artifact_page),
        Route("/diff", diff),
        Route("/facets", facets),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: not_found, ConsistError: consist_error},
    )


def _depth(text: str | None) -> int:
    try:
        depth = int(text) if text else lineage.DEFAULT_DEPTH
    except ValueError:
        return lineage.DEFAULT_DEPTH
    return max(0, min(depth, 100))
