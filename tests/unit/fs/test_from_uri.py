"""RunLayout.from_uri: the run_dir-relative fast path is os.path.join's result."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from consist.fs.layout import RunLayout

_LAYOUT = RunLayout(Path("/srv/runs"))


@given(st.text(alphabet="ab./\\ _-é", max_size=24))
def test_a_relative_uri_resolves_as_joined_parts(rest: str) -> None:
    uri = "./" + rest
    assert _LAYOUT.from_uri(uri) == os.path.join(_LAYOUT.run_dir, *rest.split("/"))


def test_a_root_run_dir_is_joined_not_doubled() -> None:
    layout = RunLayout(Path("/"))
    assert layout.from_uri("./outputs/a.csv") == os.path.join("/", "outputs", "a.csv")
