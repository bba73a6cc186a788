"""A store built by real runs, shared by the CLI tests of a module (which only read it)."""

from __future__ import annotations

import pytest
from cli_store import Store, build_store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_store(tmp_path_factory.mktemp("cli_store"))
