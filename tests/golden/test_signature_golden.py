"""Pinned run signatures, snapshot shape and DuckDB DDL.

WARNING: signatures decide cache hits for every existing record, and the snapshot
shape and DDL are persisted formats. If a pinned value here changes, every user's
cache silently misses or their stored files stop reading. Do not update the expected
values to make a test pass; ship a deliberate, versioned migration instead.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import blake3
import duckdb
import pytest

import consist
from consist import Tracker
from consist.fs.layout import RunLayout
from consist.identity.signature import SIGNATURE_VERSION, RunIdentity, compute_signature
from consist.model.artifact import ARTIFACT_FIELDS
from consist.model.run import RUN_FIELDS, SNAPSHOT_SCHEMA_VERSION
from consist.store import sql_tables
from consist.store.duckdb.store import DuckDBStore

# --- signatures -----------------------------------------------------------------------

MINIMAL = dict(code_digest="c" * 64, config_digest="f" * 64, input_digest="0" * 64, model="clean")
FULL = dict(
    code_digest="1f2e3d4c" * 8,
    config_digest="a1b2c3d4" * 8,
    input_digest="00ff" * 16,
    model="land_use",
    year=2030,
    iteration=3,
    cache_version=2,
    cache_epoch=7,
)

GOLDEN_SIGNATURES = [
    pytest.param(
        MINIMAL, "13279cb51adba3d5378a9091d3508a9714c415f122b8ec0f7b9d235820ce3f7b", id="minimal"
    ),
    pytest.param(
        FULL, "63221136dbf3c3afd9e69d460ee23e7b589d299e01a6dce3f6c0f983e2483b2b", id="full"
    ),
]


def test_signature_version_is_pinned() -> None:
    assert SIGNATURE_VERSION == "consist-signature-v1"


@pytest.mark.parametrize("components, expected", GOLDEN_SIGNATURES)
def test_signature_is_pinned(components: dict, expected: str) -> None:
    assert compute_signature(**components) == expected


@pytest.mark.parametrize("components, expected", GOLDEN_SIGNATURES)
def test_signature_recipe(components: dict, expected: str) -> None:
    """The documented recipe: blake3 of a versioned, type-tagged JSON list."""
    parts = {"year": None, "iteration": None, "cache_version": None, "cache_epoch": None}
    parts.update(components)
    payload = [
        "consist-signature-v1",
        ["code", parts["code_digest"]],
        ["config", parts["config_digest"]],
        ["inputs", parts["input_digest"]],
        ["model", parts["model"]],
        ["year", parts["year"]],
        ["iteration", parts["iteration"]],
        ["cache_version", parts["cache_version"]],
        ["cache_epoch", parts["cache_epoch"]],
    ]
    data = json.dumps(payload, separators=(",", ":")).encode()
    assert blake3.blake3(data).hexdigest() == expected


CHANGES = [
    pytest.param("code_digest", "d" * 64, id="code"),
    pytest.param("config_digest", "e" * 64, id="config"),
    pytest.param("input_digest", "1" * 64, id="inputs"),
    pytest.param("model", "clean_v2", id="model"),
    pytest.param("year", 2031, id="year"),
    pytest.param("year", None, id="year-unset"),
    pytest.param("iteration", 4, id="iteration"),
    pytest.param("iteration", None, id="iteration-unset"),
    pytest.param("cache_version", 3, id="cache_version"),
    pytest.param("cache_version", None, id="cache_version-unset"),
    pytest.param("cache_epoch", 8, id="cache_epoch"),
    pytest.param("cache_epoch", None, id="cache_epoch-unset"),
]


@pytest.mark.parametrize("field, value", CHANGES)
def test_each_component_changes_the_signature(field: str, value: object) -> None:
    assert FULL[field] != value
    changed = {**FULL, field: value}
    assert compute_signature(**changed) != compute_signature(**FULL)


@pytest.mark.parametrize("field", ["year", "iteration", "cache_version", "cache_epoch"])
def test_zero_is_not_unset(field: str) -> None:
    assert compute_signature(**{**MINIMAL, field: 0}) != compute_signature(**MINIMAL)


def test_components_do_not_alias_each_other() -> None:
    base = compute_signature(**MINIMAL)
    swapped = {**MINIMAL, "code_digest": "f" * 64, "config_digest": "c" * 64}
    assert compute_signature(**swapped) != base
    assert compute_signature(**{**MINIMAL, "year": 3}) != compute_signature(
        **{**MINIMAL, "iteration": 3}
    )
    assert compute_signature(**{**MINIMAL, "cache_version": 1}) != compute_signature(
        **{**MINIMAL, "cache_epoch": 1}
    )


def test_signature_is_64_hex_chars_and_deterministic() -> None:
    first = compute_signature(**FULL)
    assert first == compute_signature(**dict(reversed(list(FULL.items()))))
    assert len(first) == 64
    int(first, 16)


# --- snapshot shape -----------------------------------------------------------------------

GOLDEN_SNAPSHOT_KEYS = ["schema_version", "run", "config", "inputs", "outputs", "identity"]
GOLDEN_RUN_FIELDS = [
    "id",
    "name",
    "model_name",
    "description",
    "status",
    "parent_run_id",
    "year",
    "iteration",
    "stage",
    "phase",
    "tags",
    "signature",
    "config_hash",
    "input_hash",
    "git_hash",
    "code_identity_mode",
    "cache_hit",
    "reused_run_id",
    "error",
    "artifact_dir",
    "created_at",
    "started_at",
    "ended_at",
    "duration_seconds",
    "meta",
    "cache_decision",
    "owner",
]
GOLDEN_ARTIFACT_FIELDS = [
    "id",
    "key",
    "uri",
    "driver",
    "hash",
    "size",
    "run_id",
    "producer_signature",
    "created_at",
    "meta",
]
GOLDEN_IDENTITY_KEYS = [
    "signature",
    "version",
    "code",
    "code_mode",
    "config",
    "inputs",
    "model",
    "year",
    "iteration",
    "cache_version",
    "cache_epoch",
    "input_parts",
]


def test_model_field_lists_are_pinned() -> None:
    assert list(RUN_FIELDS) == GOLDEN_RUN_FIELDS
    assert list(ARTIFACT_FIELDS) == GOLDEN_ARTIFACT_FIELDS
    assert SNAPSHOT_SCHEMA_VERSION == 1


def test_identity_keys_are_pinned() -> None:
    identity = RunIdentity(
        compute_signature(**FULL),
        code_digest=FULL["code_digest"],
        config_digest=FULL["config_digest"],
        input_digest=FULL["input_digest"],
        code_mode="callable_module",
        model=FULL["model"],
    )
    assert list(identity.to_dict()) == GOLDEN_IDENTITY_KEYS
    assert identity.to_dict()["version"] == "consist-signature-v1"
    assert replace(identity, year=1).to_dict()["year"] == 1


def _step(raw: Path) -> Path:
    out = consist.output_path("result", ext="txt")
    out.write_text(raw.read_text().upper())
    return out


def test_snapshot_json_shape_is_pinned(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text("abc")
    tracker = Tracker(run_dir=tmp_path / "runs", db_path=None, code_identity="callable_module")
    try:
        result = tracker.run(fn=_step, config={"k": 1}, inputs={"raw": raw}, outputs=["result"])
    finally:
        tracker.close()
    path = tmp_path / "runs" / "consist_runs" / f"{result.run.id}.json"
    payload = json.loads(path.read_text())
    assert list(payload) == GOLDEN_SNAPSHOT_KEYS
    assert payload["schema_version"] == 1
    assert list(payload["run"]) == GOLDEN_RUN_FIELDS
    assert [list(a) for a in payload["inputs"]] == [GOLDEN_ARTIFACT_FIELDS]
    assert [list(a) for a in payload["outputs"]] == [GOLDEN_ARTIFACT_FIELDS]
    assert list(payload["identity"]) == GOLDEN_IDENTITY_KEYS
    assert payload["identity"]["signature"] == payload["run"]["signature"]
    assert payload["config"] == {"k": 1}
    # Per-input sources (additive; not hashed again): role:name -> file:<content digest>.
    raw_digest = payload["inputs"][0]["hash"]
    assert payload["identity"]["input_parts"] == {"input:raw": f"file:{raw_digest}"}
    assert payload["run"]["cache_decision"]["outcome"] == "miss"
    # Portable paths: nothing under run_dir is stored absolute.
    assert payload["outputs"][0]["uri"].startswith("./outputs/")
    assert payload["run"]["artifact_dir"].startswith("./outputs/")


# --- DuckDB DDL -----------------------------------------------------------------------------

GOLDEN_TABLES = {
    "consist_schema": [("version", "INTEGER")],
    "runs": [
        ("id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("model_name", "VARCHAR"),
        ("description", "VARCHAR"),
        ("status", "VARCHAR"),
        ("parent_run_id", "VARCHAR"),
        ("year", "INTEGER"),
        ("iteration", "INTEGER"),
        ("stage", "VARCHAR"),
        ("phase", "VARCHAR"),
        ("tags", "VARCHAR[]"),
        ("signature", "VARCHAR"),
        ("config_hash", "VARCHAR"),
        ("input_hash", "VARCHAR"),
        ("git_hash", "VARCHAR"),
        ("code_identity_mode", "VARCHAR"),
        ("cache_hit", "BOOLEAN"),
        ("reused_run_id", "VARCHAR"),
        ("error", "VARCHAR"),
        ("artifact_dir", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("started_at", "TIMESTAMP"),
        ("ended_at", "TIMESTAMP"),
        ("duration_seconds", "DOUBLE"),
        ("meta", "JSON"),
        ("cache_decision", "JSON"),  # schema version 2
        ("owner", "JSON"),  # schema version 3
        ("config", "JSON"),
    ],
    "artifacts": [
        ("id", "VARCHAR"),
        ("key", "VARCHAR"),
        ("uri", "VARCHAR"),
        ("driver", "VARCHAR"),
        ("hash", "VARCHAR"),
        ("size", "BIGINT"),
        ("run_id", "VARCHAR"),
        ("producer_signature", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("meta", "JSON"),
    ],
    "run_artifacts": [
        ("run_id", "VARCHAR"),
        ("artifact_id", "VARCHAR"),
        ("direction", "VARCHAR"),
        ("key", "VARCHAR"),
    ],
    "consist_journal": [("file", "VARCHAR"), ("consumed", "BIGINT")],
    "consist_generation": [("generation", "VARCHAR"), ("recorded_at", "TIMESTAMP")],  # v4
    # v5: config facets; run_config_kv lives in the global_tables schema.
    "config_facets": [
        ("id", "VARCHAR"),
        ("namespace", "VARCHAR"),
        ("schema_name", "VARCHAR"),
        ("schema_version", "JSON"),
        ("facet_index", "BOOLEAN"),
        ("payload", "JSON"),
    ],
    "artifact_kv": [
        ("artifact_id", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("facet_id", "VARCHAR"),
        ("namespace", "VARCHAR"),
        ("key", "VARCHAR"),
        ("value_type", "VARCHAR"),
        ("value_str", "VARCHAR"),
        ("value_num", "DOUBLE"),
        ("value_bool", "BOOLEAN"),
        ("value_json", "JSON"),
    ],
    "run_config_kv": [
        ("run_id", "VARCHAR"),
        ("facet_id", "VARCHAR"),
        ("namespace", "VARCHAR"),
        ("key", "VARCHAR"),
        ("value_type", "VARCHAR"),
        ("value_str", "VARCHAR"),
        ("value_num", "DOUBLE"),
        ("value_bool", "BOOLEAN"),
        ("value_json", "JSON"),
    ],
    "producer_edges": [
        ("run_id", "VARCHAR"),
        ("producer_run_id", "VARCHAR"),  # v6
        ("run_key", "BIGINT"),
        ("producer_key", "BIGINT"),  # v7
    ],
}


def test_schema_version_is_pinned() -> None:
    # Bumped only together with a step in store/duckdb/migrate.py (store/sql_tables.py).
    assert sql_tables.SCHEMA_VERSION == 7


def test_ddl_column_dicts_are_pinned() -> None:
    assert list(sql_tables.RUN_COLUMNS.items()) == GOLDEN_TABLES["runs"]
    assert list(sql_tables.ARTIFACT_COLUMNS.items()) == GOLDEN_TABLES["artifacts"]
    assert list(sql_tables.LINK_COLUMNS.items()) == GOLDEN_TABLES["run_artifacts"]
    # Every persisted model field has a column (runs add the config JSON).
    assert list(sql_tables.RUN_COLUMNS) == [*GOLDEN_RUN_FIELDS, "config"]
    assert list(sql_tables.ARTIFACT_COLUMNS) == GOLDEN_ARTIFACT_FIELDS


def test_created_database_has_the_pinned_tables(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "runs")
    layout.ensure()
    db_path = tmp_path / "store.duckdb"
    store = DuckDBStore(str(db_path), layout=layout, lock_timeout=10)
    store.record_runs([])  # a write session: creates the file and applies the DDL
    assert store.count_runs() == 0

    conn = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
        version = conn.execute("SELECT version FROM consist_schema").fetchall()
        keys = conn.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE constraint_type = 'PRIMARY KEY' ORDER BY table_name"
        ).fetchall()
    finally:
        conn.close()
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        found.setdefault(table, []).append((column, kind))
    assert found == GOLDEN_TABLES
    assert version == [(7,)]
    assert dict(keys) == {
        "artifact_kv": ["artifact_id", "namespace", "key"],
        "artifacts": ["id"],
        "config_facets": ["id"],
        "consist_generation": ["generation"],
        "consist_journal": ["file"],
        "producer_edges": ["run_id", "producer_run_id"],
        "run_artifacts": ["run_id", "artifact_id", "direction"],
        "run_config_kv": ["run_id", "namespace", "key"],
        "runs": ["id"],
    }
