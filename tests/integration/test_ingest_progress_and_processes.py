"""Ingestion's progress bar (drawn on a terminal only) and two processes ingesting into
one store at the same time."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from consist._libs.progress import row_progress

pytest.importorskip("dlt")
pytest.importorskip("rich")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only() -> None:
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        with row_progress("ingest trips", stream=stream) as advance:
            advance(5)
    assert "ingest trips" in terminal.getvalue()
    assert "\x1b[" in terminal.getvalue()  # terminal control sequences
    assert log.getvalue() == ""


_INGEST = textwrap.dedent(
    """
    import sys
    from consist import Tracker
    root, name, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tracker = Tracker(root + "/runs", root + "/p.duckdb", code_identity="callable_module")
    with tracker.trace("load_" + name, config={"name": name}):
        art = tracker.log_artifact(root + "/" + name + ".csv", "trips")
        tracker.ingest(art, data=[{"zone": i, "trips": float(i)} for i in range(rows)])
    tracker.close()
    """
)


def _script(tmp_path: Path, names: list[str]) -> Path:
    for name in names:
        (tmp_path / f"{name}.csv").write_text("zone,trips\n1,1.0\n")
    script = tmp_path / "ingest.py"
    script.write_text(_INGEST)
    return script


def test_ingest_on_a_terminal_draws_the_bar(tmp_path: Path) -> None:
    script = _script(tmp_path, ["a"])
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), "a", "50"],
        stderr=follower,
        stdout=subprocess.DEVNULL,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    assert proc.wait(timeout=300) == 0, drawn.decode(errors="replace")
    os.close(leader)
    assert b"ingest trips" in drawn


def test_two_processes_ingest_into_one_store_at_once(tmp_path: Path) -> None:
    script = _script(tmp_path, ["a", "b"])
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), name, str(rows)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, rows in (("a", 3000), ("b", 2000))
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode(errors="replace")  # stderr: no bar, no TTY
        assert b"\x1b[" not in err
    conn = duckdb.connect(str(tmp_path / "p.duckdb"), read_only=True)
    try:
        got = conn.execute(
            "SELECT r.model_name, count(*) FROM global_tables.trips t "
            "JOIN runs r ON r.id = t.consist_run_id GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        conn.close()
    assert got == [("load_a", 3000), ("load_b", 2000)]
