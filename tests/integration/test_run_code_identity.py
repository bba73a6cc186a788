"""End-to-end tests of Tracker.run code identity modes: callable_source, callable_module, repo_git."""

import subprocess
from pathlib import Path

import pytest

from consist import (
    CacheOptions,
    Tracker,
)

# --- code identity --------------------------------------------------------------------

STEP_V1 = "X = 1\n\n\ndef step():\n    return None\n"
STEP_V1_OTHER_MODULE_CODE = "X = 2\n\n\ndef step():\n    return None\n"
STEP_V2 = "X = 1\n\n\ndef step():\n    return 'edited'\n"


def test_callable_source_tracks_only_the_function_source(tracker: Tracker, write_module) -> None:
    v1 = write_module("v1/mod.py", STEP_V1)
    other = write_module("v1b/mod.py", STEP_V1_OTHER_MODULE_CODE)
    v2 = write_module("v2/mod.py", STEP_V2)
    opts = CacheOptions(code_identity="callable_source")

    first = tracker.run(fn=v1.step, cache_options=opts)
    same_source = tracker.run(fn=other.step, cache_options=opts)
    edited = tracker.run(fn=v2.step, cache_options=opts)

    assert first.run.code_identity_mode == "callable_source"
    assert same_source.cache_hit
    assert not edited.cache_hit
    assert edited.run.git_hash != first.run.git_hash


def test_callable_module_tracks_the_whole_file(tracker: Tracker, write_module) -> None:
    v1 = write_module("v1/mod.py", STEP_V1)
    copy = write_module("copy/mod.py", STEP_V1)
    other = write_module("v1b/mod.py", STEP_V1_OTHER_MODULE_CODE)
    opts = CacheOptions(code_identity="callable_module")

    first = tracker.run(fn=v1.step, cache_options=opts)
    same_file_bytes = tracker.run(fn=copy.step, cache_options=opts)
    module_changed = tracker.run(fn=other.step, cache_options=opts)

    assert first.run.code_identity_mode == "callable_module"
    assert same_file_bytes.cache_hit
    assert not module_changed.cache_hit


def test_callable_module_is_the_file_as_the_process_first_ran_the_function(
    tracker: Tracker, write_module, tmp_path: Path
) -> None:
    """An edit after the first run is not the code this process runs: the function keeps
    its identity (and hits) until it is defined again."""
    mod = write_module("live/mod.py", STEP_V1)
    opts = CacheOptions(code_identity="callable_module")
    first = tracker.run(fn=mod.step, cache_options=opts)

    (tmp_path / "live" / "mod.py").write_text(STEP_V2)  # edited, not reloaded
    loaded_code = tracker.run(fn=mod.step, cache_options=opts)
    redefined = write_module("live/mod.py", STEP_V2)  # a new import reads the edit
    new_code = tracker.run(fn=redefined.step, cache_options=opts)

    assert loaded_code.cache_hit
    assert loaded_code.run.git_hash == first.run.git_hash
    assert not new_code.cache_hit
    assert new_code.run.git_hash != first.run.git_hash


def test_callable_module_sees_a_swapped_code_object(
    tracker: Tracker, write_module, tmp_path: Path
) -> None:
    """IPython's autoreload edits a function in place (``__code__``): that is new code."""
    mod = write_module("swap/mod.py", STEP_V1)
    opts = CacheOptions(code_identity="callable_module")
    first = tracker.run(fn=mod.step, cache_options=opts)

    (tmp_path / "swap" / "mod.py").write_text(STEP_V2)
    mod.step.__code__ = write_module("swap/mod.py", STEP_V2).step.__code__
    swapped = tracker.run(fn=mod.step, cache_options=opts)

    assert not swapped.cache_hit
    assert swapped.run.git_hash != first.run.git_hash


def test_repo_git_outside_repository_falls_back_to_callable_module(
    tracker: Tracker, write_module
) -> None:
    mod = write_module("plain/mod.py", STEP_V1)

    result = tracker.run(fn=mod.step, cache_options=CacheOptions(code_identity="repo_git"))

    assert result.run.code_identity_mode == "callable_module"
    assert "git_commit" not in result.run.meta
    module_mode = tracker.run(
        fn=mod.step, cache_options=CacheOptions(code_identity="callable_module")
    )
    assert module_mode.cache_hit


GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
GIT += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def _git(*args: str) -> str:
    return subprocess.run([*GIT, *args], check=True, capture_output=True, text=True).stdout.strip()


