"""PostgresStore.assumed_missing (tracker.map's workers): the first lookup of a
signature the driver found missing is skipped, yet a run completed in between is
still a hit (the lookup under the signature's lock asks)."""

from __future__ import annotations

from pathlib import Path

from consist import Tracker, flow
from consist.request import build


def square(config: dict[str, int]) -> int:
    return config["x"] ** 2


def test_a_run_completed_meanwhile_is_still_a_hit(tmp_path: Path, pg_url: str) -> None:
    with Tracker(run_dir=tmp_path / "a", db_path=pg_url, code_identity="callable_module") as a:
        first = a.run(square, name="square", config={"x": 3})
    assert not first.cache_hit and first.value == 9
    # Another machine (its own run_dir: no local index entry) was told "missing".
    with Tracker(run_dir=tmp_path / "b", db_path=pg_url, code_identity="callable_module") as b:
        request = build.request_from_run({"fn": square, "name": "square", "config": {"x": 3}})
        signature = flow.run_signature(b._services, request)
        assert signature == first.run.signature
        store = b._services.store
        with store.assumed_missing([signature]):  # type: ignore[attr-defined]
            assert store.find_completed(signature) is None  # answered without asking
        with store.assumed_missing([signature]):  # type: ignore[attr-defined]
            # The first lookup is the assumption; the one under the lock finds the run.
            again = b.run(square, name="square", config={"x": 3})
        assert again.cache_hit and again.run.reused_run_id == first.run.id
        # Outside, nothing is assumed: the store answers.
        found = store.find_completed(signature)
        assert found is not None and found.run.id == first.run.id
