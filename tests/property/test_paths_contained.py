"""Property: no generated key, suffix or run id leads outside its directory."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from consist.errors import PathEscapeError
from consist.fs.contain import check_ext, check_record_name, join_inside
from consist.fs.layout import RunLayout

# Path-ish alphabet: separators, dots and ordinary characters, so traversals are common.
PATHISH = st.lists(
    st.sampled_from(["a", "b", ".", "..", "../", "/", "\\", "~", "\x00", " ", ":"]), max_size=12
).map("".join)
ROOT = os.path.abspath("/tmp/consist-property-root/outputs/m/run")


def inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


@settings(max_examples=500, deadline=None)
@given(key=st.one_of(PATHISH, st.text(max_size=30)), ext=st.one_of(st.none(), PATHISH))
def test_output_keys_never_escape(key: str, ext: str | None) -> None:
    try:
        path = join_inside(ROOT, key + check_ext(ext), "key")
    except PathEscapeError:
        return
    assert inside(os.path.normpath(path), ROOT)


@settings(max_examples=500, deadline=None)
@given(run_id=st.one_of(PATHISH, st.text(max_size=30)))
def test_run_ids_never_name_a_file_outside_the_snapshots(run_id: str) -> None:
    layout = RunLayout(Path("/tmp/consist-property-root/runs"))
    try:
        check_record_name(run_id, "run_id")
        path = layout.snapshot_path(run_id)
    except PathEscapeError:
        return
    assert os.path.dirname(os.path.normpath(path)) == layout.snapshots_dir
