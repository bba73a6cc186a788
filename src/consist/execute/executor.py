"""The Executor seam: who runs a step's code on a cache miss.

``flow.run_function`` knows only this protocol. The Python executor calls the function
in this process; a container executor (later) runs an image with the same request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from consist.identity.inputs import ResolvedInput
from consist.request.spec import RunRequest


class Executor(Protocol):
    """Runs the code of a RunRequest."""

    def check(self, request: RunRequest) -> None:
        """Refuse, before the cache lookup, what would fail at execution (a hit would hide it)."""
        ...

    def execute(self, request: RunRequest, inputs: Sequence[ResolvedInput]) -> Any:
        """Run the step with its resolved ``inputs``; return what the code returned."""
        ...