def _make_repo(root: Path) -> str:
    """Commit everything under ``root`` (plus a helper file) as a new git repository."""
    root.mkdir(exist_ok=True)
    (root / "helper.txt").write_text("v1\n")
    _git("init", "-q", str(root))
    _git("-C", str(root), "add", ".")
    _git("-C", str(root), "commit", "-qm", "initial")
    return _git("-C", str(root), "rev-parse", "HEAD")


def test_repo_git_records_commit_and_dirty_state(
    tracker: Tracker, tmp_path: Path, write_module
) -> None:
    mod = write_module("repo/step_mod.py", STEP_V1)
    head = _make_repo(tmp_path / "repo")
    opts = CacheOptions(code_identity="repo_git")

    clean = tracker.run(fn=mod.step, cache_options=opts)

    assert clean.run.code_identity_mode == "repo_git"
    assert clean.run.meta["git_commit"] == head
    assert clean.run.meta["git_dirty"] is False

    # A clone has the same commit: clean -> same code identity; dirty -> different.
    _git("clone", "-q", str(tmp_path / "repo"), str(tmp_path / "clean_clone"))
    _git("clone", "-q", str(tmp_path / "repo"), str(tmp_path / "dirty_clone"))
    (tmp_path / "dirty_clone" / "helper.txt").write_text("locally modified\n")
    clean_clone = write_module("clean_clone/step_mod.py", STEP_V1)
    dirty_clone = write_module("dirty_clone/step_mod.py", STEP_V1)

    from_clean_clone = tracker.run(fn=clean_clone.step, cache_options=opts)
    from_dirty_clone = tracker.run(fn=dirty_clone.step, cache_options=opts)

    assert from_clean_clone.cache_hit
    assert not from_dirty_clone.cache_hit
    assert from_dirty_clone.run.meta["git_commit"] == head
    assert from_dirty_clone.run.meta["git_dirty"] is True
    assert from_dirty_clone.run.signature != clean.run.signature


def test_repo_git_sees_a_tracked_file_edit_in_the_same_process(
    tracker: Tracker, tmp_path: Path, write_module, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git state is re-read once GIT_STATE_TTL_SECONDS have passed (docs/identity.md);
    # a zero TTL stands in for "the user edited a file, then ran the step later".
    monkeypatch.setattr("consist.identity.code.GIT_STATE_TTL_SECONDS", 0.0)
    mod = write_module("repo/step_mod.py", STEP_V1)
    _make_repo(tmp_path / "repo")
    opts = CacheOptions(code_identity="repo_git")
    first = tracker.run(fn=mod.step, cache_options=opts)

    (tmp_path / "repo" / "helper.txt").write_text("edited after the first run\n")
    second = tracker.run(fn=mod.step, cache_options=opts)

    assert second.run.meta.get("git_dirty") is True
    assert not second.cache_hit
    assert second.run.signature != first.run.signature


def test_repo_git_sees_an_edit_of_the_steps_own_file_at_once(
    tracker: Tracker, tmp_path: Path, write_module
) -> None:
    # Within the git-state TTL, an edit of the file defining the step still counts.
    mod = write_module("repo/step_mod.py", STEP_V1)
    _make_repo(tmp_path / "repo")
    opts = CacheOptions(code_identity="repo_git")
    first = tracker.run(fn=mod.step, cache_options=opts)

    (tmp_path / "repo" / "step_mod.py").write_text(STEP_V1 + "\n# edited\n")
    second = tracker.run(fn=mod.step, cache_options=opts)

    assert second.run.meta.get("git_dirty") is True
    assert not second.cache_hit
    assert second.run.signature != first.run.signature


def test_code_identity_extra_deps_change_causes_miss(tracker: Tracker, tmp_path: Path) -> None:
    dep = tmp_path / "helper_lib.py"
    dep.write_text("VALUE = 1\n")
    opts = CacheOptions(code_identity_extra_deps=[str(dep)])
    calls = []

    def step() -> None:
        calls.append(1)

    first = tracker.run(fn=step, cache_options=opts)
    assert tracker.run(fn=step, cache_options=opts).cache_hit
    dep.write_text("VALUE = 2\n")
    changed = tracker.run(fn=step, cache_options=opts)

    assert not changed.cache_hit
    assert changed.run.git_hash != first.run.git_hash
    assert changed.run.config_hash == first.run.config_hash
    assert len(calls) == 2
