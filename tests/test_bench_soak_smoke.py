"""Smoke test of benchmarks/bench_soak.py: a tiny soak runs and loses nothing.

The full soak (8 x 500 runs) is a benchmark, run by hand; this only checks that the
script works end to end and that its report has the promised shape. No timing is
asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_soak.py"


def test_a_small_soak_records_every_run_once(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--processes", "2", "--runs", "20"]
        + ["--work-dir", str(tmp_path / "work"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert json.loads(out.read_text()) == report

    assert report["attempted"] == 40 and report["returned"] == 40
    assert report["errors"] == 0, report["error_samples"]
    assert report["lost"] == 0
    assert report["recorded"]["find_runs"] == 40
    assert report["recorded"]["snapshots"] == 40
    # 2 runs in 5 are shared, each shared config visited twice per worker: 4 shared
    # configs + 12 distinct ones per worker. Each runs once (signature locks), the
    # other 12 shared calls are hits.
    assert report["distinct_configs"] == 4 + 2 * 12
    assert report["executions"] == report["distinct_configs"]
    assert report["excess_executions"] == 0
    assert report["cache_hits"] == 12
    for key in ("p50", "p99", "max"):
        assert report["run_ms"][key] >= 0
    assert report["run_ms"]["n"] == 40
    by_kind = report["run_ms_by_kind"]
    assert by_kind["hit"]["n"] == report["cache_hits"]
    assert sum(kind["n"] for kind in by_kind.values()) == 40
    assert report["run_ms"]["p50"] <= report["run_ms"]["p99"] <= report["run_ms"]["max"]
    assert report["slowest_run"]["ms"] == report["run_ms"]["max"]
    assert report["wall_seconds"] > 0
    # The run directory is removed afterwards unless --keep is given.
    assert list((tmp_path / "work").iterdir()) == []
