"""Commands about artifacts: ``artifacts`` (filtered list) and ``lineage ARTIFACT|RUN``.

``lineage`` takes an artifact (key, the newest artifact with that key, or id) or a
run (id or a unique start of one). An exact run id is tried first, then an artifact
key or id, then a run-id prefix, so a name that is both is read as the run; the
argument's kind is in the output (``kind`` in ``--json``). An artifact's tree is
``Tracker.get_artifact_lineage``; a run's is that of each of its inputs (upstream,
the default: what the run was made from) or each of its outputs (``--downstream``:
everything derived from what it wrote). ``--depth`` is ``max_depth``: artifact levels
below each root (0: the artifacts alone).

``--json`` prints ``{"kind", "direction", "max_depth", "run", "trees"}``: ``run`` is
the run record (null for an artifact) and ``trees`` the lineage trees
(``LineageNode.to_dict()``), one for an artifact, one per input/output for a run.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.tree import Tree

from consist.cli.render import console, human_size, note, print_json, print_table, short
from consist.cli.resolve import find_run_record, resolve_run_id
from consist.cli.session import location
from consist.errors import QueryError
from consist.model.artifact import Artifact
from consist.model.run import ConsistRecord, Run
from consist.query.lineage import LineageNode
from consist.tracker.tracker import Tracker

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def artifacts(
    ctx: typer.Context,
    creator: Annotated[
        str | None, typer.Option(help="Run (id or unique start) that wrote the artifacts.")
    ] = None,
    consumer: Annotated[
        str | None, typer.Option(help="Run (id or unique start) that read the artifacts.")
    ] = None,
    key: Annotated[str | None, typer.Option(help="Artifact key (exact).")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many artifacts.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List artifacts, newest first, by the run that wrote or read them and key."""
    with location(ctx).open() as tracker:
        if creator is not None:
            creator = resolve_run_id(tracker, creator, "--creator")
        if consumer is not None:
            consumer = resolve_run_id(tracker, consumer, "--consumer")
        found = tracker.find_artifacts(creator=creator, consumer=consumer, key=key, limit=limit)
    if as_json:
        print_json([artifact.to_dict() for artifact in found])
        return
    if not found:
        note("No artifacts match.")
        return
    rows = [
        (a.key, a.id, human_size(a.size), short(a.hash), a.run_id, a.created_at, a.uri)
        for a in found
    ]
    columns = ("key", "id", "size", "hash", "run", "created", "uri")
    print_table(columns, rows, title=f"{len(found)} artifact(s)")


def lineage(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="ARTIFACT|RUN",
            help="Artifact key or id, or run id (or a unique start of one).",
        ),
    ],
    downstream: Annotated[
        bool,
        typer.Option("--downstream", help="What derives from it (default: what it was made from)."),
    ] = False,
    depth: Annotated[
        int | None, typer.Option(min=0, help="Artifact levels to walk (default: all).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The lineage tree of an artifact or a run: upstream, or --downstream."""
    direction = "downstream" if downstream else "upstream"
    with location(ctx).open() as tracker:
        record, artifact = _target(tracker, target)
        if record is None:
            assert artifact is not None
            tree = tracker.get_artifact_lineage(artifact.id, max_depth=depth, direction=direction)
            trees = [tree if tree is not None else LineageNode(artifact, artifact.key, 0)]
        else:
            roots = record.outputs if downstream else record.inputs
            trees = [_tree_of(tracker, a, depth, direction) for a in roots]
    run = record.run if record is not None else None
    if as_json:
        print_json({
            "kind": "artifact" if run is None else "run", "direction": direction,
            "max_depth": depth, "run": run.to_dict() if run is not None else None,
            "trees": [tree.to_dict() for tree in trees],
        })  # fmt: skip
        return
    verb = "read by" if downstream else "produced by"
    if run is None:
        console().print(_add(Tree(_artifact_label(trees[0])), trees[0], verb))
        return
    root = Tree(f"run {_run_label(run)}")
    if not trees:
        side = "outputs" if downstream else "inputs"
        root.add(f"(no {side}: nothing {'derives from' if downstream else 'goes into'} it)")
    for tree in trees:
        _add(root.add(_artifact_label(tree)), tree, verb)
    console().print(root)


def _target(tracker: Tracker, text: str) -> tuple[ConsistRecord | None, Artifact | None]:
    """(run record, None) or (None, artifact) for ``text`` (order in the module doc)."""
    record = tracker.get_run_record(text, allow_missing=True)
    if record is not None:
        return record, None
    artifact = tracker.get_artifact(text)
    if artifact is not None:
        return None, artifact
    record = find_run_record(tracker, text, "ARTIFACT|RUN")
    if record is not None:
        return record, None
    raise QueryError(
        f"No artifact or run {text!r} is recorded under {tracker.run_dir}.",
        fix="List artifact keys with `consist artifacts` and run ids with `consist runs`.",
        parameter="ARTIFACT|RUN",
        value=text,
    )


def _tree_of(
    tracker: Tracker, artifact: Artifact, depth: int | None, direction: str
) -> LineageNode:
    tree = tracker.get_artifact_lineage(artifact.id, max_depth=depth, direction=direction)
    # An artifact the store does not know (not synced, or a damaged store): itself alone.
    return tree if tree is not None else LineageNode(artifact, artifact.key, 0)


def _add(branch: Tree, node: LineageNode, verb: str) -> Tree:
    """Hang ``node``'s steps (runs) and their artifacts below ``branch``."""
    for step in node.steps:
        run_branch = branch.add(f"{verb} {_run_label(step.run)}")
        for child in step.artifacts:
            _add(run_branch.add(_artifact_label(child)), child, verb)
    return branch


def _artifact_label(node: LineageNode) -> str:
    artifact = node.artifact
    parts: list[Any] = [node.key, artifact.uri, f"[{short(artifact.id, 8)}]"]
    if node.repeated:
        parts.append("(shown above)")
    return escape("  ".join(str(p) for p in parts))


def _run_label(run: Run) -> str:
    return escape(f"{run.name} ({run.model_name}, {run.status})  {run.id}")


def register(app: typer.Typer) -> None:
    app.command("lineage")(lineage)
    app.command("artifacts")(artifacts)
