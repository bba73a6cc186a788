"""The run keyword set is declared once (request/spec.py); every public signature agrees.

Checked here: Tracker.run / Tracker.trace against RunKwargs / TraceKwargs (names, order-free,
and annotations), consist.run / consist.trace (``**kwargs: Unpack[...]``), begin_run's
named keywords and run fields, and all of them against the reference's signatures
(reference_signatures.txt, itself checked against the reference when it is present).
"""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

import consist
from consist import Tracker
from consist.request.spec import BEGIN_RUN_FIELDS, RunKwargs, StepKwargs, TraceKwargs

HERE = Path(__file__).parent
REFERENCE = HERE.parents[2].parent / "shared" / "spec" / "tracker-api-reference.txt"

# Reference parameters that later issues bring, each with the issue that owns it. A
# parameter leaves this table in the change that implements it.
NOT_YET: dict[str, str] = {}
# Documented extensions beyond the reference (docs/runs.md).
EXTENSIONS = {
    "trace": {"stage", "phase"},  # run takes them; trace mirrors run
    "begin_run": {"cache_version", "cache_epoch"},  # trace takes them; begin_run mirrors trace
}


def _reference() -> dict[str, inspect.Signature]:
    signatures = {}
    for line in (HERE / "reference_signatures.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            tree = ast.parse(f"def {line}: pass")
            function = tree.body[0]
            assert isinstance(function, ast.FunctionDef)
            namespace: dict[str, object] = {}
            exec(compile(ast.Module([function], []), "<reference>", "exec"), namespace)
            signatures[function.name] = inspect.signature(namespace[function.name])  # type: ignore[arg-type]
    return signatures


REFERENCE_SIGNATURES = _reference()


def _own(method: str) -> dict[str, inspect.Parameter]:
    params = dict(inspect.signature(getattr(Tracker, method)).parameters)
    params.pop("self")
    return params


def test_the_pinned_reference_signatures_match_the_reference() -> None:
    if not REFERENCE.exists():
        pytest.skip("the reference is not beside this checkout")
    text = REFERENCE.read_text()
    for line in (HERE / "reference_signatures.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert line in text.splitlines()


@pytest.mark.parametrize(
    ("method", "declaration", "leading"),
    [("run", RunKwargs, {"fn", "name"}), ("trace", TraceKwargs, {"name"})],
)
def test_facade_signature_is_the_declared_keyword_set(
    method: str, declaration: type, leading: set[str]
) -> None:
    params = _own(method)
    assert set(params) - leading == set(declaration.__annotations__)
    hints = typing.get_type_hints(getattr(Tracker, method))
    declared = typing.get_type_hints(declaration)
    for name in declared:
        assert hints[name] == declared[name], name
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name


@pytest.mark.parametrize("method", ["run", "trace", "begin_run"])
def test_facade_agrees_with_the_reference(method: str) -> None:
    reference = REFERENCE_SIGNATURES[method].parameters
    own = _own(method)
    for name, param in own.items():
        if name in EXTENSIONS.get(method, set()):
            continue
        assert name in reference, f"{method}({name}=...) is not in the reference"
        ref = reference[name]
        assert param.kind == ref.kind, name
        assert param.default == ref.default, name
    missing = set(reference) - set(own)
    assert missing <= set(NOT_YET), f"{method} lacks {sorted(missing - set(NOT_YET))}"
    # Positional order of the reference is kept.
    positional = [n for n, p in own.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    ref_positional = [n for n, p in reference.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == ref_positional


def test_not_yet_lists_only_reference_parameters_nobody_takes() -> None:
    taken = set(_own("run")) | set(_own("trace")) | set(_own("begin_run"))
    in_reference = {n for s in REFERENCE_SIGNATURES.values() for n in s.parameters}
    assert set(NOT_YET) <= in_reference
    assert not set(NOT_YET) & taken, "implemented parameters must leave NOT_YET"


def test_begin_run_keywords_are_run_keywords() -> None:
    # hash_inputs: begin_run's legacy name for identity_inputs (run/trace refuse it).
    named = set(_own("begin_run")) - {
        "kwargs",
        "artifact_dir",
        "allow_external_paths",
        "hash_inputs",
    }
    assert named <= set(TraceKwargs.__annotations__) | {"run_id", "model"}
    assert set(BEGIN_RUN_FIELDS) - {"name"} <= set(StepKwargs.__annotations__)


@pytest.mark.parametrize(
    ("helper", "declaration"), [(consist.run, RunKwargs), (consist.trace, TraceKwargs)]
)
def test_module_helpers_take_the_declared_keywords(helper: object, declaration: type) -> None:
    kwargs = inspect.signature(helper).parameters["kwargs"]  # type: ignore[arg-type]
    assert kwargs.kind is inspect.Parameter.VAR_KEYWORD
    assert kwargs.annotation == f"Unpack[{declaration.__name__}]"
