"""Run arguments of the CLI: a full run id, or a unique prefix of one.

Rules: an exact id wins (one snapshot read, ``get_run_record``). Otherwise the
argument is matched as a prefix of every recorded run id (``find_runs(limit=None)``,
so this fallback reads every run: it costs as much as ``consist runs --limit 0``
would without a limit, and only when the exact lookup failed). One match is the
run; several are an error listing them (newest first, at most ``_SHOWN``); none is
an error pointing at ``consist runs``. Run ids start with the step name
(``<name>-<UTC time>-<random>``), so ``prepare-20300131T08`` is a natural prefix.
"""

from __future__ import annotations

from consist.errors import QueryError
from consist.model.run import ConsistRecord
from consist.tracker.tracker import Tracker

_SHOWN = 10  # candidates listed in an "ambiguous prefix" error


def matching_run_ids(tracker: Tracker, prefix: str) -> list[str]:
    """Ids of the recorded runs starting with ``prefix``, newest first."""
    found = tracker.find_runs(limit=None)
    assert isinstance(found, list)
    return [run.id for run in found if run.id.startswith(prefix)]


def find_run_record(tracker: Tracker, text: str, parameter: str) -> ConsistRecord | None:
    """The run ``text`` names (id or unique id prefix), None if no run matches.

    Raises QueryError naming ``parameter`` when the prefix matches several runs.
    """
    record = tracker.get_run_record(text, allow_missing=True)
    if record is not None or not text:
        return record
    candidates = matching_run_ids(tracker, text)
    if not candidates:
        return None
    if len(candidates) > 1:
        listed = ", ".join(candidates[:_SHOWN])
        more = f" and {len(candidates) - _SHOWN} more" if len(candidates) > _SHOWN else ""
        raise QueryError(
            f"{parameter} {text!r} is the start of {len(candidates)} run ids: {listed}{more}.",
            fix="Pass more characters of the run id, or the whole id.",
            parameter=parameter,
            value=text,
        )
    return tracker.get_run_record(candidates[0], allow_missing=True)


def resolve_run(tracker: Tracker, text: str, parameter: str = "RUN") -> ConsistRecord:
    """The run ``text`` names (id or unique id prefix), or a QueryError."""
    record = find_run_record(tracker, text, parameter)
    if record is None:
        named = "" if parameter == "RUN" else f" ({parameter})"
        raise QueryError(
            f"No run {text!r}{named} is recorded under {tracker.run_dir} "
            "(neither as an id nor as the start of one).",
            fix="List run ids with `consist runs`.",
            parameter=parameter,
            value=text,
        )
    return record


def resolve_run_id(tracker: Tracker, text: str, parameter: str = "RUN") -> str:
    """The full id of the run ``text`` names (see :func:`resolve_run`)."""
    return resolve_run(tracker, text, parameter).run.id
