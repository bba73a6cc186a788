"""Code identity: which code produced a run.

Modes (see :class:`consist.options.CodeIdentityMode`):

* ``repo_git`` - commit of the git repository holding the code, plus a digest of
  uncommitted changes to tracked files (``git diff HEAD``). git is a subprocess
  (milliseconds), so the state is reused for up to GIT_STATE_TTL_SECONDS, and read
  again at once when the step's own source file changed since (a stat per call).
* ``callable_module`` - content digest of the file defining the function, read when this
  process first runs that function object. A process runs the code it loaded, so an edit
  made to the file afterwards is not that code: it is seen when the function is defined
  again (a new process, ``importlib.reload``, IPython's autoreload, which swaps
  ``__code__``). Seeing the edit at once, as this mode did before, recorded runs of the
  old, loaded code under the new file's digest, and a later process running the new code
  hit them. Without a function (``trace``, ``begin_run``: the calling file, which
  ``%run`` executes again in one process) the file is checked by stat on every call.
* ``callable_source`` - digest of the function's own source text.

Outside a repository, or without git, ``repo_git`` falls back to ``callable_module``;
a callable without a source file falls back to its qualified name. The mode actually
used is recorded on the run, so a fallback is visible, never silent in the data.
"""

from __future__ import annotations

import functools
import inspect
import os
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3

from consist.errors import MissingInputError
from consist.identity.canonical import digest_bytes
from consist.identity.files import FileDigester
from consist.options import CodeIdentityMode


@dataclass(frozen=True, slots=True)
class CodeIdentity:
    """The code component of a run identity."""

    mode: str
    digest: str
    git_commit: str | None = None
    git_dirty: bool | None = None


@dataclass(frozen=True, slots=True)
class _GitState:
    commit: str
    dirty_digest: str | None


GIT_STATE_TTL_SECONDS = 2.0


@dataclass(slots=True)
class _GitCacheEntry:
    state: _GitState | None
    checked_at: float
    source_keys: dict[str, tuple[int, int, int]]


# repo root -> last git state read; see the module docstring for the refresh rule.
_git_states: dict[str, _GitCacheEntry] = {}
# directory -> repo root ("" = not in a repo)
_repo_roots: dict[str, str] = {}
_source_digests: dict[Any, str] = {}


def compute_code_identity(
    mode: CodeIdentityMode,
    fn: Callable[..., Any] | None,
    *,
    digester: FileDigester,
    caller_file: str | None = None,
    extra_deps: Iterable[str] = (),
) -> CodeIdentity:
    """Return the code identity of ``fn`` (or, with no function, of ``caller_file``)."""
    if fn is not None and mode is CodeIdentityMode.CALLABLE_MODULE:
        identity = _first_run_identity(fn, digester)
    else:
        if fn is not None:
            source_file = _source_file(fn)
        else:
            source_file = os.path.abspath(caller_file) if caller_file else None
        identity = _base_identity(mode, fn, source_file, digester)
    deps = tuple(extra_deps)
    if not deps:
        return identity
    dep_digests = [f"{dep}={digester.digest(dep, what='code_identity_extra_deps')}" for dep in deps]
    combined = digest_bytes("\n".join([identity.digest, *sorted(dep_digests)]).encode())
    return CodeIdentity(identity.mode, combined, identity.git_commit, identity.git_dirty)


def _module_file_digest(source_file: str | None, digester: FileDigester) -> str | None:
    """Digest of a source file (one stat when unchanged), or None when it is not a file."""
    if not source_file:
        return None
    try:  # absolute already (compute_code_identity)
        return digester.digest_and_stat(source_file, what="code")[0]
    except (MissingInputError, IsADirectoryError):
        return None


# function -> (its code object, its callable_module identity) when this process first ran
# it. Weak keys: a function made per call does not accumulate.
_first_runs: weakref.WeakKeyDictionary[Any, tuple[Any, CodeIdentity]] = weakref.WeakKeyDictionary()


def _first_run_identity(fn: Callable[..., Any], digester: FileDigester) -> CodeIdentity:
    """``fn``'s callable_module identity as this process first ran ``fn`` (see the module
    rules); taken again only when ``fn`` has other code (autoreload swapped ``__code__``)."""
    code = getattr(fn, "__code__", None)
    seen = _first_runs.get(fn) if code is not None else None
    if seen is not None and seen[0] is code:
        return seen[1]
    identity = _base_identity(CodeIdentityMode.CALLABLE_MODULE, fn, _source_file(fn), digester)
    if code is not None:  # a function (only those have a file to read, _source_file)
        _first_runs[fn] = (code, identity)
    return identity


@functools.lru_cache(maxsize=256)
def _module_digest(file_digest: str) -> str:
    return digest_bytes(f"module:{file_digest}".encode())


