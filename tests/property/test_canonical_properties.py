"""Property tests: the canonical form is a fixed point, order-free, and sensitive to leaves."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from consist.identity import canonical
from consist.identity.canonical import (
    canonical_json,
    canonicalize,
    compute_config_digest,
    digest_bytes,
)
from consist.identity.signature import SIGNATURE_VERSION, compute_signature

leaves = st.one_of(st.integers(), st.text(max_size=8), st.booleans())
keys = st.text(max_size=6)
json_like: st.SearchStrategy[Any] = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=20,
)
configs = st.dictionaries(keys, json_like, max_size=6)
# Inputs the canonicalizer rewrites (floats, tuples, sets) for idempotence checks.
rich_leaves = st.one_of(leaves, st.floats(allow_nan=True), st.none())
rich: st.SearchStrategy[Any] = st.recursive(
    rich_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.frozensets(st.one_of(st.integers(), st.text(max_size=4)), max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=20,
)


def reinsert_shuffled(value: Any, rng: random.Random) -> Any:
    """Rebuild every dict with the same items in a random insertion order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: reinsert_shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [reinsert_shuffled(v, rng) for v in value]
    return value


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in leaf_paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaf_paths(v, (*prefix, i))]
    return [prefix]


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (replaced(v, rest, new) if k == head else v) for k, v in value.items()}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


def different_leaf(old: Any) -> Any:
    # Switch kind too, so the new leaf can never canonicalize like the old one.
    if type(old) is bool:
        return "flipped"
    if type(old) is int:
        return not bool(old % 2)
    return len(old) + 1


@given(rich)
def test_canonicalize_is_idempotent(value: Any) -> None:
    once = canonicalize(value)
    assert canonicalize(once) == once
    assert canonical_json(once) == canonical_json(value)


@given(configs, st.randoms(use_true_random=False))
def test_key_insertion_order_is_irrelevant(config: dict[str, Any], rng: random.Random) -> None:
    shuffled = reinsert_shuffled(config, rng)
    assert canonical_json(shuffled) == canonical_json(config)
    assert compute_config_digest(shuffled)[1] == compute_config_digest(config)[1]


@settings(max_examples=200)
@given(configs.filter(lambda c: bool(leaf_paths(c))), st.data())
def test_changing_a_leaf_changes_the_digest(config: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(leaf_paths(config)))
    old = config
    for step in path:
        old = old[step]
    changed = replaced(config, path, different_leaf(old))
    assert canonical_json(changed) != canonical_json(config)
    assert compute_config_digest(changed)[1] != compute_config_digest(config)[1]


# -- the signature's two encoders write the same bytes --------------------------------

_digests = st.text("0123456789abcdef", min_size=64, max_size=64)
_optional_ints = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _check_signature_text(
    model: str, digests: tuple[str, str, str], numbers: tuple[Any, ...]
) -> None:
    # Printable ASCII model names take orjson's encoder; its bytes must be exactly the
    # standard library's (json.dumps, compact), which every other name still uses.
    year, iteration, version, epoch = numbers
    payload = [
        SIGNATURE_VERSION,
        ["code", digests[0]],
        ["config", digests[1]],
        ["inputs", digests[2]],
        ["model", model],
        ["year", year],
        ["iteration", iteration],
        ["cache_version", version],
        ["cache_epoch", epoch],
    ]
    expected = digest_bytes(json.dumps(payload, separators=(",", ":")).encode())
    assert expected == compute_signature(
        code_digest=digests[0],
        config_digest=digests[1],
        input_digest=digests[2],
        model=model,
        year=year,
        iteration=iteration,
        cache_version=version,
        cache_epoch=epoch,
    )


@given(
    st.text(),
    st.tuples(_digests, _digests, _digests),
    st.tuples(_optional_ints, _optional_ints, _optional_ints, _optional_ints),
)
def test_signature_is_blake3_of_the_standard_json_text(
    model: str, digests: tuple[str, str, str], numbers: tuple[Any, ...]
) -> None:
    _check_signature_text(model, digests, numbers)


@given(st.text(st.characters(min_codepoint=0, max_codepoint=127)))
def test_signature_of_ascii_models_is_the_standard_json_text(model: str) -> None:
    # Quotes, backslashes, control characters and DEL: where encoders could differ.
    _check_signature_text(model, ("a" * 64, "b" * 64, "c" * 64), (2030, None, 1, None))


# -- the orjson path for flat printable-ASCII configs (identity/canonical.py) ----------

printable = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)
flat_values = st.one_of(
    printable, st.integers(min_value=-(2**63), max_value=2**64 - 1), st.booleans(), st.none()
)


def _reference(canon: Any) -> bytes:
    return canonical._ENCODER.encode(canon).encode("utf-8", "surrogatepass")


@given(st.dictionaries(printable, flat_values, max_size=8))
def test_flat_printable_configs_are_written_by_orjson_with_the_same_bytes(
    config: dict[str, Any],
) -> None:
    assert canonical._flat_printable(config)
    assert canonical_json(config) == _reference(config)


@given(
    st.dictionaries(
        st.text(max_size=6),
        st.one_of(
            st.text(max_size=8),
            st.integers(),
            st.floats(),
            st.floats(min_value=1e-300, max_value=1e-4),  # exponent forms differ here
            st.booleans(),
            st.none(),
        ),
        max_size=6,
    )
)
@example({"a": 1e-05})  # orjson: 0.00001
@example({"a": 2**64})  # beyond orjson's integers
@example({"a": "\x7f", "b\n": "é"})  # DEL, a control character, non-ASCII
def test_every_flat_config_has_the_reference_bytes(config: dict[str, Any]) -> None:
    # Any text, big integers and floats: the fast path must decline what it cannot match.
    assert canonical_json(config) == _reference(canonicalize(config))
