"""Input-set identity: raw files, tracked artifacts and hash-only identity inputs.

Each input contributes one line ``role:name:contribution`` where the contribution is

* ``file:<content digest>`` for a raw file or directory, and
* ``run:<producer signature>:<content digest>`` for a file an earlier run produced
  (as an Artifact, or as a path whose current bytes are the ones that run recorded).

The producer signature is the Merkle link: any change upstream (code, config, inputs)
changes every downstream identity, even when upstream bytes happen to be equal. The
content digest is kept beside it so an overwritten or hand-edited file is never mistaken
for the bytes the producer recorded. Lines are sorted, so input order never matters.
The file path itself is not part of the identity: moving an input does not invalidate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from consist.errors import ConfigError
from consist.identity.canonical import digest_bytes
from consist.identity.files import FileDigester
from consist.model.artifact import Artifact, ProducedFile

ProducerLookup = Callable[[str], ProducedFile | None]


@dataclass(frozen=True, slots=True)
class DigestRef:
    """A hash-only identity input whose digest is already known (e.g. a config adapter's
    canonical digest of a file); ``path`` is only where it came from, never hashed."""

    digest: str
    path: str


@dataclass(frozen=True, slots=True)
class ResolvedInput:
    """One input after resolution: where it is, its bytes' digest and its producer, if any."""

    role: str
    name: str
    abs_path: str
    digest: str
    producer_signature: str | None = None
    producer_run_id: str | None = None
    artifact: Artifact | None = None
    producer_artifact_id: str | None = None

    @property
    def source(self) -> str:
        """``file:<digest>`` or ``run:<producer signature>:<digest>``."""
        if self.producer_signature:
            return f"run:{self.producer_signature}:{self.digest}"
        return f"file:{self.digest}"

    @property
    def contribution(self) -> str:
        return f"{self.role}:{self.name}:{self.source}"


def resolve_inputs(
    groups: Iterable[tuple[str, str, Any]],
    *,
    digester: FileDigester,
    lookup_producer: ProducerLookup,
) -> list[ResolvedInput]:
    """Resolve every ref of ``(role, parameter, refs)`` groups, in order."""
    return [
        resolve_input(
            role, name, ref, digester=digester, lookup_producer=lookup_producer, parameter=parameter
        )
        for role, parameter, refs in groups
        for name, ref in iter_named_refs(refs, parameter)
    ]


def iter_named_refs(refs: Any, parameter: str) -> Iterable[tuple[str, Any]]:
    """Yield (name, ref) pairs from a mapping or an iterable of refs."""
    if refs is None:
        return ()
    if isinstance(refs, Mapping):
        for name in refs:
            if not isinstance(name, str) or not name:
                raise ConfigError(
                    f"{parameter} has key {name!r}; input names must be non-empty strings.",
                    fix=f"Use string keys in {parameter}, e.g. {{'households': path}}.",
                    parameter=parameter,
                )
        return list(refs.items())
    if isinstance(refs, (str, PurePath, Artifact)):
        refs = [refs]
    pairs: list[tuple[str, Any]] = []
    for ref in refs:
        if isinstance(ref, tuple) and len(ref) == 2 and isinstance(ref[0], str):
            pairs.append((ref[0], ref[1]))
        else:
            pairs.append((default_name(ref, parameter), ref))
    return pairs


def default_name(ref: Any, parameter: str) -> str:
    if isinstance(ref, Artifact):
        return ref.key
    if isinstance(ref, DigestRef):
        return os.path.basename(ref.path) or ref.digest[:16]
    if isinstance(ref, (str, PurePath)):
        return os.path.basename(os.fspath(ref).rstrip("/")) or os.fspath(ref)
    raise ConfigError(
        f"{parameter} contains {ref!r} of type {type(ref).__name__}; expected a path or an Artifact.",
        fix=f"Pass {parameter} as a mapping or list of str/Path/Artifact.",
        parameter=parameter,
    )


def resolve_input(
    role: str,
    name: str,
    ref: Any,
    *,
    digester: FileDigester,
    lookup_producer: ProducerLookup,
    parameter: str,
) -> ResolvedInput:
    """Resolve a path or Artifact to its current digest and producer."""
    if isinstance(ref, DigestRef):
        return ResolvedInput(role, name, ref.path, ref.digest)
    if isinstance(ref, Artifact):
        abs_path = os.path.abspath(ref.path)
        if not os.path.exists(abs_path) and ref.hash:
            # The bytes are elsewhere (another machine); trust the record.
            return ResolvedInput(
                role, name, abs_path, ref.hash, ref.producer_signature, ref.run_id, ref
            )
        digest = digester.digest(abs_path, what=f"{parameter}[{name!r}]")
        if ref.producer_signature and digest == ref.hash:
            return ResolvedInput(
                role, name, abs_path, digest, ref.producer_signature, ref.run_id, ref
            )
        return _with_producer(role, name, abs_path, digest, lookup_producer, ref)
    if not isinstance(ref, (str, PurePath)):
        default_name(ref, parameter)  # raises the standard type error
    abs_path = os.path.abspath(os.fspath(ref))
    digest = digester.digest(abs_path, what=f"{parameter}[{name!r}]")
    return _with_producer(role, name, abs_path, digest, lookup_producer, None)


def _with_producer(
    role: str,
    name: str,
    abs_path: str,
    digest: str,
    lookup_producer: ProducerLookup,
    artifact: Artifact | None,
) -> ResolvedInput:
    produced = lookup_producer(abs_path)
    if produced is not None and produced.digest == digest:
        return ResolvedInput(
            role,
            name,
            abs_path,
            digest,
            produced.signature,
            produced.run_id,
            artifact,
            produced.artifact_id,
        )
    return ResolvedInput(role, name, abs_path, digest, None, None, artifact)


def compute_input_parts(resolved: Iterable[ResolvedInput]) -> tuple[tuple[str, str], ...]:
    """Each input's source keyed ``role:name`` (a repeated name gets ``#2``, ``#3``...)."""
    parts: dict[str, str] = {}
    for item in resolved:
        key, n = f"{item.role}:{item.name}", 1
        while key in parts:
            n += 1
            key = f"{item.role}:{item.name}#{n}"
        parts[key] = item.source
    return tuple(sorted(parts.items()))


def compute_input_digest(resolved: Iterable[ResolvedInput]) -> str:
    """Digest of the whole input set, independent of order."""
    lines = sorted(item.contribution for item in resolved)
    if not lines:
        return NO_INPUTS_DIGEST  # most steps of a sweep: the same text every time
    return digest_bytes(("inputs-v1\n" + "\n".join(lines)).encode())


NO_INPUTS_DIGEST = digest_bytes(b"inputs-v1\n")  # the digest of an empty input set
