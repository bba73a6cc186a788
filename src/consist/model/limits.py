"""Validation of user-supplied names and tags against the limits in settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from consist.errors import ConfigError
from consist.settings import MAX_META_BYTES, MAX_NAME_LENGTH, MAX_TAG_LENGTH

# Names end up in file names (snapshots, artifact dirs), so path separators are refused.
_FORBIDDEN_NAME_CHARS = frozenset("/\\\x00")


def validate_name(value: object, parameter: str) -> str:
    """Return ``value`` if it is a usable run id / run name / model name, else raise ConfigError."""
    if not isinstance(value, str):
        raise ConfigError(
            f"{parameter}={value!r} must be a string.",
            fix=f"Pass {parameter} as a non-empty string.",
            parameter=parameter,
        )
    if not value.strip():
        raise ConfigError(
            f"{parameter}={value!r} is empty.",
            fix=f"Pass a non-empty {parameter}, for example {parameter}='baseline'.",
            parameter=parameter,
        )
    if len(value) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"{parameter} is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}.",
            fix=f"Shorten {parameter} (or raise CONSIST_MAX_NAME_LENGTH).",
            parameter=parameter,
        )
    if _FORBIDDEN_NAME_CHARS.intersection(value) or value in (".", ".."):
        raise ConfigError(
            f"{parameter}={value!r} contains a path separator or is a relative path name.",
            fix=f"Use a {parameter} without '/', '\\\\' or NUL characters.",
            parameter=parameter,
        )
    return value


def validate_tags(tags: object) -> list[str]:
    """Return tags as a list of strings, or raise ConfigError naming the bad tag."""
    if tags is None:
        return []
    if isinstance(tags, str):
        raise ConfigError(
            f"tags={tags!r} is a single string.",
            fix=f"Pass a list of strings: tags=[{tags!r}].",
            parameter="tags",
        )
    result = []
    for tag in tags:  # type: ignore[attr-defined]
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
            raise ConfigError(
                f"tags contains {tag!r}; each tag must be a non-empty string of at most "
                f"{MAX_TAG_LENGTH} characters.",
                fix="Pass tags as a list of short strings.",
                parameter="tags",
            )
        result.append(tag)
    return result


def validate_optional_int(value: object, parameter: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{parameter}={value!r} must be an integer or None.",
            fix=f"Pass {parameter} as an int, e.g. {parameter}=2030.",
            parameter=parameter,
        )
    return value


def validate_optional_str(value: object, parameter: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(
        f"{parameter}={value!r} must be a string or None.",
        fix=f"Pass {parameter} as a string.",
        parameter=parameter,
    )


def check_size(size: int, limit: int, parameter: str, env: str) -> None:
    """Refuse a value whose JSON form is ``size`` bytes when the limit is ``limit``."""
    if size > limit:
        raise ConfigError(
            f"{parameter} is {size:,} bytes as JSON; the limit is {limit:,} bytes.",
            cause="Records are stored as JSON rows; very large values belong in files.",
            fix=f"Write large values to a file and pass its path as an input (or raise {env}).",
            parameter=parameter,
            size=size,
            limit=limit,
        )


def validate_meta(meta: Mapping[str, Any], parameter: str) -> None:
    """Refuse metadata whose JSON form is larger than MAX_META_BYTES."""
    if meta:
        size = len(json.dumps(meta, default=repr, ensure_ascii=False).encode("utf-8", "replace"))
        check_size(size, MAX_META_BYTES, parameter, "CONSIST_MAX_META_BYTES")
