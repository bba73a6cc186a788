"""Names and literals that reach view SQL: validated, then quoted. Nothing else is spliced.

Rules (the no-injection contract of the data layer):

* a view or table name is a plain identifier: ``[A-Za-z_][A-Za-z0-9_]*``, at most 63
  characters, and not a reserved word of SQL; anything else is refused with a ConfigError
  naming the parameter, the bad value and a fix. Valid names are still double-quoted;
* a concept key (an artifact key) becomes a table name through ``table_name_for``: lower
  case, every run of other characters turned into ``_``; the result is validated again;
* string values (paths, run ids, facet values) become SQL literals through ``literal``
  (single quotes doubled); numbers through ``repr`` of a real int/float only;
* facet predicates (``params`` of create_grouped_view) are parsed, never spliced:
  ``[namespace.]key<op>value`` with op one of ``= != >= <= > <``, key a dotted path of
  identifier characters, value a number, ``true``/``false``/``null`` or any other text
  (kept as a string). An unquoted value holding spaces, parentheses or ``;`` is
  refused (``x=1) OR (1=1``); quote it to compare with such text. A predicate that
  does not parse is refused. Without a default namespace, ``a.b`` means namespace
  ``a``, key ``b`` and, failing that, key ``a.b`` in any namespace (``scopes()``);
  ``attach_facets`` paths parse the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from consist.errors import ConfigError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_KEY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_0-9][A-Za-z0-9_\-]*)*")
_PREDICATE = re.compile(r"\s*(?P<key>[^=!<>\s]+)\s*(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>.*?)\s*")
_OPERATORS = ("!=", ">=", "<=", "=", ">", "<")
# In an unquoted value these read as SQL, not data: "x=1) OR (1=1" is refused, not
# silently compared as the text '1) OR (1=1'. Quote the value to mean the text.
_UNQUOTED_SYNTAX = re.compile(r"[\s();]")


def _unquoted(value: str) -> str:
    """``value`` when it is not wrapped in matching quotes, else ''."""
    quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""
    return "" if quoted else value


# Words DuckDB would parse as syntax even when quoted by a careless caller; refusing them
# keeps the error where the name was given.
_RESERVED = frozenset(
    """select from where group order by having union all distinct table view create drop
    insert update delete join on as and or not null true false limit offset with case when
    then else end in is like between cast""".split()
)


def check_identifier(value: object, parameter: str) -> str:
    """Return ``value`` if it is a safe SQL identifier, else raise a ConfigError."""
    if (
        not isinstance(value, str)
        or _IDENTIFIER.fullmatch(value) is None
        or value.lower() in _RESERVED
    ):
        raise ConfigError(
            f"{parameter}={value!r} is not a valid SQL name.",
            cause="Names are spliced into SQL; only letters, digits and '_' (not first) "
            "are accepted, at most 63 characters, and no SQL keyword.",
            fix=f"Pass {parameter} like 'trips_by_zone'.",
            parameter=parameter,
            value=repr(value),
        )
    return value


def quote_identifier(name: str) -> str:
    """Double-quote an identifier (doubling embedded quotes: column names come from files)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQL literal for a str / int / float / bool / None."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(
                f"{value!r} cannot be used as a SQL value.", fix="Use a finite number."
            )
        return repr(float(value))
    if isinstance(value, str):
        if "\x00" in value:
            raise ConfigError(f"{value!r} contains a NUL byte.", fix="Remove the NUL byte.")
        return "'" + value.replace("'", "''") + "'"
    raise ConfigError(
        f"{value!r} of type {type(value).__name__} cannot be used as a SQL value.",
        fix="Use a str, int, float, bool or None.",
    )


