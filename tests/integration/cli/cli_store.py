"""A store built by real runs (two steps, a cache hit, a changed config) for the CLI tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import consist
from consist import Tracker


@dataclass(frozen=True)
class Store:
    run_dir: Path
    db_path: Path
    prepare: str  # baseline prepare run (miss)
    prepare_hit: str  # the same step again (hit)
    prepare_alt: str  # growth changed (miss)
    assign: str  # reads prepare's households
    assign_alt: str  # reads prepare_alt's households

    def args(self, *command: str) -> list[str]:
        return ["--run-dir", str(self.run_dir), "--db-path", str(self.db_path), *command]


def prepare(growth: float) -> Path:
    out = consist.output_path("households", ext="csv")
    out.write_text(f"id,size\n1,{growth}\n")
    return out


def assign(households: Path) -> Path:
    out = consist.output_path("skims", ext="csv")
    out.write_text("o,d,t\n" + households.read_text().splitlines()[1] + "\n")
    return out


def build_store(root: Path) -> Store:
    run_dir, db_path = root / "runs", root / "provenance.duckdb"
    with Tracker(run_dir=run_dir, db_path=db_path, code_identity="callable_module") as t:

        def step(growth: float, tags: list[str]) -> consist.RunResult:
            return t.run(
                fn=prepare, name="prepare", model="demand", outputs=["households"],
                config={"scenario": {"growth": growth}, "seed": 7}, runtime_kwargs={"growth": growth},
                year=2030, stage="demand", phase="prepare", tags=tags,
            )  # fmt: skip

        base = step(0.01, ["baseline"])
        hit = step(0.01, ["baseline"])
        alt = step(0.02, ["alt"])

        def route(upstream: consist.RunResult, tags: list[str]) -> consist.RunResult:
            return t.run(
                fn=assign, name="assign", model="traffic", outputs=["skims"],
                inputs={"households": upstream.outputs["households"]},
                config={"iterations": 3}, year=2030, stage="supply", tags=tags,
            )  # fmt: skip

        routed = route(base, ["baseline"])
        routed_alt = route(alt, ["alt"])
    return Store(
        run_dir, db_path, base.run.id, hit.run.id, alt.run.id, routed.run.id, routed_alt.run.id
    )
