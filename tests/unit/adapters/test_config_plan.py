"""prepare_config: memoised per-file digests, location-free identity, argument checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from consist import ConfigError
from consist.adapters.base import ConfigSource, ConfigTable, ParsedConfig
from consist.adapters.plan import ParsedFileMemo, identity_from_config_plan, prepare_config
from consist.identity.files import FileDigester
from consist.identity.inputs import DigestRef, resolve_input
from consist.integrations.activitysim import ActivitySimConfigAdapter

DATA = Path(__file__).resolve().parents[2] / "data"


class CountingAdapter(ActivitySimConfigAdapter):
    """ActivitySim adapter that counts parses."""

    def __init__(self, root_dirs: Sequence[Path]) -> None:
        super().__init__(root_dirs)
        self.parsed: list[str] = []

    def parse(self, source: ConfigSource) -> ParsedConfig:
        self.parsed.append(source.rel)
        return super().parse(source)

    def tables(self, documents: Mapping[str, object]) -> list[ConfigTable]:
        return []


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "activitysim", tmp_path / "asim")
    return tmp_path / "asim"


def test_an_unchanged_tree_is_not_parsed_again(tree: Path) -> None:
    memo = ParsedFileMemo()
    adapter = CountingAdapter([tree / "overlay", tree / "base"])
    first = prepare_config(adapter, memo=memo)
    assert len(adapter.parsed) == 11
    adapter.parsed.clear()
    again = prepare_config(adapter, memo=memo)
    assert adapter.parsed == [] and again.identity == first.identity
    target = tree / "base" / "auto_ownership_coefficients.csv"
    target.write_text(target.read_text().replace("3.0773", "3.1"))
    changed = prepare_config(adapter, memo=memo)
    assert adapter.parsed == ["auto_ownership_coefficients.csv"]
    assert changed.identity != first.identity


def test_a_base_settings_layer_is_watched(tree: Path) -> None:
    memo = ParsedFileMemo()
    adapter = CountingAdapter([tree / "overlay", tree / "base"])
    first = prepare_config(adapter, memo=memo)
    settings = tree / "base" / "settings.yaml"
    settings.write_text(settings.read_text().replace("chunk_size: 0", "chunk_size: 7"))
    adapter.parsed.clear()
    changed = prepare_config(adapter, memo=memo)
    assert adapter.parsed == ["settings.yaml"] and changed.identity != first.identity


def test_identity_does_not_depend_on_where_the_tree_is(tree: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    shutil.copytree(tree, moved)
    here = prepare_config(ActivitySimConfigAdapter([tree / "overlay", tree / "base"]))
    there = prepare_config(ActivitySimConfigAdapter([moved / "overlay", moved / "base"]))
    assert identity_from_config_plan(here) == identity_from_config_plan(there)
    only_base = prepare_config(ActivitySimConfigAdapter([tree / "base"]))
    assert only_base.identity != here.identity


@pytest.mark.parametrize("bad", ["configs", None, []])
def test_config_dirs_must_be_a_list_of_directories(tree: Path, bad: object) -> None:
    with pytest.raises(ConfigError, match="config_dirs"):
        prepare_config(ActivitySimConfigAdapter(), bad)  # type: ignore[arg-type]


def test_missing_directory_and_non_adapter_are_refused(tree: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        prepare_config(ActivitySimConfigAdapter(), [tree / "missing"])
    with pytest.raises(ConfigError, match="not a config adapter"):
        prepare_config(object(), [tree])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not a ConfigPlan"):
        identity_from_config_plan("abc")  # type: ignore[arg-type]


def test_bad_yaml_names_the_file(tree: Path) -> None:
    (tree / "base" / "broken.yaml").write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="broken.yaml is not valid YAML"):
        prepare_config(ActivitySimConfigAdapter([tree / "base"]))


def test_a_digest_ref_is_used_without_reading_the_path(tmp_path: Path) -> None:
    missing = os.fspath(tmp_path / "never-created")
    resolved = resolve_input(
        "identity", "cfg", DigestRef("ab" * 32, missing),
        digester=FileDigester(), lookup_producer=lambda path: None, parameter="identity_inputs",
    )  # fmt: skip
    assert resolved.digest == "ab" * 32 and resolved.source == "file:" + "ab" * 32
