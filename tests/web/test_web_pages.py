"""The web app's pages over a store built by real runs (Starlette's TestClient), and a
live ``consist ui`` that a writer process records runs beside."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from live_server import live_ui
from sample_store import SampleStore
from starlette.testclient import TestClient

from consist.errors import MissingDependencyError
from consist.web.app import create_app


@pytest.fixture(scope="module")
def client(sample: SampleStore) -> TestClient:
    return TestClient(create_app(sample.run_dir, sample.db_path))


def run_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-run="([^"]+)"', html)


def test_runs_table_lists_runs_newest_first(client: TestClient, sample: SampleStore) -> None:
    response = client.get("/runs")
    assert response.status_code == 200
    assert run_ids(response.text) == [
        sample.failed, sample.assign, sample.demand_hit, sample.demand_changed,
        sample.demand, sample.prepare, sample.scenario,
    ]  # fmt: skip
    assert "config changed (changed: demand.growth)" in response.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/runs"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("model=demand", ["demand_hit", "demand_changed", "demand"]),
        ("status=failed", ["failed"]),
        ("tag=baseline", ["demand_hit", "demand", "scenario"]),
        ("tag=baseline,high_growth", []),
        ("year=2030&model=prep", ["prepare"]),
        ("name=assign", ["assign"]),
        ("q=prepare_zones", ["prepare"]),  # not a run id: searched as a name
        ("model=nothing", []),
    ],
)
def test_runs_table_filters(
    client: TestClient, sample: SampleStore, query: str, expected: list[str]
) -> None:
    html = client.get(f"/runs?{query}").text
    assert run_ids(html) == [getattr(sample, name) for name in expected]
    if not expected:
        assert 'id="no-runs"' in html


def test_runs_table_pages_with_offset(client: TestClient, sample: SampleStore) -> None:
    pages = [client.get(f"/runs?per_page=3&page={n}").text for n in (1, 2, 3, 4)]
    assert [len(run_ids(html)) for html in pages] == [3, 3, 1, 0]
    assert sum((run_ids(html) for html in pages), []) == run_ids(client.get("/runs").text)
    assert 'id="next"' in pages[0] and 'id="next"' not in pages[2]
    assert 'id="prev"' not in pages[0] and 'id="prev"' in pages[1]
    # the filters stay in the paging links
    assert "model=demand" in client.get("/runs?model=demand&per_page=1").text.split('id="next"')[1]


@pytest.mark.parametrize(
    "query, message",
    [("year=abc", "year=&#39;abc&#39; is not a whole number"), ("status=done", "status=")],
)
def test_bad_filters_are_messages_not_errors(client: TestClient, query: str, message: str) -> None:
    response = client.get(f"/runs?{query}")
    assert response.status_code == 200
    assert 'id="error"' in response.text and message in response.text


def test_search_by_run_id_opens_the_run(client: TestClient, sample: SampleStore) -> None:
    response = client.get(f"/runs?q={sample.assign}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/runs/{sample.assign}"


def test_run_page(client: TestClient, sample: SampleStore) -> None:
    html = client.get(f"/runs/{sample.demand_changed}").text
    assert "miss: config changed" in html
    # config as a tree, the input with a link to the run that produced it
    assert '<span class="key">growth</span>: <span class="val">0.05</span>' in html
    inputs = html.split('id="inputs"')[1].split("</table>")[0]
    assert "zones" in inputs and f'href="/runs/{sample.prepare}"' in inputs
    # the run it was compared with, and a diff against it
    assert f'href="/runs/{sample.demand}"' in html
    assert f"/diff?a={sample.demand}&amp;b={sample.demand_changed}" in html
    hit = client.get(f"/runs/{sample.demand_hit}").text
    assert 'class="badge hit"' in hit and "reused run" in hit


def test_scenario_page_lists_its_steps(client: TestClient, sample: SampleStore) -> None:
    html = client.get(f"/runs/{sample.scenario}").text
    steps = html.split('id="steps"')[1].split("</table>")[0]
    for step in (sample.prepare, sample.demand, sample.demand_hit, sample.assign):
        assert step in steps
    assert sample.demand_changed not in steps


def test_unknown_run_is_a_404_page(client: TestClient) -> None:
    response = client.get("/runs/nope")
    assert response.status_code == 404
    assert "No run &#39;nope&#39; is recorded" in response.text


def test_lineage_of_a_run_walks_upstream(client: TestClient, sample: SampleStore) -> None:
    graph = client.get(f"/lineage/run/{sample.assign}.json").json()
    runs = {n["data"]["run_id"] for n in graph["nodes"] if n["data"]["kind"] == "run"}
    assert runs == {sample.assign, sample.demand, sample.prepare}
    labels = {n["data"]["id"]: n["data"]["label"] for n in graph["nodes"]}
    edges = {(labels[e["data"]["source"]], labels[e["data"]["target"]]) for e in graph["edges"]}
    assert edges == {
        ("prepare_zones", "zones"), ("zones", "demand"), ("demand", "trips"),
        ("trips", "assign"), ("assign", "skims"),
    }  # fmt: skip
    hrefs = {n["data"]["label"]: n["data"]["href"] for n in graph["nodes"]}
    assert hrefs["demand"] == f"/runs/{sample.demand}"
    assert graph["truncated"] is False
    # depth=0: the run and its own artifacts only
    shallow = client.get(f"/lineage/run/{sample.assign}.json?depth=0").json()
    assert {n["data"]["label"] for n in shallow["nodes"]} == {"assign", "trips", "skims"}


def test_lineage_of_a_scenario_holds_its_steps(client: TestClient, sample: SampleStore) -> None:
    graph = client.get(f"/lineage/run/{sample.scenario}.json").json()
    runs = {n["data"]["run_id"] for n in graph["nodes"] if n["data"]["kind"] == "run"}
    assert runs == {
        sample.scenario,
        sample.prepare,
        sample.demand,
        sample.demand_hit,
        sample.assign,
    }
    page = client.get(f"/lineage/run/{sample.scenario}").text
    elements = page.split('id="elements">')[1].split("</script>")[0]
    assert json.loads(elements)["nodes"] == graph["nodes"]
    assert client.get("/lineage/run/nope.json").status_code == 404
    assert client.get("/lineage/run/nope").status_code == 404


def test_diff_page(client: TestClient, sample: SampleStore) -> None:
    html = client.get(f"/diff?a={sample.demand}&b={sample.demand_changed}").text
    row = re.search(r'<tr class="changed" data-key="demand.growth">(.*?)</tr>', html, re.S)
    assert row is not None and "0.02" in row.group(1) and "0.05" in row.group(1)
    assert '<tr class="equal" data-key="demand.mode">' in html
    outputs = html.split('id="diff-outputs"')[1].split("</table>")[0]
    assert 'class="changed" data-key="trips"' in outputs
    inputs = html.split('id="diff-inputs"')[1].split("</table>")[0]
    assert 'class="equal" data-key="zones"' in inputs
    missing = client.get(f"/diff?a={sample.demand}&b=nope")
    assert missing.status_code == 404 and "No run &#39;nope&#39;" in missing.text
    assert client.get("/diff").status_code == 200  # the empty form


def test_facet_pivot(client: TestClient, sample: SampleStore) -> None:
    html = client.get("/facets?model=demand&key=demand.growth").text
    groups = html.split('id="facet-groups"')[1].split("</table>")[0]
    cells = re.findall(r'<td class="(?:mono|num)">([^<]+)</td>', groups)
    assert cells == ["0.02", "2", "0.05", "1"]
    choices = client.get("/facets?model=demand").text
    assert '<option value="demand.growth"' in choices and '<option value="seed"' in choices
    assert "Choose a model" in client.get("/facets").text


def test_the_app_writes_nothing(sample: SampleStore, client: TestClient) -> None:
    def files() -> dict[str, int]:
        root = sample.run_dir.parent
        return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}

    before = files()
    for url in ("/runs", f"/runs/{sample.assign}", f"/lineage/run/{sample.scenario}",
                f"/diff?a={sample.demand}&b={sample.demand_hit}", "/facets?model=demand&key=seed"):  # fmt: skip
        assert client.get(url).status_code == 200
    assert files() == before


WRITER = textwrap.dedent(
    """
    import sys
    from consist import Tracker
    tracker = Tracker(sys.argv[1], sys.argv[2], code_identity="callable_module")
    for i in range(3):
        tracker.run(fn=lambda: None, name=f"while_browsing_{i}", model="late", config={"i": i})
        tracker.sync_store()
    tracker.close()
    """
)


def test_a_writer_records_runs_while_the_app_serves(sample: SampleStore, tmp_path: Path) -> None:
    """The app holds no DuckDB file between requests: a writer process syncs while it
    serves, and the next page shows the new runs."""
    with live_ui(sample.run_dir, sample.db_path) as base:
        with urllib.request.urlopen(base + "/runs") as response:
            assert response.status == 200
        done = subprocess.run(
            [sys.executable, "-c", WRITER, str(sample.run_dir), str(sample.db_path)],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        with urllib.request.urlopen(base + "/runs?model=late") as response:
            html = response.read().decode()
    assert len(run_ids(html)) == 3


def test_ui_command_and_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from consist._libs.web import require_ui
    from consist.cli.app import app

    result = CliRunner().invoke(app, ["ui", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--open"):
        assert option in result.output
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingDependencyError, match=r"consist\[ui\]"):
        require_ui()


def test_ui_binds_loopback_and_opens_no_browser_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    import consist.web.serve as serve
    from consist.cli.app import app

    calls: list[tuple] = []
    monkeypatch.setattr(serve, "serve_ui", lambda *args, **kwargs: calls.append((args, kwargs)))
    runner = CliRunner()
    assert runner.invoke(app, ["--run-dir", str(tmp_path), "ui"]).exit_code == 0
    assert (
        runner.invoke(app, ["ui", "--host", "0.0.0.0", "--port", "9001", "--open"]).exit_code == 0
    )
    (args, first), (_, second) = calls
    assert args[0] == tmp_path
    assert first == {"host": "127.0.0.1", "port": 8765, "open_browser": False}
    assert second == {"host": "0.0.0.0", "port": 9001, "open_browser": True}


def _runs_and_edges(graph: dict) -> tuple[set[str], set[tuple[str, str]]]:
    labels = {n["data"]["id"]: n["data"]["label"] for n in graph["nodes"]}
    runs = {n["data"]["run_id"] for n in graph["nodes"] if n["data"]["kind"] == "run"}
    edges = {(labels[e["data"]["source"]], labels[e["data"]["target"]]) for e in graph["edges"]}
    return runs, edges


def test_artifact_lineage_upstream_and_downstream(client: TestClient, sample: SampleStore) -> None:
    runs, edges = _runs_and_edges(client.get("/lineage/artifact/skims.json").json())
    assert runs == {sample.assign, sample.demand, sample.prepare}
    assert edges == {
        ("prepare_zones", "zones"), ("zones", "demand"), ("demand", "trips"),
        ("trips", "assign"), ("assign", "skims"),
    }  # fmt: skip
    down = client.get("/lineage/artifact/zones.json?direction=downstream").json()
    runs, edges = _runs_and_edges(down)
    # every run that read zones (the hit too), and what was made from their outputs
    assert runs == {sample.demand, sample.demand_changed, sample.demand_hit, sample.assign}
    assert ("zones", "demand") in edges and ("trips", "assign") in edges
    assert ("prepare_zones", "zones") not in edges
    page = client.get("/lineage/artifact/zones?direction=downstream").text
    assert 'id="artifact-key">zones<' in page and "Made with" in page
    assert client.get("/lineage/artifact/nope").status_code == 404
    bad = client.get("/lineage/artifact/zones?direction=sideways")
    assert bad.status_code == 400 and "direction=" in bad.text
    # the run page links each artifact to its lineage
    run_page = client.get(f"/runs/{sample.assign}").text
    assert "/lineage/artifact/" in run_page and "?direction=upstream" in run_page
