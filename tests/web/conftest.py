"""Fixtures of the web app tests: one sample store per module, built by real runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_store import SampleStore, build_sample_store


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleStore:
    return build_sample_store(tmp_path_factory.mktemp("store"))


@pytest.fixture()
def images_dir() -> Path:
    """Where the browser tests save their screenshots (the README shows them)."""
    path = Path(__file__).resolve().parents[2] / "docs" / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path
