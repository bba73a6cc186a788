"""Compact HTML for notebooks (``_repr_html_``): runs as a small table, lineage as a tree.

Rules:
- Pure functions of records: no I/O, no tracker, so rendering never touches the store.
- A run row holds its id, model, status, cache outcome (hit / miss / overwrite /
  demoted) with its reason, and its key values: year, iteration, stage, phase, tags,
  and the config keys the cache decision names (what changed since the compared run).
  A :class:`ConsistRecord` (the full snapshot) adds its config's values, flattened to
  dotted keys (the first ``MAX_CONFIG_VALUES``).
- A lineage tree is nested lists: each run has an anchor (``consist-run-<id>``) where it
  first appears, and every later mention of that run links to it, so a shared producer
  is one click away wherever it is met.
- Every value is HTML-escaped; nothing from a record reaches the page unescaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from consist.model.artifact import Artifact
    from consist.model.run import Run

MAX_CONFIG_VALUES = 8
_STYLE = (
    "<style>.consist-html table{border-collapse:collapse;font-size:12px}"
    ".consist-html th,.consist-html td{padding:2px 8px;border-bottom:1px solid #ddd;"
    "text-align:left;vertical-align:top}.consist-html code{font-size:11px}"
    ".consist-html ul{margin:0;padding-left:1.2em}.consist-html .hit{color:#2f855a}"
    ".consist-html .miss{color:#2b6cb0}.consist-html .failed{color:#c53030}</style>"
)
_HEAD = ("run", "model", "status", "cache", "reason", "key values")


def _outcome(run: Run) -> tuple[str, str]:
    decision = run.cache_decision or {}
    outcome = "hit" if run.cache_hit else str(decision.get("outcome") or "")
    return outcome, str(decision.get("summary") or "")


def _key_values(run: Run, config: Mapping[str, Any] | None) -> list[str]:
    values = [
        f"{name}={getattr(run, name)!r}"
        for name in ("year", "iteration", "stage", "phase")
        if getattr(run, name) is not None
    ]
    if run.tags:
        values.append("tags=" + ",".join(run.tags))
    if config:
        values += [f"{k}={v!r}" for k, v in list(config.items())[:MAX_CONFIG_VALUES]]
    else:
        for change in (run.cache_decision or {}).get("changes") or ():
            keys = [
                *change.get("changed", ()),
                *change.get("added", ()),
                *change.get("removed", ()),
            ]
            if keys:
                values.append(f"{change.get('component')} changed: " + ", ".join(keys))
    return values


def _row(run: Run, config: Mapping[str, Any] | None = None) -> str:
    outcome, reason = _outcome(run)
    cells = [
        f'<code title="{escape(run.id)}">{escape(run.id)}</code>',
        escape(run.model_name),
        f'<span class="{escape(run.status)}">{escape(run.status)}</span>',
        f'<span class="{escape(outcome)}">{escape(outcome) or "—"}</span>',
        escape(reason),
        "<br>".join(escape(v) for v in _key_values(run, config)),
    ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def runs_table_html(
    runs: Iterable[Run],
    *,
    title: str | None = None,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """A table of runs, one row each (``configs``: flattened config values by run id)."""
    rows = [_row(run, (configs or {}).get(run.id)) for run in runs]
    caption = f"<caption>{escape(title)}</caption>" if title else ""
    head = "".join(f"<th>{name}</th>" for name in _HEAD)
    body = "".join(rows) or f'<tr><td colspan="{len(_HEAD)}">no runs</td></tr>'
    return (
        f'<div class="consist-html">{_STYLE}<table>{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def flatten_config(config: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b": value}`` (lists and scalars are leaves)."""
    if not isinstance(config, Mapping):
        return {prefix: config} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, name))
        else:
            flat[name] = value
    return flat


def result_html(run: Run, outputs: Mapping[str, Artifact]) -> str:
    """A run's row and its outputs (key and URI), for ``RunResult``."""
    table = runs_table_html([run])
    if not outputs:
        return table
    items = "".join(
        f"<li><b>{escape(key)}</b> <code>{escape(artifact.uri)}</code></li>"
        for key, artifact in outputs.items()
    )
    return table[: -len("</div>")] + f"<div>outputs:<ul>{items}</ul></div></div>"


class LineageStepLike(Protocol):
    @property
    def run(self) -> Run: ...

    @property
    def artifacts(self) -> Sequence[LineageNodeLike]: ...


class LineageNodeLike(Protocol):
    @property
    def artifact(self) -> Artifact: ...

    @property
    def key(self) -> str: ...

    @property
    def steps(self) -> Sequence[LineageStepLike]: ...

    @property
    def repeated(self) -> bool: ...


def lineage_html(tree: LineageNodeLike) -> str:
    """A lineage tree as nested lists; each run links to where it first appears.

    A step is "produced by" when its run's signature is the artifact's producer
    signature (an upstream tree), else "read by" (a downstream tree).
    """
    anchored: set[str] = set()

    def run_item(run: Run, verb: str) -> str:
        outcome, _ = _outcome(run)
        label = (
            f"{verb} <b>{escape(run.name)}</b> ({escape(run.model_name)}, "
            f'<span class="{escape(run.status)}">{escape(run.status)}</span>'
            + (f', <span class="{escape(outcome)}">{escape(outcome)}</span>' if outcome else "")
            + ")"
        )
        target = f"consist-run-{escape(run.id)}"
        if run.id in anchored:
            return f'{label} <a href="#{target}"><code>{escape(run.id)}</code></a>'
        anchored.add(run.id)
        return f'<span id="{target}">{label} <code>{escape(run.id)}</code></span>'

    def node_item(node: LineageNodeLike) -> str:
        text = f"<b>{escape(node.key)}</b> <code>{escape(node.artifact.uri)}</code>"
        if node.repeated:
            text += " (shown above)"
        steps = "".join(
            "<li>"
            + run_item(step.run, _verb(node.artifact, step.run))
            + "<ul>"
            + "".join(f"<li>{node_item(child)}</li>" for child in step.artifacts)
            + "</ul></li>"
            for step in node.steps
        )
        return text + (f"<ul>{steps}</ul>" if steps else "")

    return f'<div class="consist-html">{_STYLE}<ul><li>{node_item(tree)}</li></ul></div>'


def _verb(artifact: Artifact, run: Run) -> str:
    produced = artifact.producer_signature is not None
    return "produced by" if produced and artifact.producer_signature == run.signature else "read by"
