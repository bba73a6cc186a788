"""caller_file: the first frame outside Consist is the user's file."""

from __future__ import annotations

from consist.identity.code import caller_file


def test_a_direct_call_names_this_file() -> None:
    assert caller_file() == __file__


def test_code_without_a_source_file_gives_none() -> None:
    namespace: dict[str, object] = {"caller_file": caller_file}
    exec(compile("found = caller_file()", "<generated>", "exec"), namespace)
    assert namespace["found"] is None
