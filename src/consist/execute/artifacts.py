"""Turning a path (or an existing Artifact) into an Artifact record of the active run."""

from __future__ import annotations

import os
import stat as _stat
from dataclasses import replace
from pathlib import PurePath
from typing import Any

from consist.errors import ConfigError, IdentityError
from consist.formats.registry import driver_for_path
from consist.fs.layout import RunLayout
from consist.identity.canonical import digest_bytes
from consist.identity.files import FileDigester
from consist.identity.inputs import ProducerLookup, ResolvedInput, resolve_input
from consist.model.artifact import Artifact
from consist.model.clock import utc_now
from consist.model.ids import random_hex


def input_artifact(resolved: ResolvedInput, layout: RunLayout, run_id: str) -> Artifact:
    """Artifact for a resolved input: the producer's artifact when known, else a raw file."""
    if resolved.artifact is not None and resolved.artifact.hash == resolved.digest:
        return replace(resolved.artifact, meta=dict(resolved.artifact.meta))
    uri = layout.to_uri(resolved.abs_path)
    artifact_id = (
        resolved.producer_artifact_id or digest_bytes(f"{uri}\n{resolved.digest}".encode())[:32]
    )
    meta: dict[str, Any] = {} if resolved.role == "input" else {"role": resolved.role}
    return Artifact(
        id=artifact_id,
        key=resolved.name,
        uri=uri,
        driver=driver_for_path(resolved.abs_path),
        hash=resolved.digest,
        size=_size(resolved.abs_path),
        run_id=resolved.producer_run_id or run_id,
        producer_signature=resolved.producer_signature,
        created_at=utc_now(),
        meta=meta,
        abs_path=resolved.abs_path,
    )


def input_artifacts(
    resolved: list[ResolvedInput], layout: RunLayout, run_id: str
) -> dict[str, Artifact]:
    """Input artifacts of a run by key (identity-only inputs are not recorded as inputs)."""
    artifacts: dict[str, Artifact] = {}
    for item in resolved:
        if item.role != "identity":
            # List inputs are named by file name; two "data.csv" must both be recorded.
            key, n = item.name, 1
            while key in artifacts:
                n += 1
                key = f"{item.name}#{n}"
            artifact = input_artifact(item, layout, run_id)
            artifact.key = key
            artifacts[key] = artifact
    return artifacts


def logged_input_artifact(
    path: Any,
    key: str,
    *,
    layout: RunLayout,
    run_id: str,
    digester: FileDigester,
    lookup_producer: ProducerLookup,
    content_hash: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Artifact:
    """Artifact for ``log_input``: a path (digest given or computed) or an earlier Artifact."""
    ref = path
    if content_hash is not None and not isinstance(path, Artifact):
        abs_path = os.path.abspath(os.fspath(path))
        ref = Artifact(id="", key=key, uri=os.fspath(path), hash=content_hash, abs_path=abs_path)
    resolved = resolve_input(
        "input", key, ref, digester=digester, lookup_producer=lookup_producer, parameter="path"
    )
    artifact = input_artifact(resolved, layout, run_id)
    artifact.meta.update(meta or {})
    return artifact


def output_artifact(
    path: Any,
    key: str,
    *,
    run_id: str,
    signature: str | None,
    layout: RunLayout,
    digester: FileDigester,
    driver: str | None = None,
    content_hash: str | None = None,
    validate_content_hash: bool = False,
    meta: dict[str, Any] | None = None,
) -> Artifact:
    """A new output artifact of ``run_id`` for the file at ``path`` (hashed via the memo)."""
    abs_path = os.path.abspath(os.fspath(path))
    size: int | None = None
    if content_hash is None or validate_content_hash:
        fresh = digester.digest_fresh_file(abs_path)
        digest, st = fresh or digester.digest_and_stat(abs_path, what=f"output {key!r}")
        size = st.st_size if _stat.S_ISREG(st.st_mode) else None
        if content_hash is not None and content_hash != digest:
            raise IdentityError(
                f"content_hash={content_hash!r} does not match the bytes of {abs_path} ({digest}).",
                fix="Drop content_hash to let Consist hash the file, or pass the right digest.",
                parameter="content_hash",
            )
        content_hash = digest
    return Artifact(
        id=random_hex(128),  # the 32 hex characters of a uuid4().hex, cheaper
        key=key,
        uri=layout.to_uri(abs_path),
        driver=driver or driver_for_path(abs_path),
        hash=content_hash,
        size=size if size is not None else _size(abs_path),
        run_id=run_id,
        producer_signature=signature,
        created_at=utc_now(),
        meta=dict(meta or {}),
        abs_path=abs_path,
    )


def check_key(key: object, parameter: str = "key") -> str:
    if not isinstance(key, str) or not key:
        raise ConfigError(
            f"{parameter}={key!r} must be a non-empty string.",
            fix=f"Pass {parameter}='name' for the artifact.",
            parameter=parameter,
        )
    return key


def default_key(path: Any) -> str:
    if isinstance(path, Artifact):
        return path.key
    if isinstance(path, (str, PurePath)):
        name = os.path.basename(os.fspath(path).rstrip("/"))
        return name.split(".", 1)[0] or name
    raise ConfigError(
        f"path={path!r} of type {type(path).__name__} is not a path or an Artifact.",
        fix="Pass a str, pathlib.Path or Artifact.",
        parameter="path",
    )


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if os.path.isfile(path) else None
    except OSError:
        return None
