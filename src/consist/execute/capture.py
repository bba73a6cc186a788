"""Output capture: which files a run produced, and what to do about declared ones.

A run's outputs come from four places, logged in this order (the first one wins a key):

1. values the function returned (paths, Artifacts, DataFrames written as tables),
2. ``log_artifact`` / ``log_output`` calls during the run,
3. ``output_paths={key: path}`` that exist when the run ends,
4. paths handed out by ``consist.output_path(key)`` that were written,
5. files new or modified in ``capture_dir`` (execute/watch.py).

Then the output policy applies: ``output_missing`` for declared keys (``outputs`` and
``output_paths``) that nothing produced, ``output_mismatch`` for a return value that
does not fit ``outputs``. Each is ``warn`` (default), ``error`` or ``ignore``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from consist._libs.pandas import is_pandas_object
from consist.errors import IdentityError, MissingInputError, OutputValidationError
from consist.execute.artifacts import check_key, output_artifact
from consist.execute.python import split_returns
from consist.execute.watch import DirectoryWatch
from consist.formats.registry import write_table
from consist.fs.contain import check_ext, join_inside, refuse_outside_link
from consist.fs.layout import RunLayout
from consist.identity.code import user_stacklevel
from consist.identity.files import FileDigester
from consist.model.artifact import Artifact
from consist.options import OutputAction


class OutputCapture:
    """The outputs of one run, from the first output_path() call to the output policy."""

    __slots__ = (
        "run_id",
        "signature",
        "artifact_dir",
        "outputs",
        "planned",
        "watches",
        "_layout",
        "_digester",
    )

    def __init__(
        self,
        *,
        run_id: str,
        signature: str | None,
        artifact_dir: str,
        layout: RunLayout,
        digester: FileDigester,
    ) -> None:
        self.run_id = run_id
        self.signature = signature
        self.artifact_dir = artifact_dir
        self.outputs: dict[str, Artifact] = {}
        self.planned: dict[str, str] = {}  # key -> path handed out by output_path()
        self.watches: list[DirectoryWatch] = []  # capture_dir, pictured before the code ran
        self._layout = layout
        self._digester = digester

    def output_path(self, key: str, ext: str | None) -> Path:
        """Path in the artifact directory for output ``key`` (logged at the end if written)."""
        part = check_key(key) + check_ext(ext)
        path = join_inside(self.artifact_dir, part, "key", check_link=False)
        parent = os.path.dirname(path)
        try:
            os.mkdir(parent)  # the run's own directory: usually new, its parent exists
        except FileExistsError:
            # Only a path in a directory that existed can be a planted symlink.
            refuse_outside_link(path, self.artifact_dir, part, "key")
        except FileNotFoundError:
            os.makedirs(parent, exist_ok=True)
            refuse_outside_link(path, self.artifact_dir, part, "key")
        self.planned[key] = path
        return Path(path)

    def watch(self, directory: str, pattern: str) -> None:
        """Picture ``directory`` now; its new or modified files are logged at the end."""
        self.watches.append(DirectoryWatch.start(directory, pattern, parameter="capture_dir"))

    def log_output(self, path: Any, key: str, **options: Any) -> Artifact:
        """Hash ``path`` and record it as output ``key`` of this run."""
        artifact = output_artifact(
            path,
            key,
            run_id=self.run_id,
            signature=self.signature,
            layout=self._layout,
            digester=self._digester,
            **options,
        )
        self.outputs[key] = artifact
        return artifact

    def log_returns(
        self, value: Any, declared: tuple[str, ...] | None, mismatch: OutputAction
    ) -> None:
        """Log what the function returned; DataFrames/Series are written as tables first."""
        items, mismatched = split_returns(value, declared)
        if mismatched:
            self._apply(
                mismatch,
                f"returned {type(value).__name__} does not match outputs={list(declared or ())}",
            )
        for key, item in items.items():
            if is_pandas_object(item):
                stem = join_inside(self.artifact_dir, key, "outputs")
                os.makedirs(os.path.dirname(stem), exist_ok=True)
                item = write_table(item, stem)
            if isinstance(item, Artifact):
                item = item.path
            # Only paths: os.path.exists(42) would test file descriptor 42. A path that
            # does not exist is not an output (no separate exists() stat: the hash tells).
            if isinstance(item, (str, os.PathLike)):
                try:
                    self.log_output(item, key)
                except MissingInputError:
                    continue
                except (IdentityError, ValueError):
                    if os.path.exists(item):
                        raise  # a real path that cannot be hashed (a device, unreadable)
                    # else text that is no path (too long, a NUL byte): not an output

    def collect(
        self,
        *,
        declared: tuple[str, ...] | None,
        output_paths: Mapping[str, Any] | None,
        missing: OutputAction,
    ) -> None:
        """Log output_paths and written output_path() files; apply ``output_missing``."""
        for key, path in (output_paths or {}).items():
            target = path.path if isinstance(path, Artifact) else path
            if key not in self.outputs and os.path.exists(target):
                self.log_output(target, key)
        logged_paths = {artifact.abs_path for artifact in self.outputs.values()}
        for key, path in self.planned.items():
            # A planned file already returned under another key is not logged twice.
            if key not in self.outputs and path not in logged_paths and os.path.exists(path):
                self.log_output(path, key)
        for watch in self.watches:
            logged_paths = {artifact.abs_path for artifact in self.outputs.values()}
            for key, path in watch.changed().items():
                if key not in self.outputs and path not in logged_paths:
                    watch.artifacts[key] = self.log_output(path, key)
        expected = set(declared or ()) | set(output_paths or ())
        absent = sorted(expected - set(self.outputs))
        if absent:
            self._apply(missing, f"declared outputs {absent} were not produced")

    def _apply(self, action: OutputAction, message: str) -> None:
        text = f"Run {self.run_id!r}: {message}."
        if action is OutputAction.ERROR:
            raise OutputValidationError(
                text,
                fix="Produce the declared outputs, or set output_policy to 'warn'/'ignore'.",
                run_id=self.run_id,
            )
        if action is OutputAction.WARN:
            # Points at the user's call (run / trace exit / end_run), not at Consist.
            warnings.warn(text, UserWarning, stacklevel=user_stacklevel())
