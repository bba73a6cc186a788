"""A run's whole identity: canonical config, resolved inputs, code, and the signature.

The parts come from a request (``request/spec.py``'s RunRequest satisfies
:class:`IdentitySource`); identity never imports the request layer, and the producer
signatures of inputs arrive through a lookup callable, so this stays pure and testable
without a tracker or a database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from consist.identity.canonical import compute_config_digest
from consist.identity.code import CodeIdentity, compute_code_identity
from consist.identity.files import FileDigester
from consist.identity.inputs import (
    NO_INPUTS_DIGEST,
    ProducerLookup,
    ResolvedInput,
    compute_input_digest,
    compute_input_parts,
    resolve_inputs,
)
from consist.identity.signature import RunIdentity, compute_signature
from consist.options import CodeIdentityMode


class CacheSource(Protocol):
    @property
    def code_identity(self) -> CodeIdentityMode | None: ...
    @property
    def code_identity_extra_deps(self) -> Sequence[str]: ...
    @property
    def version(self) -> int | None: ...
    @property
    def epoch(self) -> int | None: ...


class IdentitySource(Protocol):
    """What the identity of a run is computed from."""

    @property
    def config(self) -> object: ...
    @property
    def inputs(self) -> Any: ...
    @property
    def depends_on(self) -> Any: ...
    @property
    def identity_inputs(self) -> Any: ...
    @property
    def fn(self) -> Callable[..., Any] | None: ...
    @property
    def caller_file(self) -> str | None: ...
    @property
    def model(self) -> str: ...
    @property
    def year(self) -> int | None: ...
    @property
    def iteration(self) -> int | None: ...
    @property
    def cache(self) -> CacheSource: ...


def compute_run_identity(
    source: IdentitySource,
    *,
    digester: FileDigester,
    lookup_producer: ProducerLookup,
    default_code_mode: CodeIdentityMode,
) -> tuple[Any, list[ResolvedInput], CodeIdentity, RunIdentity]:
    """(canonical config, resolved inputs, code identity, run identity) of ``source``."""
    cache = source.cache
    config, config_digest = compute_config_digest(source.config)
    inputs, depends_on, identity_inputs = source.inputs, source.depends_on, source.identity_inputs
    # No refs at all (many steps of a sweep): nothing to resolve, sort or hash.
    resolved: list[ResolvedInput] = []
    input_digest = NO_INPUTS_DIGEST
    input_parts: tuple[tuple[str, str], ...] = ()
    if inputs is not None or depends_on is not None or identity_inputs is not None:
        groups = (
            ("input", "inputs", inputs),
            ("depends_on", "depends_on", depends_on),
            ("identity", "identity_inputs", identity_inputs),
        )
        resolved = resolve_inputs(groups, digester=digester, lookup_producer=lookup_producer)
        input_digest, input_parts = compute_input_digest(resolved), compute_input_parts(resolved)
    code = compute_code_identity(
        cache.code_identity or default_code_mode,
        source.fn,
        digester=digester,
        caller_file=source.caller_file,
        extra_deps=cache.code_identity_extra_deps,
    )
    parts: dict[str, Any] = dict(
        code_digest=code.digest,
        config_digest=config_digest,
        input_digest=input_digest,
        model=source.model,
        year=source.year,
        iteration=source.iteration,
        cache_version=cache.version,
        cache_epoch=cache.epoch,
    )
    identity = RunIdentity(
        compute_signature(**parts),
        code_mode=code.mode,
        input_parts=input_parts,
        **parts,
    )
    return config, resolved, code, identity
