"""Pinned canonical bytes and digests of fixed configs.

WARNING: these values are persisted in every user's run store. If this test
fails, the config digest changed and EVERY existing cache entry of every user
silently becomes a miss. Never update the expected values to make it pass;
fix the code, or ship a deliberate, versioned identity migration instead.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import PurePosixPath

import pytest

from consist.identity.canonical import canonical_json, compute_config_digest

CASES = [
    pytest.param(
        {"lr": 0.001, "epochs": 10, "name": "resnet", "use_gpu": True, "dropout": None},
        b'{"dropout":null,"epochs":10,"lr":0.001,"name":"resnet","use_gpu":true}',
        "f02c6687997ed159ccabef45e14ad2eb623f73048c590f75028b61aa2558b892",
        id="flat-scalars",
    ),
    pytest.param(
        {"model": {"layers": (64, 32.0), "act": "relu"}, "tags": {"b", "a"}, "w": -0.0},
        b'{"model":{"act":"relu","layers":[64,32]},"tags":["a","b"],"w":0}',
        "c33cb96f3301b1b3ffc1048dc672f1d153b74f99c92da48534977850c280f261",
        id="nested-normalized",
    ),
    pytest.param(
        {
            "data": PurePosixPath("data/in.csv"),
            "when": dt.date(2024, 1, 2),
            "bounds": [math.inf, -math.inf, math.nan, 1.5],
            "blob": b"\x01\xfe",
            "label": "naïve ∑",
        },
        (
            '{"blob":{"__bytes__":"01fe"},"bounds":[{"__float__":"inf"},'
            '{"__float__":"-inf"},{"__float__":"nan"},1.5],"data":"data/in.csv",'
            '"label":"naïve ∑","when":"2024-01-02"}'
        ).encode(),
        "788429c7478eab7b533c40d050faabb53b48de5b6191f97da5d91e94586d648c",
        id="rich-types",
    ),
]


@pytest.mark.parametrize(("config", "expected_json", "expected_digest"), CASES)
def test_config_digest_is_pinned(
    config: object, expected_json: bytes, expected_digest: str
) -> None:
    assert canonical_json(config) == expected_json
    assert compute_config_digest(config)[1] == expected_digest
