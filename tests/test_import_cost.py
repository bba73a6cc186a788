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
