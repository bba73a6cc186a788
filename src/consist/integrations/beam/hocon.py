"""Reading BEAM's HOCON files through pyhocon, and the files an include pulls in.

Rules:

* A ``.conf`` file is parsed with pyhocon with substitutions resolved (``${a.b}``,
  ``${?ENV}``); includes are resolved relative to the including file, as HOCON says.
  The document is the plain nested mapping pyhocon produces, so comments, ``=`` vs ``:``,
  dotted vs nested keys, key order and whitespace never reach it.
* Included files are found by scanning for ``include "x"`` / ``include file("x")`` /
  ``include required(file("x"))`` statements (recursively), so the memo can watch them;
  ``include url(...)`` and classpath includes are not watched (BEAM does not use them in
  file trees) and a changed remote include would go unnoticed until the including file
  changes.
* An environment variable read through ``${?VAR}`` is part of the document's value, so it
  is part of the identity only through that value; the memo does not watch the
  environment, so set such variables before the first plan of a process.
"""

from __future__ import annotations

import os
import re
from typing import Any

from consist._libs.hocon import import_pyhocon
from consist.errors import ConfigError

_INCLUDE = re.compile(
    r'^\s*include\s+(?:required\s*\(\s*)?(?:file\s*\(\s*)?"([^"]+)"', re.MULTILINE
)


def read_hocon(path: str) -> Any:
    pyhocon = import_pyhocon()
    try:
        tree = pyhocon.ConfigFactory.parse_file(path, resolve=True)
    except Exception as exc:  # pyhocon raises several unrelated types for bad input
        raise ConfigError(
            f"The BEAM config file {path} cannot be read as HOCON.",
            cause=f"{type(exc).__name__}: {exc}",
            fix="Correct the HOCON syntax or the include / substitution it names.",
            path=path,
        ) from None
    return _plain(tree)


def _plain(value: Any) -> Any:
    if hasattr(value, "as_plain_ordered_dict"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "NoneValue":
        return None
    return value


def included_files(path: str) -> tuple[str, ...]:
    """``path`` and every local file it includes, transitively (existing or not)."""
    seen: list[str] = []
    pending = [os.path.abspath(path)]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        try:
            with open(current, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue  # an optional include that does not exist
        folder = os.path.dirname(current)
        for name in _INCLUDE.findall(text):
            pending.append(os.path.normpath(os.path.join(folder, name)))
    return tuple(seen)


def hocon_value(value: Any) -> str:
    """A JSON-like value as HOCON text (JSON is valid HOCON)."""
    import json

    return json.dumps(value, ensure_ascii=False)
