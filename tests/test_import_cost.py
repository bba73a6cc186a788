"""Pay for what you use: ``import consist`` must not load heavy optional dependencies.

Each check runs in a fresh interpreter, since this test process has long since
imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ["pandas", "pyarrow", "duckdb", "sqlalchemy", "pydantic", "git", "numpy"]


def _loaded_after(code: str, cwd: Path) -> dict[str, list[str]]:
    """Run ``code`` (which fills ``stages``) in a new interpreter; return stage -> modules."""
    script = textwrap.dedent(
        """
        import json
        import sys

        HEAVY = {heavy!r}
        stages = {{}}


        def mark(stage):
            stages[stage] = sorted(
                name for name in HEAVY
                if name in sys.modules or any(m.startswith(name + ".") for m in sys.modules)
            )


        {code}
        print(json.dumps(stages))
        """
    ).format(heavy=HEAVY, code=textwrap.dedent(code))
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
        timeout=60,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_consist_loads_no_heavy_dependency(tmp_path: Path) -> None:
    stages = _loaded_after(
        """
        import consist
        mark("import")
        """,
        tmp_path,
    )
    assert stages["import"] == []


def test_accessing_tracker_loads_no_data_or_sql_libraries(tmp_path: Path) -> None:
    stages = _loaded_after(
        """
        import consist
        consist.Tracker
        consist.TrackerConfig
        consist.CacheOptions
        mark("attribute")
        """,
        tmp_path,
    )
    for name in ("pandas", "pyarrow", "sqlalchemy", "pydantic", "numpy", "git"):
        assert name not in stages["attribute"]


def test_constructing_a_tracker_loads_no_data_or_sql_libraries(
    tmp_path: Path, record_property
) -> None:
    stages = _loaded_after(
        f"""
        import consist
        tracker = consist.Tracker(
            run_dir={str(tmp_path / "runs")!r},
            db_path={str(tmp_path / "store.duckdb")!r},
            code_identity="callable_module",
        )
        mark("construct")
        tracker.close()
        mark("close")
        """,
        tmp_path,
    )
    for name in ("pandas", "pyarrow", "sqlalchemy", "pydantic", "numpy", "git"):
        assert name not in stages["construct"]
    # Reported, not asserted: duckdb may be imported lazily once the store is used.
    imports_duckdb = "duckdb" in stages["construct"]
    record_property("tracker_construction_imports_duckdb", imports_duckdb)
    print(f"constructing a Tracker imports duckdb: {imports_duckdb}")
    print(f"closing a Tracker (store sync) imports duckdb: {'duckdb' in stages['close']}")


# Feature implementations the facade imports inside the methods that use them: the hot
# path (construct, run miss and hit, close) never needs them. consist.adapters.base stays:
# RunRequest and Tracker.run annotate ``adapter`` with its types (get_type_hints).
FEATURE_MODULES = [
    "consist.adapters.apply",
    "consist.adapters.facets",
    "consist.adapters.plan",
    "consist.cache.hydrate",
    "consist.cache.in_run",
    "consist.cli",
    "consist.formats.h5",
    "consist.formats.load",
    "consist.formats.netcdf",
    "consist.formats.openmatrix",
    "consist.formats.spatial",
    "consist.formats.structure",
    "consist.formats.zarr",
    "consist.model.html",
    "consist.persist.check",
    "consist.query.artifacts",
    "consist.query.compare",
    "consist.query.config",
    "consist.query.lineage",
    "consist.query.runset",
    "consist.store.duckdb.selection",
    "consist.views",
    "consist.web",
    "consist.workflow",
]


def test_tracker_hot_path_loads_no_feature_module(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import json
        import sys

        FEATURES = {FEATURE_MODULES!r}
        stages = {{}}


        def mark(stage):
            stages[stage] = sorted(
                name for name in sys.modules
                if any(name == f or name.startswith(f + ".") for f in FEATURES)
            )


        import consist
        consist.Tracker
        mark("attribute")
        tracker = consist.Tracker(
            run_dir={str(tmp_path / "runs")!r},
            db_path={str(tmp_path / "store.duckdb")!r},
            code_identity="callable_module",
        )
        mark("construct")


        def step():
            return {{"n": 1}}


        first = tracker.run(step, name="step", config={{"n": 1}})
        second = tracker.run(step, name="step", config={{"n": 1}})
        assert not first.cache_hit and second.cache_hit
        mark("run")
        tracker.close()
        mark("close")
        print(json.dumps(stages))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    stages = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stages == {"attribute": [], "construct": [], "run": [], "close": []}


def test_feature_modules_exist() -> None:
    """The list above names real modules (a rename would make the check vacuous)."""
    import importlib.util

    for name in FEATURE_MODULES:
        assert importlib.util.find_spec(name) is not None, name