def _base_identity(
    mode: CodeIdentityMode,
    fn: Callable[..., Any] | None,
    source_file: str | None,
    digester: FileDigester,
) -> CodeIdentity:
    if mode is CodeIdentityMode.REPO_GIT:
        start = os.path.dirname(source_file) if source_file else os.getcwd()
        state = _git_state(start, source_file)
        if state is not None:
            text = f"git:{state.commit}:{state.dirty_digest or 'clean'}"
            return CodeIdentity(
                mode.value,
                digest_bytes(text.encode()),
                state.commit,
                state.dirty_digest is not None,
            )
        if fn is not None:  # callable_module's rule for a function, as when named
            return _first_run_identity(fn, digester)
        mode = CodeIdentityMode.CALLABLE_MODULE
    if mode is CodeIdentityMode.CALLABLE_MODULE:
        file_digest = _module_file_digest(source_file, digester)
        if file_digest is not None:
            return CodeIdentity(mode.value, _module_digest(file_digest))
        mode = CodeIdentityMode.CALLABLE_SOURCE
    if fn is not None:
        return CodeIdentity(mode.value, _callable_source_digest(fn))
    return CodeIdentity("none", digest_bytes(b"code:none"))


# function -> absolute path of its source file: unwrapped and made absolute once per
# function object (weak keys: a lambda made per call does not accumulate).
_source_files: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()


def _source_file(fn: Callable[..., Any]) -> str | None:
    try:
        return _source_files[fn]
    except (KeyError, TypeError):  # TypeError: not weakly referenceable
        pass
    target = inspect.unwrap(fn)
    code = getattr(target, "__code__", None)
    path: str | None
    if code is not None:
        path = str(code.co_filename)
    else:
        try:
            path = inspect.getsourcefile(target)
        except TypeError:
            path = None
    if path:
        path = os.path.abspath(path)
    try:
        _source_files[fn] = path
    except TypeError:
        pass
    return path


def _callable_source_digest(fn: Callable[..., Any]) -> str:
    target = inspect.unwrap(fn)
    memo_key = getattr(target, "__code__", None) or target
    cached = _source_digests.get(memo_key)
    if cached is not None:
        return cached
    try:
        text = "source:" + inspect.getsource(target)
    except (OSError, TypeError):
        # No source available (builtins, C extensions, REPL): the name is all we have.
        module = getattr(target, "__module__", "?")
        text = f"name:{module}.{getattr(target, '__qualname__', repr(target))}"
    digest = digest_bytes(text.encode())
    _source_digests[memo_key] = digest
    return digest


def _repo_root(directory: str) -> str:
    cached = _repo_roots.get(directory)
    if cached is not None:
        return cached
    root = ""
    current = Path(directory).resolve()
    for candidate in (current, *current.parents):
        if (candidate / ".git").exists():
            root = str(candidate)
            break
    _repo_roots[directory] = root
    return root


def _source_key(path: str | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _git_state(directory: str, source_file: str | None) -> _GitState | None:
    root = _repo_root(directory)
    if not root:
        return None
    now = time.monotonic()
    key = _source_key(source_file)
    entry = _git_states.get(root)
    if entry is not None and now - entry.checked_at < GIT_STATE_TTL_SECONDS:
        seen = entry.source_keys.setdefault(source_file or "", key)  # type: ignore[arg-type]
        if seen == key:
            return entry.state
    state = _read_git_state(root)
    _git_states[root] = _GitCacheEntry(state, now, {source_file or "": key})  # type: ignore[dict-item]
    return state


def _read_git_state(root: str) -> _GitState | None:
    try:
        commit = (
            subprocess.run(
                ["git", "-C", root, "rev-parse", "HEAD"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            .stdout.decode()
            .strip()
        )
        dirty = _digest_git_diff(root)
    except (OSError, subprocess.SubprocessError):
        # git missing, or a repo without commits: fall back rather than crash.
        return None
    return _GitState(commit, dirty)


def _digest_git_diff(root: str) -> str | None:
    """Digest of ``git diff HEAD --binary``, streamed: a diff of large files never sits
    in memory. None when the work tree has no changes to tracked files."""
    hasher = blake3.blake3()
    seen = 0
    with subprocess.Popen(
        ["git", "-C", root, "diff", "HEAD", "--binary"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            hasher.update(chunk)
            seen += len(chunk)
        if proc.wait(timeout=60) != 0:
            raise subprocess.CalledProcessError(proc.returncode, "git diff")
    return hasher.hexdigest() if seen else None


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _user_frame() -> tuple[int, Any]:
    """(stack level, frame) of the first frame outside Consist and contextlib, counted as
    ``warnings.warn`` counts: level 1 is the function that called our public caller."""
    frame = sys._getframe(2)
    level = 1
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR) and not filename.endswith("contextlib.py"):
            return level, frame
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level, None


def caller_file() -> str | None:
    """Source file of the first frame outside Consist (and contextlib): the user's code.

    ``trace`` and ``begin_run`` have no function to hash, so under ``callable_*`` code
    identity they hash the file containing the ``with`` / ``begin_run`` statement.
    """
    _, frame = _user_frame()
    if frame is None:
        return None
    filename = str(frame.f_code.co_filename)
    return filename if os.path.isfile(filename) else None


def user_stacklevel() -> int:
    """``stacklevel`` that makes a warning raised by our caller point at the user's line."""
    level, _ = _user_frame()
    return level
