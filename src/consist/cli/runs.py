"""Commands about runs: ``runs`` (filtered list), ``show``, ``explain`` and ``diff``.

``--since`` keeps runs created at or after a moment: an ISO date or datetime
(``2030-01-31``, ``2030-01-31T08:00``; naive means UTC) or an age (``90m``, ``12h``,
``7d``, ``2w``). ``find_runs`` returns runs newest first, so the runs created since
that moment are the front of its answer: filtering its first ``--limit`` runs gives
exactly the newest ``--limit`` runs since then.

A RUN argument is a run id or a unique start of one (cli/resolve.py).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from consist.cli.render import (
    human_size,
    note,
    print_json,
    print_table,
    print_text,
    short,
    to_plain,
)
from consist.cli.resolve import resolve_run, resolve_run_id
from consist.cli.session import location
from consist.errors import ConfigError
from consist.model.artifact import Artifact
from consist.model.run import Run

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
_AGE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> datetime:
    """``--since`` as a naive UTC datetime (module doc), or a ConfigError."""
    age = _AGE.match(text.strip())
    if age:
        delta = timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
        return datetime.now(UTC).replace(tzinfo=None) - delta
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r} is neither a date, a datetime nor an age.",
            fix="Pass e.g. --since 2030-01-31, --since 2030-01-31T08:00 or --since 7d.",
            parameter="--since",
            value=text,
        ) from None
    return _naive_utc(moment)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def created(run: Run) -> datetime | None:
    value: Any = run.created_at
    if not value:
        return None
    return _naive_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def cache_label(run: Run) -> str:
    if run.cache_hit:
        return "hit"
    outcome = (run.cache_decision or {}).get("outcome")
    return str(outcome) if outcome else ""


def runs(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Model name.")] = None,
    status: Annotated[str | None, typer.Option(help="completed, failed, running...")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A tag the runs carry (repeatable: all).")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Model year.")] = None,
    stage: Annotated[str | None, typer.Option(help="Workflow stage.")] = None,
    phase: Annotated[str | None, typer.Option(help="Workflow phase.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Created since: 2030-01-31, 2030-01-31T08:00, 12h, 7d.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many runs.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List runs, newest first."""
    moment = parse_since(since) if since is not None else None
    with location(ctx).open() as tracker:
        found = tracker.find_runs(
            model=model, status=status, tags=list(tag) if tag else None, year=year,
            stage=stage, phase=phase, limit=limit,
        )  # fmt: skip
    assert isinstance(found, list)
    if moment is not None:
        found = [run for run in found if (when := created(run)) is not None and when >= moment]
    if as_json:
        print_json([run.to_dict() for run in found])
        return
    if not found:
        note("No runs match.")
        return
    rows = [
        (
            run.id, run.model_name, run.status, cache_label(run), run.year, run.stage,
            run.phase, ",".join(run.tags), _time(created(run)), _seconds(run.duration_seconds),
        )
        for run in found
    ]  # fmt: skip
    columns = ("id", "model", "status", "cache", "year", "stage", "phase", "tags", "created", "s")
    print_table(columns, rows, title=f"{len(found)} run(s)")


