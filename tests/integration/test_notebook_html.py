"""Notebook HTML (``_repr_html_``) of runs, results, records and lineage trees, rendered
from real runs and read back with an HTML parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import consist
from consist import Tracker
from consist.model.artifact import Artifact
from consist.model.html import lineage_html, runs_table_html
from consist.model.run import Run


class Page(HTMLParser):
    """Rows of table cells as text, ids, and link targets of an HTML fragment."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _write(key: str) -> Path:
    out = consist.output_path(key, ext="txt")
    out.write_text(key)
    return out


def test_run_result_and_record_render_as_tables(tracker: Tracker) -> None:
    def step(growth: float) -> Path:
        return _write("trips")

    first = tracker.run(
        fn=step, name="demand", model="demand", config={"demand": {"growth": 0.02}, "seed": 7},
        runtime_kwargs={"growth": 0.02}, outputs=["trips"], year=2030, tags=["base"],
    )  # fmt: skip
    second = tracker.run(
        fn=step, name="demand", model="demand", config={"demand": {"growth": 0.05}, "seed": 7},
        runtime_kwargs={"growth": 0.05}, outputs=["trips"], year=2030,
    )  # fmt: skip
    hit = tracker.run(
        fn=step, name="demand", model="demand", config={"demand": {"growth": 0.02}, "seed": 7},
        runtime_kwargs={"growth": 0.02}, outputs=["trips"], year=2030, tags=["base"],
    )  # fmt: skip

    head, row = Page(first.run._repr_html_()).rows
    assert head == ["run", "model", "status", "cache", "reason", "key values"]
    assert row[:4] == [first.run.id, "demand", "completed", "miss"]
    assert "first run" in row[4]
    assert row[5].split("\n") == ["year=2030", "tags=base"]

    changed = Page(second._repr_html_())
    assert changed.rows[1][3] == "miss"
    assert "config changed: demand.growth" in changed.rows[1][5]
    assert "trips" in second._repr_html_()  # the outputs under the table

    assert Page(hit._repr_html_()).rows[1][3:5] == [
        "hit",
        f"hit: reused run '{first.run.id}' (same signature)",
    ]
    record = tracker.get_run_record(second.run.id)
    values = Page(record._repr_html_()).rows[1][5].split("\n")
    assert values == ["year=2030", "demand.growth=0.05", "seed=7"]


def test_values_are_escaped() -> None:
    run = Run(id="r<1>", name="n", model_name="<script>alert(1)</script>", status="completed")
    html = runs_table_html([run], title="a & b")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert Page(html).rows[1][:2] == ["r<1>", "<script>alert(1)</script>"]
    assert "no runs" in runs_table_html([])


@dataclass(frozen=True)
class Step:
    run: Run
    artifacts: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Node:
    artifact: Artifact
    key: str
    steps: tuple[Step, ...] = field(default=())
    repeated: bool = False


def test_lineage_tree_links_runs_met_twice() -> None:
    """A shared producer: its first mention is the anchor, the second links to it."""

    def art(key: str, producer: str | None = None) -> Artifact:
        return Artifact(id=key, key=key, uri=f"./{key}.csv", producer_signature=producer)

    prep = Run(id="prep-1", name="prep", model_name="prep", status="completed", signature="p")
    assign = Run(id="assign-1", name="assign", model_name="assign", status="completed")
    zones_a = Node(art("zones", "p"), "zones", (Step(prep, (Node(art("raw"), "raw"),)),))
    zones_b = Node(art("zones", "p"), "zones", (Step(prep, ()),), repeated=True)
    tree = Node(art("skims"), "skims", (Step(assign, (zones_a, zones_b)),))
    page = Page(lineage_html(tree))
    assert page.ids == ["consist-run-assign-1", "consist-run-prep-1"]
    assert page.links == ["#consist-run-prep-1"]
    html = lineage_html(tree)
    assert html.index("skims") < html.index("assign") < html.index("zones") < html.index("raw")


def test_lineage_trees_and_run_sets_of_a_tracker_render(tracker: Tracker) -> None:
    def prepare() -> Path:
        return _write("zones")

    def demand(zones: Path) -> Path:
        return _write("trips")

    prep = tracker.run(fn=prepare, name="prepare", model="prep", outputs=["zones"])
    made = tracker.run(
        fn=demand, name="demand", model="demand", inputs={"zones": prep.outputs["zones"]},
        outputs=["trips"],
    )  # fmt: skip
    upstream = tracker.get_artifact_lineage("trips")
    html = upstream._repr_html_()
    assert Page(html).ids == [f"consist-run-{made.run.id}", f"consist-run-{prep.run.id}"]
    assert html.count("produced by") == 2 and "read by" not in html
    downstream = tracker.get_artifact_lineage("zones", direction="downstream")._repr_html_()
    assert "read by <b>demand</b>" in downstream and "produced by" not in downstream

    runs = tracker.run_set("all")
    page = Page(runs._repr_html_())
    assert [row[0] for row in page.rows[1:]] == [made.run.id, prep.run.id]
    assert "<caption>all</caption>" in runs._repr_html_()
