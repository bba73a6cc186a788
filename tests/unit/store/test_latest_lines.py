"""store.base.latest_lines: a sync decodes only the last journal line of each run."""

from __future__ import annotations

from dataclasses import dataclass, field

from consist.store.base import guess_run_id, latest_lines, line_run_id


@dataclass
class Chunk:
    name: str
    lines: list[bytes] = field(default_factory=list)
    end_offset: int = 0
    mine: bool = True


def line(run_id: str, status: str) -> bytes:
    return b'{"schema_version":1,"run":{"id":"%s","status":"%s"}}' % (
        run_id.encode(),
        status.encode(),
    )


def test_the_run_id_is_read_from_the_line_prefix() -> None:
    assert line_run_id(line("r-1", "running")) == "r-1"
    assert line_run_id(b'{"schema_version":1,"run":{"id":"a\\"b"}}') is None  # escaped
    assert line_run_id(b'{"schema_version":2,"run":{"id":"r"}}') is None  # another shape
    assert line_run_id(b"not json") is None


def test_only_each_runs_last_line_is_kept_in_the_order_of_last_lines() -> None:
    chunks = [
        Chunk("a", [line("r1", "running"), line("r2", "running"), line("r1", "completed")]),
        Chunk("b", [line("r3", "completed")]),
    ]
    kept = [(chunk.name, line) for chunk, line in latest_lines(chunks)]
    assert kept == [
        ("a", line("r2", "running")),
        ("a", line("r1", "completed")),
        ("b", line("r3", "completed")),
    ]


def test_lines_whose_id_is_not_read_cheaply_are_all_kept_in_place() -> None:
    odd = b'{"run":{"id":"r1"},"schema_version":1}'
    torn = b'{"schema_version":1,"run":{"id":"r1'
    chunks = [Chunk("a", [line("r1", "running"), odd, torn, line("r1", "completed")])]
    kept = [item[1] for item in latest_lines(chunks)]
    # Both unreadable-by-prefix lines stay (the decoder judges them); the prefixed r1
    # line kept is the last one, after them, so it still wins over the odd line.
    assert kept == [odd, torn, line("r1", "completed")]


def test_guess_run_id_reads_the_prefix_or_else_the_decoded_line() -> None:
    assert guess_run_id(line("r-1", "running")) == "r-1"
    assert guess_run_id(b'{"run":{"id":"r-2"},"schema_version":1}') == "r-2"
    assert guess_run_id(b'{"run":{"id":3}}') is None
    assert guess_run_id(b"torn {") is None
