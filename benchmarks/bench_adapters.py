"""Benchmark of config-adapter identity on a realistic generated ActivitySim config tree.

Usage::

    python benchmarks/bench_adapters.py [--files 200] [--repeats 200] [--work-dir DIR]
                                        [--out FILE]

Generates an overlay + base ActivitySim tree (settings.yaml with inherit_settings, model
YAML files with CONSTANTS, expression specs and coefficient CSVs, ~``--files`` files and a
few MB), then measures ``prepare_config`` + ``identity_from_config_plan``:

* ``first_ms``: a cold plan in a fresh process state (every file parsed and digested);
* ``unchanged_ms``: median (and p90) of re-plans with nothing changed (per-file memo:
  one directory scan and one stat per file, no parse); target <= 5 ms;
* ``one_file_changed_ms``: a re-plan after one coefficient file changed;
* ``run_first_ms`` / ``run_hit_ms``: a whole ``tracker.run(fn, adapter=...)`` (JSON-only
  tracker) on that tree, first (plan, bundle, slices, ~200 input artifacts) and as a
  cache hit (median of ``--run-repeats``).

Prints ONE JSON object on stdout; figures are wall-clock milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from consist import Tracker
from consist.adapters.plan import MEMO, identity_from_config_plan, prepare_config
from consist.integrations.activitysim import ActivitySimConfigAdapter

TARGET_UNCHANGED_MS = 5.0


def generate_tree(root: Path, files: int, seed: int = 7) -> tuple[Path, Path]:
    """An overlay + base tree with about ``files`` files in total."""
    rng = random.Random(seed)
    base, overlay = root / "base", root / "overlay"
    base.mkdir(parents=True)
    overlay.mkdir(parents=True)
    models = [f"model_{i:03d}" for i in range(max(1, (files - 4) // 3))]
    settings = ["# generated settings", "households_sample_size: 0", "chunk_size: 0", "models:"]
    settings += [f"  - {m}" for m in models]
    (base / "settings.yaml").write_text("\n".join(settings) + "\n")
    (overlay / "settings.yaml").write_text("inherit_settings: true\nhouseholds_sample_size: 5000\n")
    for model in models:
        coefficients = [f"coef_{model}_{j}" for j in range(400)]
        (base / f"{model}.yaml").write_text(
            f"SPEC: {model}.csv\nCOEFFICIENTS: {model}_coefficients.csv\nLOGIT_TYPE: MNL\n"
            "CONSTANTS:\n" + "".join(f"  c{j}: {rng.random():.6f}\n" for j in range(20))
        )
        spec = ["Label,Description,Expression,alt_a,alt_b,alt_c"]
        for j, name in enumerate(coefficients):
            spec.append(f"util_{j},Term {j},@df.x{j} * {rng.random():.4f},{name},,{name}")
        (base / f"{model}.csv").write_text("\n".join(spec) + "\n")
        rows = ["coefficient_name,value,constrain"]
        rows += [f"{name},{rng.uniform(-2, 2):.8f},F" for name in coefficients]
        (base / f"{model}_coefficients.csv").write_text("\n".join(rows) + "\n")
    # The overlay replaces a couple of coefficient files, as scenario overlays do.
    for model in models[:2]:
        shutil.copy(base / f"{model}_coefficients.csv", overlay / f"{model}_coefficients.csv")
    return overlay, base


def _plan_ms(adapter: ActivitySimConfigAdapter) -> tuple[float, str]:
    start = time.perf_counter()
    plan = prepare_config(adapter, with_tables=False)
    identity = identity_from_config_plan(plan)
    return (time.perf_counter() - start) * 1000, identity


def _noop() -> None:
    return None


def _runs(work: Path, adapter: ActivitySimConfigAdapter, repeats: int) -> tuple[float, list[float]]:
    tracker = Tracker(run_dir=work / "runs", db_path=None, code_identity="callable_module")
    try:
        start = time.perf_counter()
        tracker.run(fn=_noop, name="asim", adapter=adapter)
        first = (time.perf_counter() - start) * 1000
        hits = []
        for _ in range(repeats):
            start = time.perf_counter()
            assert tracker.run(fn=_noop, name="asim", adapter=adapter).cache_hit
            hits.append((time.perf_counter() - start) * 1000)
    finally:
        tracker.close()
    return first, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--run-repeats", type=int, default=30)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="consist-bench-adapters-", dir=args.work_dir))
    try:
        overlay, base = generate_tree(work / "configs", args.files)
        all_files = [p for d in (overlay, base) for p in d.iterdir()]
        adapter = ActivitySimConfigAdapter(root_dirs=[overlay, base])
        MEMO.clear()
        first_ms, identity = _plan_ms(adapter)
        timings = []
        for _ in range(args.repeats):
            ms, again = _plan_ms(adapter)
            assert again == identity
            timings.append(ms)
        timings.sort()
        run_first_ms, run_hits = _runs(work, adapter, args.run_repeats)
        target = base / sorted(p.name for p in base.glob("*_coefficients.csv"))[-1]
        target.write_text(target.read_text().replace(",F\n", ",T\n", 1))
        changed_ms, changed = _plan_ms(adapter)
        assert changed != identity
        report = {
            "benchmark": "bench_adapters",
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "files": len(all_files),
            "bytes": sum(p.stat().st_size for p in all_files),
            "first_ms": round(first_ms, 2),
            "unchanged_ms": {
                "median": round(statistics.median(timings), 3),
                "p90": round(timings[int(len(timings) * 0.9) - 1], 3),
                "min": round(timings[0], 3),
            },
            "one_file_changed_ms": round(changed_ms, 2),
            "run_first_ms": round(run_first_ms, 1),
            "run_hit_ms": round(statistics.median(run_hits), 2),
            "target_unchanged_ms": TARGET_UNCHANGED_MS,
            "unchanged_meets_target": statistics.median(timings) <= TARGET_UNCHANGED_MS,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
