"""Packaging: the installed package carries its PEP 561 ``py.typed`` marker."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

import consist

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_package_has_py_typed() -> None:
    marker = files("consist").joinpath("py.typed")
    assert marker.is_file()
    # The package imported is the one that carries the marker.
    assert Path(consist.__file__).parent.joinpath("py.typed").is_file()


def test_py_typed_is_declared_as_package_data_so_wheels_carry_it() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["consist"]
