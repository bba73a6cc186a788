"""Lineage graphs for the web app: runs and artifacts as nodes, data flow as edges.

A graph is built from run records (``Tracker.get_run_record``: JSON snapshots, no
database) by walking upstream from one run: the run, its inputs and outputs, then the
run that produced each input (an input with a producer signature whose ``run_id`` is
another run), and so on up to ``depth`` producer levels. A scenario (a run with child
steps, ``parent_run_id``) brings its steps in too, so the graph of a scenario header
is the whole scenario.

Edges follow the data: input artifact -> run -> output artifact (a scenario header
has no edge to its steps: it is not data, and such edges would flatten the layout's
levels to "step of the scenario"). Artifacts are nodes
by id, so an output read by a later step is one node with an edge in and out. The
graph is capped at ``max_nodes``: past that the walk stops and says so, because a
browser should never be handed a graph it cannot lay out.

The JSON form is Cytoscape.js "elements" (``{"nodes": [{"data": ...}], "edges": ...}``);
each node carries the link a click opens.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from consist.model.artifact import Artifact
from consist.model.run import Run

if TYPE_CHECKING:
    from consist.tracker.tracker import Tracker

DEFAULT_DEPTH = 10
MAX_NODES = 2000


@dataclass(slots=True)
class LineageGraph:
    """Nodes and edges of a lineage graph (see the module doc)."""

    root: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)
    truncated: bool = False

    def add_run(self, run: Run, *, root: bool = False) -> str:
        node_id = f"run:{run.id}"
        self.nodes.setdefault(
            node_id,
            {
                "id": node_id,
                "kind": "run",
                "label": run.name,
                "run_id": run.id,
                "model": run.model_name,
                "status": run.status,
                "hit": run.cache_hit,
                "href": f"/runs/{quote(run.id, safe='')}",
            },
        )
        if root:
            self.nodes[node_id]["root"] = True
        return node_id

    def add_artifact(self, artifact: Artifact) -> str:
        node_id = f"artifact:{artifact.id}"
        self.nodes.setdefault(
            node_id,
            {
                "id": node_id,
                "kind": "artifact",
                "label": artifact.key,
                "uri": artifact.uri,
                "artifact_id": artifact.id,
                "run_id": artifact.run_id,
                "href": artifact_href(artifact),
            },
        )
        return node_id

    def to_elements(self) -> dict[str, list[dict[str, Any]]]:
        """The graph as Cytoscape.js elements (nodes in insertion order, edges sorted)."""
        return {
            "nodes": [{"data": data} for data in self.nodes.values()],
            "edges": [
                {"data": {"id": f"{s}->{t}", "source": s, "target": t}}
                for s, t in sorted(self.edges)
            ],
        }

    def runs(self) -> list[str]:
        return [data["run_id"] for data in self.nodes.values() if data["kind"] == "run"]


def artifact_href(artifact: Artifact) -> str:
    """Where a click on an artifact goes: the run that produced (or first logged) it."""
    if artifact.run_id:
        return f"/runs/{quote(artifact.run_id, safe='')}#artifact-{artifact.id}"
    return "#"


def run_lineage(
    tracker: Tracker, run_id: str, *, depth: int = DEFAULT_DEPTH, max_nodes: int = MAX_NODES
) -> LineageGraph | None:
    """The upstream lineage graph of a run (and of its steps, for a scenario), or None
    when no run ``run_id`` is recorded."""
    root = tracker.get_run_record(run_id, allow_missing=True)
    if root is None:
        return None
    graph = LineageGraph(root=f"run:{run_id}")
    graph.add_run(root.run, root=True)
    steps = tracker.find_runs(parent_id=run_id, limit=max_nodes)
    assert isinstance(steps, list)
    # (run id, producer levels walked to reach it); a scenario's steps are level 0.
    queue: deque[tuple[str, int]] = deque([(run_id, 0)])
    queue.extend((step.id, 0) for step in steps)
    seen = {run_id, *(step.id for step in steps)}
    while queue:
        current, level = queue.popleft()
        record = root if current == run_id else tracker.get_run_record(current, allow_missing=True)
        if record is None:
            continue  # a producer named by an input but not recorded here
        if len(graph.nodes) + 1 + len(record.inputs) + len(record.outputs) > max_nodes:
            graph.truncated = True
            break
        node = graph.add_run(record.run)
        for artifact in record.outputs:
            graph.edges.add((node, graph.add_artifact(artifact)))
        for artifact in record.inputs:
            graph.edges.add((graph.add_artifact(artifact), node))
            producer = _producer(artifact, record.run.id)
            if producer is not None and producer not in seen and level < depth:
                seen.add(producer)
                queue.append((producer, level + 1))
    return graph


def artifact_lineage(
    tracker: Tracker,
    key_or_id: str,
    *,
    direction: str = "upstream",
    depth: int = DEFAULT_DEPTH,
    max_nodes: int = MAX_NODES,
) -> LineageGraph | None:
    """The graph of ``Tracker.get_artifact_lineage`` (upstream: what the artifact was made
    from; downstream: what was made from it), or None when no such artifact is recorded."""
    tree = tracker.get_artifact_lineage(key_or_id, max_depth=depth, direction=direction)
    if tree is None:
        return None
    graph = LineageGraph(root=f"artifact:{tree.artifact.id}")
    graph.add_artifact(tree.artifact)
    graph.nodes[graph.root]["root"] = True
    for node in tree.walk():
        here = graph.add_artifact(node.artifact)
        for step in node.steps:
            if len(graph.nodes) + 1 + len(step.artifacts) > max_nodes:
                graph.truncated = True
                return graph
            run = graph.add_run(step.run)
            for child in step.artifacts:
                far = graph.add_artifact(child.artifact)
                if direction == "upstream":  # child is an input of the run that made node
                    graph.edges.update({(far, run), (run, here)})
                else:  # the run read node and wrote child
                    graph.edges.update({(here, run), (run, far)})
            if not step.artifacts:
                graph.edges.add((run, here) if direction == "upstream" else (here, run))
    return graph


def _producer(artifact: Artifact, consumer_id: str) -> str | None:
    """The run that wrote ``artifact``, when it is another run (not a raw input)."""
    if artifact.producer_signature and artifact.run_id and artifact.run_id != consumer_id:
        return artifact.run_id
    return None
