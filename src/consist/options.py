"""Public option groups and the enums behind them.

Every enum-like option is parsed strictly: a bad string raises
:class:`~consist.errors.InvalidOptionError` naming the parameter and listing
the allowed values, before any run state is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from consist.errors import invalid_option

_E = TypeVar("_E", bound="_StrEnum")


class _StrEnum(StrEnum):
    @classmethod
    def parse(cls: type[_E], value: object, parameter: str) -> _E:
        if isinstance(value, cls):
            return value
        try:
            return cls(value)  # type: ignore[arg-type]  # non-str values raise ValueError
        except ValueError:
            raise invalid_option(parameter, value, [m.value for m in cls]) from None


class CacheMode(_StrEnum):
    """How a run uses the cache.

    REUSE: return a completed run with the same signature instead of executing.
    OVERWRITE: always execute and record a new run (it becomes the newest cache entry).
    READONLY: return hits, but persist nothing new (no snapshot, no store row) on hit or miss.
    """

    REUSE = "reuse"
    OVERWRITE = "overwrite"
    READONLY = "readonly"


class Hydration(_StrEnum):
    """What a cache hit copies to disk (``cache_hydration``); ``None`` copies nothing.

    OUTPUTS_REQUESTED: copy the cached outputs named in ``output_paths`` to those paths.
    OUTPUTS_ALL: copy every cached output into the new run's artifact directory.
    INPUTS_MISSING: before executing, restore inputs whose files are gone from a recorded
        copy of the same bytes (a miss whose input cannot be restored fails, naming the
        run that would regenerate it).
    """

    OUTPUTS_REQUESTED = "outputs-requested"
    OUTPUTS_ALL = "outputs-all"
    INPUTS_MISSING = "inputs-missing"


class ValidateMode(_StrEnum):
    """How a cache hit's outputs are checked before they are reused.

    LAZY: each output file must exist (one ``stat`` per output).
    STRICT: each output's bytes must still have the recorded digest; the file digest memo
        (path, size, mtime, ctime, inode) makes an unchanged file cost a ``stat``.
    NONE: outputs are not checked; a hit is reused even if its files are gone.
    """

    LAZY = "lazy"
    STRICT = "strict"
    NONE = "none"


class CodeIdentityMode(_StrEnum):
    """What counts as "the code" in a run's identity.

    REPO_GIT: the git commit of the repository holding the code, plus a digest of
        uncommitted changes to tracked files. Falls back to CALLABLE_MODULE outside a repository.
    CALLABLE_MODULE: the content of the source file defining the function.
    CALLABLE_SOURCE: the source text of the function alone.
    """

    REPO_GIT = "repo_git"
    CALLABLE_MODULE = "callable_module"
    CALLABLE_SOURCE = "callable_source"


class AccessMode(_StrEnum):
    """What a tracker may do to its run_dir and store.

    WRITE: record runs; queries first copy pending records into the store.
    READ: query only (a CLI, a web app, a notebook): creates no directory, registers no
        exit hook, opens the store read-only and never writes it, the journal or a
        snapshot; recording calls raise RunStateError. Runs other processes have ended
        but not yet copied into the store are still shown.
    """

    WRITE = "write"
    READ = "read"


class InputBinding(_StrEnum):
    """How named inputs are passed to a run's function.

    AUTO: a parameter named like an input receives the loaded data when annotated as a
        DataFrame/Series, otherwise its Path.
    PATHS: parameters named like inputs receive Paths.
    LOADED: parameters named like inputs receive loaded data (tabular files via pandas).
    NONE: inputs are hashed and recorded but never passed to the function.
    """

    AUTO = "auto"
    PATHS = "paths"
    LOADED = "loaded"
    NONE = "none"


class OutputAction(_StrEnum):
    """What to do when outputs do not match their declaration.

    WARN: emit a ``UserWarning`` and record what was produced.
    ERROR: fail the run with :class:`~consist.errors.OutputValidationError`.
    IGNORE: record what was produced, silently.
    """

    WARN = "warn"
    ERROR = "error"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class CacheOptions:
    """Grouped cache controls for ``Tracker.run``.

    ``cache_version`` and ``cache_epoch`` are folded into the run signature: bump one to
    invalidate earlier results without changing code or config. ``cache_hydration`` and
    ``validate_cached_outputs`` (see :class:`Hydration`, :class:`ValidateMode`) never
    change the signature.
    """

    cache_mode: CacheMode | str = CacheMode.REUSE
    cache_version: int | None = None
    cache_epoch: int | None = None
    code_identity: CodeIdentityMode | str | None = None
    code_identity_extra_deps: tuple[str, ...] | list[str] | None = None
    cache_hydration: Hydration | str | None = None
    validate_cached_outputs: ValidateMode | str = ValidateMode.LAZY

    def __post_init__(self) -> None:
        object.__setattr__(self, "cache_mode", CacheMode.parse(self.cache_mode, "cache_mode"))
        if self.cache_hydration is not None:
            hydration = Hydration.parse(self.cache_hydration, "cache_hydration")
            object.__setattr__(self, "cache_hydration", hydration)
        validate = ValidateMode.parse(self.validate_cached_outputs, "validate_cached_outputs")
        object.__setattr__(self, "validate_cached_outputs", validate)
        if self.code_identity is not None:
            mode = CodeIdentityMode.parse(self.code_identity, "code_identity")
            object.__setattr__(self, "code_identity", mode)
        if self.code_identity_extra_deps is not None:
            object.__setattr__(
                self, "code_identity_extra_deps", tuple(self.code_identity_extra_deps)
            )


@dataclass(frozen=True, slots=True)
class OutputPolicyOptions:
    """Grouped output policies: what happens when declared outputs are missing or mismatched."""

    output_missing: OutputAction | str = OutputAction.WARN
    output_mismatch: OutputAction | str = OutputAction.WARN

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "output_missing", OutputAction.parse(self.output_missing, "output_missing")
        )
        object.__setattr__(
            self, "output_mismatch", OutputAction.parse(self.output_mismatch, "output_mismatch")
        )


@dataclass(frozen=True, slots=True)
class ExecutionOptions:
    """Grouped execution controls for ``Tracker.run``.

    ``runtime_kwargs`` are passed to the function but never affect the run's identity
    (use ``config`` for values that should). ``executor`` is ``"python"`` (call ``fn``)
    or ``"container"`` (run ``container``: a ``consist.execute.container.ContainerSpec``
    or a mapping with its fields; docs/adapters.md).
    """

    input_binding: InputBinding | str = InputBinding.AUTO
    runtime_kwargs: Mapping[str, Any] | None = field(default=None)
    executor: str = "python"
    container: Any = None

    def __post_init__(self) -> None:
        if self.executor not in ("python", "container"):
            raise invalid_option("executor", self.executor, ["python", "container"])
        object.__setattr__(
            self, "input_binding", InputBinding.parse(self.input_binding, "input_binding")
        )
