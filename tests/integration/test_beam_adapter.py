"""BEAM config adapter on the example HOCON tree in tests/data/beam (beam.conf includes
common.conf)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from consist import ConfigError, Tracker
from consist.integrations.beam import BeamConfigAdapter

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def beam(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "beam", tmp_path / "beam")
    return tmp_path / "beam"


def _identity(tracker: Tracker, adapter: BeamConfigAdapter) -> str:
    return tracker.identity_from_config_plan(tracker.prepare_config(adapter, adapter.root_dirs))


def test_includes_and_substitutions_are_resolved(tracker: Tracker, beam: Path) -> None:
    adapter = BeamConfigAdapter(root_dirs=[beam], primary_config="beam.conf")
    plan = tracker.prepare_config(adapter, adapter.root_dirs)
    assert [f.rel for f in plan.files] == ["beam.conf"]
    document = plan.documents["beam.conf"]
    assert isinstance(document, dict)
    assert document["beam"]["routing"]["r5"]["departureWindow"] == 1.0167  # from the include
    assert document["beam"]["outputs"]["baseOutputDirectory"] == "output/sf-light"
    rows = {(r[1], r[2]) for r in plan.tables[0].rows}
    assert ("beam.agentsim.lastIteration", "0") in rows


def test_reformatting_keeps_identity_and_values_or_includes_change_it(
    tracker: Tracker, beam: Path
) -> None:
    adapter = BeamConfigAdapter(root_dirs=[beam], primary_config="beam.conf")
    before = _identity(tracker, adapter)
    conf = beam / "beam.conf"
    text = conf.read_text()
    # Comments, ':' for '=', nested braces for dotted keys: the same configuration.
    reformatted = (
        text.replace("# BEAM scenario (trimmed)", "// another comment")
        .replace("beam.agentsim.lastIteration = 0", "beam { agentsim { lastIteration: 0 } }")
        .replace("= 0.1", ": 0.10")
    )
    conf.write_text(reformatted)
    assert _identity(tracker, adapter) == before
    conf.write_text(reformatted.replace("lastIteration: 0", "lastIteration: 2"))
    changed = _identity(tracker, adapter)
    assert changed != before
    common = beam / "common.conf"  # only reached through the include
    common.write_text(common.read_text().replace("1.0167", "2.0"))
    assert _identity(tracker, adapter) not in (before, changed)


def test_run_with_beam_adapter_misses_naming_the_file(tracker: Tracker, beam: Path) -> None:
    adapter = BeamConfigAdapter(root_dirs=[beam])
    tracker.run(fn=lambda: None, name="beam", adapter=adapter)
    common = beam / "common.conf"
    common.write_text(common.read_text().replace("epsg:26910", "epsg:32610"))
    result = tracker.run(fn=lambda: None, name="beam", adapter=adapter)
    assert not result.cache_hit
    summary = tracker.explain(result.run.id).summary
    # common.conf changed, and so did beam.conf's resolved document that includes it.
    assert "beam:common.conf" in summary and "beam:beam.conf" in summary


def test_bad_hocon_and_missing_primary_are_config_errors(tracker: Tracker, beam: Path) -> None:
    with pytest.raises(ConfigError, match="primary_config"):
        tracker.prepare_config(BeamConfigAdapter(primary_config="nope.conf"), [beam])
    (beam / "broken.conf").write_text("a = {\n")
    with pytest.raises(ConfigError, match="cannot be read as HOCON"):
        tracker.prepare_config(BeamConfigAdapter(), [beam])
