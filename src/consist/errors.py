"""The one exception tree of Consist.

::

    ConsistError
    ├── ConfigError              bad argument or option value (also a ValueError)
    │   ├── InvalidOptionError   an enum-like option got a value outside its allowed set
    │   ├── UnknownKeywordError  a keyword argument no call accepts (also a TypeError)
    │   └── PathEscapeError      a key, suffix, id or directory would lead outside its tree
    ├── IdentityError            an identity component could not be computed
    │   └── MissingInputError    an input / identity file does not exist (also FileNotFoundError)
    ├── ExecutionError           user code or output handling failed
    │   ├── OutputValidationError  declared outputs missing or mismatched (also a RuntimeError)
    │   └── ContainerError         a container engine is missing or a container run failed (also a RuntimeError)
    ├── RunStateError            lifecycle misuse: no active run, two active runs (also a RuntimeError)
    ├── MissingArtifactError     a recorded artifact's bytes are gone (also FileNotFoundError)
    ├── StoreError               the metadata store could not be read or written
    │   └── NoDatabaseError      a SQL query on a tracker without a database (also a RuntimeError)
    ├── QueryError               a query found nothing / too much (also a ValueError)
    ├── ViewError                a hybrid view or an ingestion could not be built
    └── MissingDependencyError   an optional extra is not installed (also an ImportError)

Every error carries ``problem``, ``cause`` and ``fix`` strings plus optional
context fields, and stays picklable (multiprocessing sweeps send them across
process boundaries). Several classes also inherit the builtin the spec
documents (``ValueError``, ``RuntimeError``...) so ``except ValueError`` code
written against the reference keeps working.
"""

from __future__ import annotations

from typing import Any


class ConsistError(Exception):
    """Base class of every error Consist raises for something a user can cause."""

    def __init__(
        self,
        problem: str,
        *,
        cause: str | None = None,
        fix: str | None = None,
        **context: Any,
    ) -> None:
        self.problem = problem
        self.cause = cause
        self.fix = fix
        self.context = context
        parts = [problem]
        if cause:
            parts.append(f"Cause: {cause}")
        if fix:
            parts.append(f"Fix: {fix}")
        super().__init__(" ".join(parts))

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields are not restored by the default Exception pickling.
        return (_rebuild_error, (type(self), self.problem, self.cause, self.fix, self.context))


def _rebuild_error(
    cls: type[ConsistError],
    problem: str,
    cause: str | None,
    fix: str | None,
    context: dict[str, Any],
) -> ConsistError:
    return cls(problem, cause=cause, fix=fix, **context)


class ConfigError(ConsistError, ValueError):
    """A parameter or configuration value is invalid."""


class InvalidOptionError(ConfigError):
    """An option received a value outside its allowed set."""


class UnknownKeywordError(ConfigError, TypeError):
    """A keyword argument that the call does not accept; the message suggests the closest."""


class PathEscapeError(ConfigError):
    """A key, suffix, run id or directory would read or write outside its tree."""


class IdentityError(ConsistError):
    """A component of the run identity (code, config, inputs) could not be computed."""


class MissingInputError(IdentityError, FileNotFoundError):
    """An input, dependency or identity file does not exist."""


class ExecutionError(ConsistError):
    """User code or output handling failed."""


class OutputValidationError(ExecutionError, RuntimeError):
    """Declared outputs are missing or do not match what the function returned."""


class ContainerError(ExecutionError, RuntimeError):
    """A container engine is missing, an image cannot be resolved, or a container failed."""


class RunStateError(ConsistError, RuntimeError):
    """A lifecycle call does not fit the current run state."""


class MissingArtifactError(ConsistError, FileNotFoundError):
    """A recorded artifact's file is gone and no copy of its bytes was found; ``run_id``
    names the run that would regenerate it."""


class StoreError(ConsistError):
    """The metadata store could not be read or written."""


class NoDatabaseError(StoreError, RuntimeError):
    """A SQL query was asked of a tracker that has no database (``db_path=None``)."""


class QueryError(ConsistError, ValueError):
    """A query matched no record, or more than the caller allowed."""


class ViewError(ConsistError):
    """A hybrid view or an ingestion could not be built (e.g. a selected file is gone)."""


class MissingDependencyError(ConsistError, ImportError):
    """An optional dependency needed for this feature is not installed."""


def invalid_option(parameter: str, value: object, allowed: list[str]) -> InvalidOptionError:
    """Build the standard error for an enum-like option with a bad value."""
    choices = ", ".join(repr(a) for a in allowed)
    return InvalidOptionError(
        f"{parameter}={value!r} is not a valid value.",
        fix=f"Use one of: {choices}.",
        parameter=parameter,
        value=repr(value),
    )
