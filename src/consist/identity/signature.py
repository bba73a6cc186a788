"""RunIdentity: the combination of code, config, inputs and discriminators into one signature.

The signature is blake3 over a type-tagged, versioned JSON list, so adding a component
in a later version cannot collide with an old signature. What is in it:

* code digest, config digest, input digest (see code.py, canonical.py, inputs.py);
* ``model`` - the same function under two model names is two steps;
* ``year`` and ``iteration`` - a multi-year loop must never reuse 2020 for 2030;
* ``cache_version`` and ``cache_epoch`` - user-controlled invalidation.

``input_parts`` (each input's own contribution, keyed ``role:name``) is persisted in
the identity dict so a miss can name the input that changed; it is not hashed again
(``input_digest`` already covers it).

Not in it: run name, run id, tags, description, stage, phase, parent run and
``runtime_kwargs`` (labels and runtime plumbing, not results).
The pinned digests in tests/golden guard this contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson

from consist.identity.canonical import digest_bytes

SIGNATURE_VERSION = "consist-signature-v1"


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """All identity components of a run and the signature they combine into."""

    signature: str
    code_digest: str
    config_digest: str
    input_digest: str
    code_mode: str
    model: str
    year: int | None = None
    iteration: int | None = None
    cache_version: int | None = None
    cache_epoch: int | None = None
    input_parts: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "signature": self.signature,
            "version": SIGNATURE_VERSION,
            "code": self.code_digest,
            "code_mode": self.code_mode,
            "config": self.config_digest,
            "inputs": self.input_digest,
            "model": self.model,
            "year": self.year,
            "iteration": self.iteration,
            "cache_version": self.cache_version,
            "cache_epoch": self.cache_epoch,
            "input_parts": dict(self.input_parts),
        }


# Same output as json.dumps(payload, separators=(",", ":")), without building an encoder
# per call (it is on every run's path).
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def compute_signature(
    *,
    code_digest: str,
    config_digest: str,
    input_digest: str,
    model: str,
    year: int | None = None,
    iteration: int | None = None,
    cache_version: int | None = None,
    cache_epoch: int | None = None,
) -> str:
    """Combine identity components into the run signature (64 hex chars)."""
    payload = [
        SIGNATURE_VERSION,
        ["code", code_digest],
        ["config", config_digest],
        ["inputs", input_digest],
        ["model", model],
        ["year", year],
        ["iteration", iteration],
        ["cache_version", cache_version],
        ["cache_epoch", cache_epoch],
    ]
    if model.isascii() and model.isprintable():
        # Printable ASCII, hex digests, ints and None: orjson writes the very bytes the
        # standard encoder writes (only '"' and backslash are escaped, alike), faster.
        return digest_bytes(orjson.dumps(payload))
    return digest_bytes(_ENCODER.encode(payload).encode())
