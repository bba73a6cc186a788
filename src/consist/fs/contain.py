"""Keeping every path Consist writes or reads inside the tree it belongs to.

Rules (a user-visible promise, tested with Hypothesis in tests/property/):

* A *relative part* (an output key, ``key + ext``, a relative ``artifact_dir``) is joined
  to its root and normalised; the result must be the root or lie below it. Absolute parts,
  ``..`` that climbs out, and NUL characters are refused with :class:`PathEscapeError`
  naming the parameter.
* An ``ext`` is a suffix, never a path: separators and ``..`` are refused.
* A *record name* (a run id read back from ``consist_runs/<id>.json``) may not hold a
  separator, NUL, or be ``.`` / ``..``.
* Symlinks: a symlink *at* the target path that resolves outside the root is refused (a
  planted link must not redirect a write). Directories the user linked on purpose (e.g.
  ``outputs -> /scratch``) are trusted: resolving every component on each run would cost
  a syscall per path component on the hot path, and such links are set up by the user.
"""

from __future__ import annotations

import os
import re

from consist.errors import PathEscapeError

_SEPARATORS = ("/", "\\")
# A single file name that normpath would leave as is: no separator, NUL, or dot-only name.
_PLAIN_NAME = re.compile(r"(?![.]+$)[^/\\\x00]+")


def _escape(parameter: str, value: object, why: str, root: str) -> PathEscapeError:
    return PathEscapeError(
        f"{parameter}={value!r} {why}.",
        fix=f"Use a relative name that stays inside {root}.",
        parameter=parameter,
        value=repr(value),
    )


def join_inside(root: str, part: str, parameter: str, *, check_link: bool = True) -> str:
    """``root/part`` normalised, if it stays inside ``root`` (see the module rules).

    ``check_link=False`` leaves the symlink rule to the caller (:func:`refuse_outside_link`),
    for a caller that knows the path cannot exist yet (its directory was just created).
    """
    if type(part) is str and part and _PLAIN_NAME.fullmatch(part):
        path = os.path.join(root, part)  # one plain name: nothing to normalise
    else:
        if not isinstance(part, str) or not part or "\x00" in part:
            raise _escape(parameter, part, "is not a usable relative path", root)
        if os.path.isabs(part) or part.startswith(_SEPARATORS):
            raise _escape(parameter, part, "is an absolute path", root)
        path = os.path.normpath(os.path.join(root, part.replace("\\", "/")))
        if path != root and not path.startswith(root + os.sep):
            raise _escape(parameter, part, "leads outside its directory", root)
    if check_link:
        refuse_outside_link(path, root, part, parameter)
    return path


def refuse_outside_link(path: str, root: str, part: str, parameter: str) -> None:
    """Refuse ``path`` (``root/part``) if it is a symlink resolving outside ``root``."""
    if os.path.islink(path) and not _inside(os.path.realpath(path), os.path.realpath(root)):
        raise _escape(parameter, part, "is a symlink that points outside its directory", root)


def check_ext(ext: str | None, parameter: str = "ext") -> str:
    """The suffix for ``ext`` (``"csv"`` or ``".csv"`` -> ``".csv"``; ``None`` -> ``""``)."""
    if ext is None or ext == "":
        return ""
    if type(ext) is str and ext.isalnum():  # "csv", "parquet": nothing to strip or refuse
        return "." + ext
    suffix = ext.lstrip(".") if isinstance(ext, str) else ""
    if not suffix or "\x00" in suffix or any(s in suffix for s in _SEPARATORS):
        raise PathEscapeError(
            f"{parameter}={ext!r} is not a file suffix.",
            fix=f"Pass {parameter} as a plain suffix such as 'csv' or 'parquet'.",
            parameter=parameter,
            value=repr(ext),
        )
    return "." + suffix


def check_record_name(name: object, parameter: str) -> str:
    """A name used as one file name under a records directory (a run id)."""
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or "\x00" in name
        or any(s in name for s in _SEPARATORS)
    ):
        raise PathEscapeError(
            f"{parameter}={name!r} is not a valid {parameter}.",
            fix=f"Pass the {parameter} of a recorded run (no '/', '\\\\', NUL, '.' or '..').",
            parameter=parameter,
            value=repr(name),
        )
    return name


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
