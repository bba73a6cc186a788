"""compute_run_identity: a step without input refs takes a shortcut; it must not differ."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from consist.identity.compose import compute_run_identity
from consist.identity.files import FileDigester
from consist.options import CodeIdentityMode


@dataclass
class _Cache:
    code_identity: CodeIdentityMode | None = CodeIdentityMode.CALLABLE_SOURCE
    code_identity_extra_deps: tuple[str, ...] = ()
    version: int | None = None
    epoch: int | None = None


@dataclass
class _Source:
    inputs: Any = None
    depends_on: Any = None
    identity_inputs: Any = None
    config: object = field(default_factory=lambda: {"x": 1})
    fn: Any = None
    caller_file: str | None = None
    model: str = "step"
    year: int | None = None
    iteration: int | None = None
    cache: _Cache = field(default_factory=_Cache)


def _step() -> None:
    return None


def _identity(source: _Source) -> Any:
    source.fn = _step
    return compute_run_identity(
        source,
        digester=FileDigester(),
        lookup_producer=lambda path: None,
        default_code_mode=CodeIdentityMode.CALLABLE_SOURCE,
    )


@pytest.mark.parametrize("empty", [{}, []])
@pytest.mark.parametrize("group", ["inputs", "depends_on", "identity_inputs"])
def test_no_refs_equals_empty_refs(group: str, empty: Any) -> None:
    _, resolved_none, _, none = _identity(_Source())
    _, resolved_empty, _, given = _identity(_Source(**{group: empty}))

    assert resolved_none == resolved_empty == []
    assert none.to_dict() == given.to_dict()


def test_refs_change_the_identity(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    _, _, _, none = _identity(_Source())
    _, resolved, _, with_input = _identity(_Source(inputs={"data": data}))

    assert [item.name for item in resolved] == ["data"]
    assert with_input.input_digest != none.input_digest
    assert with_input.signature != none.signature
    assert dict(with_input.input_parts)