def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique start of one).")],
    as_json: JsonOption = False,
) -> None:
    """Show a run: config, inputs, outputs, cache source, timings and tags."""
    with location(ctx).open() as tracker:
        record = resolve_run(tracker, run_id)
    run = record.run
    cache = {
        "hit": run.cache_hit,
        "reused_run_id": run.reused_run_id,
        "decision": run.cache_decision,
    }
    if as_json:
        print_json({
            "run": run.to_dict(), "config": record.config, "cache": cache,
            "inputs": [a.to_dict() for a in record.inputs],
            "outputs": [a.to_dict() for a in record.outputs],
        })  # fmt: skip
        return
    decision = (run.cache_decision or {}).get("summary", "")
    source = f"reused run {run.reused_run_id}" if run.cache_hit else "executed"
    facts = [
        ("run", run.id), ("name", run.name), ("model", run.model_name),
        ("status", run.status), ("error", run.error), ("parent", run.parent_run_id),
        ("year", run.year), ("iteration", run.iteration), ("stage", run.stage),
        ("phase", run.phase), ("tags", ", ".join(run.tags)), ("signature", run.signature),
        ("cache", f"{'hit' if run.cache_hit else 'miss'}: {source}"),
        ("decision", decision), ("created", run.created_at), ("started", run.started_at),
        ("ended", run.ended_at), ("duration", _seconds(run.duration_seconds)),
    ]  # fmt: skip
    print_table(("field", "value"), [(k, v) for k, v in facts if v not in (None, "")])
    if record.config not in (None, {}):
        print_text("config:\n" + json.dumps(to_plain(record.config), indent=2, default=str))
    for title, artifacts in (("inputs", record.inputs), ("outputs", record.outputs)):
        if artifacts:
            print_table(("key", "size", "hash", "uri"), _artifact_rows(artifacts), title=title)


def explain(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique start of one).")],
    as_json: JsonOption = False,
) -> None:
    """Why a run was a cache hit or a miss, naming the changed component."""
    with location(ctx).open() as tracker:
        decision = tracker.explain(resolve_run_id(tracker, run_id))
    if as_json:
        print_json(decision.to_dict())
        return
    print_text(decision.summary)
    if decision.changes:
        rows = [(c.component.value, _changed_keys(c.to_dict())) for c in decision.changes]
        print_table(("component", "detail"), rows)


def diff(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(help="Baseline run id (or a unique start of one).")],
    run_b: Annotated[str, typer.Argument(help="Run id to compare with (or a unique start).")],
    as_json: JsonOption = False,
) -> None:
    """Compare two runs: config keys, inputs that differ by digest, outputs."""
    with location(ctx).open() as tracker:
        run_a = resolve_run_id(tracker, run_a, "RUN_A")
        run_b = resolve_run_id(tracker, run_b, "RUN_B")
        result = tracker.compare_runs(run_a, run_b)
    if as_json:
        print_json(result)
        return
    rows: list[tuple[Any, ...]]
    if result["fields"]:
        rows = [(name, _value(a), _value(b)) for name, (a, b) in result["fields"].items()]
        print_table(("field", run_a, run_b), rows, title="run")
    config = result["config"]
    rows = (
        [(key, "changed", _value(a), _value(b)) for key, (a, b) in config["changed"].items()]
        + [(key, "added", "", _value(b)) for key, b in config["added"].items()]
        + [(key, "removed", _value(a), "") for key, a in config["removed"].items()]
    )
    _section("config", rows, run_a, run_b, "no config key differs")
    for side in ("inputs", "outputs"):
        part = result[side]
        rows = (
            [(k, "changed", short(a), short(b)) for k, (a, b) in part["changed"].items()]
            + [(k, "added", "", short(b)) for k, b in part["added"].items()]
            + [(k, "removed", short(a), "") for k, a in part["removed"].items()]
        )
        _section(side, rows, run_a, run_b, f"{side} identical ({len(part['same'])} same)")


def _section(title: str, rows: list[tuple[Any, ...]], a: str, b: str, same: str) -> None:
    if rows:
        print_table(("key", "", a, b), rows, title=title)
    else:
        print_text(f"{title}: {same}")


def _artifact_rows(artifacts: list[Artifact]) -> list[tuple[Any, ...]]:
    return [(a.key, human_size(a.size), short(a.hash), a.uri) for a in artifacts]


def _changed_keys(change: dict[str, Any]) -> str:
    detail = {k: v for k, v in change.items() if k != "component" and v not in (None, [], {})}
    return json.dumps(to_plain(detail), default=str) if detail else ""


def _value(value: Any) -> str:
    return json.dumps(to_plain(value), default=str)


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _seconds(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f}"


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)
    app.command("show")(show)
    app.command("diff")(diff)
    app.command("explain")(explain)
