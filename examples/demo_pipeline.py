"""Demo: a two-step pipeline run twice on the embedded DuckDB store.

Step 1 (``synthesize``) writes a synthetic population CSV from its config; step 2
(``summarize``) reads it and writes a summary. The second pass finds both steps in the
cache and skips them. A third pass changes step 1's config: step 1 re-runs, and
step 2 re-runs too, because its input's producer changed (Merkle chaining).

Usage: python examples/demo_pipeline.py [WORKSPACE]
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

import consist
from consist import Tracker


def synthesize(config: dict) -> Path:
    """Write ``households.csv`` with ``config['households']`` rows."""
    rng = random.Random(config["seed"])
    out = consist.output_path("households", ext="csv")
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["household_id", "persons", "income"])
        for household in range(config["households"]):
            writer.writerow([household, rng.randint(1, 6), round(rng.lognormvariate(11, 0.6))])
    return out


def summarize(households: Path) -> Path:
    """Write mean household size and income of the synthesized population."""
    with households.open() as handle:
        rows = list(csv.DictReader(handle))
    persons = sum(int(r["persons"]) for r in rows) / len(rows)
    income = sum(int(r["income"]) for r in rows) / len(rows)
    out = consist.output_path("summary", ext="txt")
    out.write_text(f"households={len(rows)} mean_persons={persons:.2f} mean_income={income:.0f}\n")
    return out


def run_pipeline(tracker: Tracker, label: str, households: int) -> None:
    print(f"\n== {label} ==")
    population = tracker.run(
        fn=synthesize,
        config={"households": households, "seed": 42},
        outputs=["households"],
        tags=["demo"],
    )
    summary = tracker.run(
        fn=summarize,
        inputs={"households": population.outputs["households"]},
        outputs=["summary"],
        tags=["demo"],
    )
    for step in (population, summary):
        state = (
            "cache hit (reused " + str(step.run.reused_run_id) + ")"
            if step.cache_hit
            else "ran: " + step.cache_reason.summary
        )
        print(f"  {step.run.model_name:<11} {state}")
    print("  summary:", summary.outputs["summary"].path.read_text().strip())


def main(workspace: Path) -> None:
    workspace.mkdir(parents=True, exist_ok=True)
    with Tracker(run_dir=workspace / "runs", db_path=workspace / "provenance.duckdb") as tracker:
        run_pipeline(tracker, "pass 1: fresh workspace (or cached from an earlier demo)", 1000)
        run_pipeline(tracker, "pass 2: same code, config and inputs -> all cache hits", 1000)
        run_pipeline(tracker, "pass 3: step 1 config changed -> both steps re-run", 2000)
        runs = tracker.find_runs(tags=["demo"], limit=1000)
        hits = sum(1 for run in runs if run.cache_hit)
        print(f"\n{len(runs)} demo runs recorded ({hits} were cache hits).")
        print(f"JSON snapshots: {tracker.run_dir / 'consist_runs'}")
        print(f"DuckDB store:   {tracker.db_path}  (tables: runs, artifacts, run_artifacts)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "./demo_workspace"))