def table_name_for(concept_key: object, parameter: str = "concept_key") -> str:
    """The global_tables table name of a concept key (lower case, ``_`` for other chars)."""
    if not isinstance(concept_key, str) or not concept_key.strip():
        raise ConfigError(
            f"{parameter}={concept_key!r} must be a non-empty string.",
            fix=f"Pass {parameter} as the artifact key, e.g. 'trips'.",
            parameter=parameter,
        )
    name = re.sub(r"[^a-z0-9_]+", "_", concept_key.strip().lower()).strip("_") or "_"
    if name[0].isdigit():
        name = "t_" + name
    if name in _RESERVED:
        name = name + "_"
    return check_identifier(name[:63], parameter)


@dataclass(frozen=True, slots=True)
class FacetPredicate:
    """One parsed ``params`` entry: ``namespace.key op value`` (namespace may be None)."""

    namespace: str | None
    key: str
    op: str
    value: str | int | float | bool | None
    #: the namespace came from splitting a dotted key: the whole key is tried too.
    split: bool = field(default=False, compare=False)

    def scopes(self) -> tuple[tuple[str | None, str], ...]:
        """(namespace, key) to look the facet value up at, in order of preference."""
        return _scopes(self.namespace, self.key, self.split)


@dataclass(frozen=True, slots=True)
class FacetPath:
    """One ``attach_facets`` entry: where the value is looked up, and its column name."""

    namespace: str | None
    key: str
    column: str
    split: bool = False

    def scopes(self) -> tuple[tuple[str | None, str], ...]:
        return _scopes(self.namespace, self.key, self.split)


def _scopes(namespace: str | None, key: str, split: bool) -> tuple[tuple[str | None, str], ...]:
    if split and namespace is not None:
        return ((namespace, key), (None, f"{namespace}.{key}"))
    return ((namespace, key),)


def parse_facet_path(text: object, default_namespace: str | None = None) -> FacetPath:
    """Parse one ``attach_facets`` entry ``[namespace.]key``; its column is the key path
    with every other character turned into ``_`` (``demand.growth`` -> ``demand_growth``)."""
    if not isinstance(text, str) or _KEY_PATH.fullmatch(text.strip()) is None:
        raise ConfigError(
            f"attach_facets entry {text!r} is not a facet key path.",
            cause="A key path is letters, digits, '_' and '-', separated by dots.",
            fix="Pass e.g. attach_facets=['fleet', 'demand.growth'].",
            parameter="attach_facets",
            value=repr(text),
        )
    path = text.strip()
    column = re.sub(r"[^A-Za-z0-9_]+", "_", path).strip("_") or "_"
    if column[0].isdigit():
        column = "f_" + column
    check_identifier(column[:63], "attach_facets")
    namespace, key, split = default_namespace, path, False
    if "." in path and default_namespace is None:
        namespace, key = path.split(".", 1)
        split = True
    return FacetPath(namespace, key, column[:63], split)


def parse_predicate(text: object, default_namespace: str | None = None) -> FacetPredicate:
    """Parse one facet predicate (see the module docstring); refuse what does not parse."""
    match = _PREDICATE.fullmatch(text) if isinstance(text, str) else None
    if (
        match is None
        or _KEY_PATH.fullmatch(match["key"]) is None
        or match["value"] == ""
        or _UNQUOTED_SYNTAX.search(_unquoted(match["value"]))
    ):
        raise ConfigError(
            f"params entry {text!r} is not a facet predicate.",
            cause="Each entry must read [namespace.]key<op>value with op one of "
            + ", ".join(_OPERATORS)
            + ", the key made of letters, digits, '_', '-' and dots, and a value with"
            " spaces, parentheses or ';' written in quotes.",
            fix="Pass e.g. params=['scenario.fleet=electric', 'demand.growth>=1.1'].",
            parameter="params",
            value=repr(text),
        )
    key = match["key"]
    namespace = default_namespace
    split = "." in key and default_namespace is None
    if split:
        namespace, key = key.split(".", 1)
    if namespace is not None:
        check_identifier(namespace.replace("-", "_"), "namespace")
    return FacetPredicate(namespace, key, match["op"], _parse_value(match["value"]), split)


def _parse_value(text: str) -> str | int | float | bool | None:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]  # an explicitly quoted string stays a string
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
