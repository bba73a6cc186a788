"""``consist ui`` in a real headless Chromium: click through runs -> run -> lineage
node -> upstream run, compare two runs, pivot a config key, and lay out a 500-node
graph. Each page is saved as a screenshot under docs/images/ (the README shows them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import chromium
from live_server import live_ui
from sample_store import SampleStore
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

import consist
from consist import Tracker


def _wait_graph(driver: WebDriver) -> dict:
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, "graph").get_attribute("data-ready") == "true"
    )
    return driver.execute_script(
        "const l = window.consistLineage; return {nodes: l.nodes, layoutMs: l.layoutMs};"
    )


def _click_to(driver: WebDriver, css: str, path: str) -> None:
    """Click the element at ``css`` and wait until the browser shows ``path``."""
    driver.find_element(By.CSS_SELECTOR, css).click()
    WebDriverWait(driver, 15).until(lambda d: path in d.current_url)
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _click_node(driver: WebDriver, node_id: str) -> None:
    """A real mouse click on a graph node, at the position Cytoscape drew it."""
    spot = driver.execute_script(
        "const n = window.consistLineage.cy.getElementById(arguments[0]);"
        "const p = n.renderedPosition(); const c = document.getElementById('graph');"
        "return {x: p.x, y: p.y, w: c.clientWidth, h: c.clientHeight};",
        node_id,
    )
    container = driver.find_element(By.ID, "graph")
    # Selenium offsets are from the element's centre.
    ActionChains(driver).move_to_element_with_offset(
        container, int(spot["x"] - spot["w"] / 2), int(spot["y"] - spot["h"] / 2)
    ).click().perform()


def test_click_through_runs_run_lineage_and_upstream_run(
    sample: SampleStore, images_dir: Path
) -> None:
    with live_ui(sample.run_dir, sample.db_path) as base, chromium() as driver:
        driver.get(base + "/runs")
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr[data-run]")
        assert [row.get_attribute("data-run") for row in rows][:2] == [
            sample.failed,
            sample.assign,
        ]
        assert len(rows) == 7
        hit_row = driver.find_element(By.CSS_SELECTOR, f'tr[data-run="{sample.demand_hit}"]')
        assert "hit" in hit_row.find_element(By.CSS_SELECTOR, ".badge").text
        driver.save_screenshot(str(images_dir / "ui-runs.png"))

        # runs -> run: open the assign step by its link
        _click_to(driver, f'tr[data-run="{sample.assign}"] a.run-link', f"/runs/{sample.assign}")
        assert driver.find_element(By.ID, "run-title").text.startswith("assign")
        assert "iterations" in driver.find_element(By.ID, "config").text
        inputs = driver.find_element(By.ID, "inputs").text
        assert "trips" in inputs
        assert "miss" in driver.find_element(By.ID, "cache").text
        driver.save_screenshot(str(images_dir / "ui-run.png"))

        # run -> lineage graph
        _click_to(driver, "#lineage-link", "/lineage/run/")
        info = _wait_graph(driver)
        # assign, demand, prepare_zones and their three artifacts
        assert info["nodes"] == 6
        driver.save_screenshot(str(images_dir / "ui-lineage.png"))

        # lineage node -> the upstream run that produced the trips
        _click_node(driver, f"run:{sample.demand}")
        WebDriverWait(driver, 15).until(lambda d: f"/runs/{sample.demand}" in d.current_url)
        WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.ID, "run-title"))
        assert driver.find_element(By.ID, "run-title").text.startswith("demand")
        # ... and on up, through the "produced by" link of its zones input
        _click_to(driver, "#inputs a.run-link", f"/runs/{sample.prepare}")
        assert driver.find_element(By.ID, "run-title").text.startswith("prepare_zones")


def test_diff_scenario_graph_and_config_pivot(sample: SampleStore, images_dir: Path) -> None:
    with live_ui(sample.run_dir, sample.db_path) as base, chromium() as driver:
        driver.get(base + "/runs?model=demand")
        compare = driver.find_element(By.ID, "compare")
        assert not compare.is_enabled()
        for run_id in (sample.demand_changed, sample.demand):
            driver.find_element(By.CSS_SELECTOR, f'input.pick[value="{run_id}"]').click()
        assert compare.is_enabled()
        _click_to(driver, "#compare", "/diff?")
        changed = driver.find_element(By.CSS_SELECTOR, '#diff-config tr[data-key="demand.growth"]')
        assert "changed" in changed.get_attribute("class")
        assert "0.05" in changed.text and "0.02" in changed.text
        trips = driver.find_element(By.CSS_SELECTOR, '#diff-outputs tr[data-key="trips"]')
        assert "changed" in trips.get_attribute("class")
        driver.save_screenshot(str(images_dir / "ui-diff.png"))

        driver.get(f"{base}/lineage/run/{sample.scenario}")
        assert _wait_graph(driver)["nodes"] == 8  # header, 4 steps, 3 artifacts
        driver.save_screenshot(str(images_dir / "ui-scenario.png"))

        driver.get(base + "/facets?model=demand&key=demand.growth")
        groups = driver.find_elements(By.CSS_SELECTOR, "#facet-groups tbody tr")
        assert [g.text.split()[:2] for g in groups] == [["0.02", "2"], ["0.05", "1"]]
        driver.save_screenshot(str(images_dir / "ui-facets.png"))


def test_a_500_node_graph_is_laid_out_in_the_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """250 steps of one scenario, each reading one or two earlier outputs: 501 nodes."""
    monkeypatch.chdir(tmp_path)
    tracker = Tracker(tmp_path / "runs", tmp_path / "db.duckdb", code_identity="callable_module")

    def step(**inputs: Path) -> Path:
        out = consist.output_path("out", ext="txt")
        out.write_text(str(len(inputs)))
        return out

    try:
        header = tracker.run(fn=lambda: None, name="sweep", model="scenario").run.id
        outputs = []
        for i in range(250):
            earlier = {f"in{j}": outputs[j] for j in {i - 1, i // 2} if 0 <= j < i}
            result = tracker.run(
                fn=step, name=f"step{i}", model="chain", config={"i": i}, inputs=earlier,
                outputs=["out"], parent_run_id=header,
            )  # fmt: skip
            outputs.append(result.outputs["out"])
    finally:
        tracker.close()
    with live_ui(tmp_path / "runs", tmp_path / "db.duckdb") as base, chromium() as driver:
        driver.get(f"{base}/lineage/run/{header}")
        info = _wait_graph(driver)
        assert info["nodes"] == 501
        placed = driver.execute_script(
            "return window.consistLineage.cy.nodes().map(n => n.position())"
            ".filter(p => Number.isFinite(p.x) && Number.isFinite(p.y)).length;"
        )
        assert placed == 501
        # The page still answers script calls after the layout (nothing is stuck).
        assert driver.execute_script("return document.readyState") == "complete"
        print(f"500-node lineage layout: {info['layoutMs']:.0f} ms")


def test_unknown_run_pages_are_404_pages(sample: SampleStore) -> None:
    with live_ui(sample.run_dir, sample.db_path) as base, chromium() as driver:
        for path in ("/runs/no-such-run", "/lineage/run/no-such-run"):
            driver.get(base + path)
            assert "no-such-run" in driver.find_element(By.ID, "error").text
            assert driver.title.startswith("Not found")
