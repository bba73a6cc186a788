"""Lineage trees: the store's lineage walk (store/links.py) as a tree, and as text.

Upstream, an artifact's step is the run that produced it and that run's inputs hang
below it, down to raw inputs (artifacts no run produced). Downstream, its steps are
the runs that read it, with their outputs below them. ``max_depth`` counts artifact
levels: 0 is the artifact alone, 1 adds its producer (consumers) and their inputs
(outputs), and so on; ``None`` walks to the end.

An artifact met on several paths (a shared input) is expanded once, where it is
nearest the root; elsewhere it appears with ``repeated=True`` and no steps, so the
tree stays as small as the graph.

Printing is plain text with box-drawing characters (no dependency): ``rich`` was
not worth an extra for one tree, and the text reads the same in a log file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from consist.errors import ConfigError, invalid_option
from consist.model.artifact import Artifact
from consist.model.html import lineage_html
from consist.model.run import Run
from consist.store.links import DOWNSTREAM, UPSTREAM, LineageGraph

DIRECTIONS = [UPSTREAM, DOWNSTREAM]


@dataclass(frozen=True, slots=True)
class LineageStep:
    """A run walked through: the producer (upstream) or a consumer (downstream), with
    its inputs (upstream) or outputs (downstream)."""

    run: Run
    artifacts: tuple[LineageNode, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.to_dict(), "artifacts": [a.to_dict() for a in self.artifacts]}


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One artifact in a lineage tree.

    ``key`` is the key the run above linked it under (its own key at the root);
    ``depth`` its level (0 at the root); ``steps`` the runs walked through from it.
    """

    artifact: Artifact
    key: str
    depth: int
    steps: tuple[LineageStep, ...] = ()
    repeated: bool = False

    @property
    def producer(self) -> Run | None:
        """Upstream: the run that produced the artifact (None for a raw input)."""
        return self.steps[0].run if self.steps else None

    def walk(self) -> Iterator[LineageNode]:
        """Every node of the tree, depth first, this one first."""
        yield self
        for step in self.steps:
            for child in step.artifacts:
                yield from child.walk()

    def _repr_html_(self) -> str:
        """The tree as nested lists for notebooks; runs link to where they first appear."""
        return lineage_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact.to_dict(),
            "key": self.key,
            "depth": self.depth,
            "repeated": self.repeated,
            "steps": [step.to_dict() for step in self.steps],
        }


def check_lineage_args(max_depth: object, direction: object) -> None:
    if max_depth is not None and (
        isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0
    ):
        raise ConfigError(
            f"max_depth={max_depth!r} must be a non-negative integer or None.",
            fix="Pass max_depth=3 (0: the artifact alone; None: the whole lineage).",
            parameter="max_depth",
        )
    if direction not in DIRECTIONS:
        raise invalid_option("direction", direction, DIRECTIONS)


def build_tree(graph: LineageGraph) -> LineageNode:
    """The tree of a lineage graph (see the module doc)."""
    expanded: set[str] = set()

    def node(artifact_id: str, key: str, depth: int) -> LineageNode:
        artifact = graph.artifacts[artifact_id]
        runs = graph.steps.get(artifact_id, ())
        if not runs:
            return LineageNode(artifact, key, depth)
        if artifact_id in expanded or depth != graph.depths[artifact_id]:
            return LineageNode(artifact, key, depth, repeated=True)
        expanded.add(artifact_id)
        steps = tuple(
            LineageStep(
                graph.runs[run_id],
                tuple(node(far_id, far_key, depth + 1) for far_key, far_id in graph.far[run_id]),
            )
            for run_id in runs
            if run_id in graph.runs
        )
        return LineageNode(artifact, key, depth, steps)

    root = graph.artifacts[graph.root]
    return node(graph.root, root.key, 0)


def render_tree(tree: LineageNode, direction: str, *, show_run_ids: bool = False) -> str:
    """The tree as indented text: artifacts as ``key  uri``, runs as ``verb name (model,
    status)``, with ``[run <id>]`` when ``show_run_ids``."""
    verb = "produced by" if direction == UPSTREAM else "read by"
    lines = [_artifact_line(tree)]

    def add(node: LineageNode, prefix: str) -> None:
        for i, step in enumerate(node.steps):
            last_step = i == len(node.steps) - 1
            run = step.run
            label = f"{verb} {run.name} ({run.model_name}, {run.status})"
            if show_run_ids:
                label += f" [run {run.id}]"
            lines.append(prefix + ("└── " if last_step else "├── ") + label)
            inner = prefix + ("    " if last_step else "│   ")
            for j, child in enumerate(step.artifacts):
                last = j == len(step.artifacts) - 1
                lines.append(inner + ("└── " if last else "├── ") + _artifact_line(child))
                add(child, inner + ("    " if last else "│   "))

    add(tree, "")
    return "\n".join(lines)


def _artifact_line(node: LineageNode) -> str:
    text = f"{node.key}  {node.artifact.uri}"
    return text + "  (shown above)" if node.repeated else text
