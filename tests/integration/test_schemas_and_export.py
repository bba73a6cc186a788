"""Registered SQLModel schemas, file profiling (if_changed), export of a SQLModel stub."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

import consist
from consist import Tracker
from consist.errors import ConfigError, InvalidOptionError

pytest.importorskip("dlt")
sqlmodel = pytest.importorskip("sqlmodel")


class Trip(sqlmodel.SQLModel):
    zone: int
    trips: float
    mode: str | None = None


def _tracker(tmp_path, **kwargs) -> Tracker:
    return Tracker(
        run_dir=tmp_path / "runs",
        db_path=tmp_path / "p.duckdb",
        code_identity="callable_module",
        **kwargs,
    )


def _parquet(tmp_path, name: str, frame: pd.DataFrame) -> str:
    path = tmp_path / name
    frame.to_parquet(path, index=False)
    return str(path)


def test_a_schema_is_found_by_name_in_a_later_session(tmp_path) -> None:
    frame = pd.DataFrame({"zone": [1, 2], "trips": [1.5, 2.5], "mode": ["car", None]})
    path = _parquet(tmp_path, "trips.parquet", frame)
    first = _tracker(tmp_path, schemas=[Trip])
    assert dict(first.registered_schemas) == {"Trip": Trip}
    with first.trace("make", config={"x": 1}):
        art = first.log_artifact(path, "trip", schema=Trip)
    assert art.meta["schema_name"] == "Trip"
    first.close()

    second = _tracker(tmp_path, schemas=[Trip])
    found = second.get_run_outputs(art.run_id)["trip"]
    assert second.get_registered_schema(found.meta["schema_name"]) is Trip
    second.ingest(found, data=frame)  # schema looked up by name: table "trip"
    second.close()
    conn = duckdb.connect(str(second.db_path), read_only=True)
    rows = conn.execute(
        "SELECT zone, trips, mode, consist_artifact_id FROM global_tables.trip ORDER BY zone"
    ).fetchall()
    conn.close()
    assert rows == [(1, 1.5, "car", art.id), (2, 2.5, None, art.id)]


def test_registered_schema_lookup_contract(tmp_path) -> None:
    tracker = _tracker(tmp_path, schemas=[Trip])
    assert tracker.get_registered_schema("trip") is None  # exact, case-sensitive
    assert tracker.get_registered_schema("Nope", default=Trip) is Trip
    with pytest.raises(TypeError):
        tracker.get_registered_schema(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tracker.get_registered_schema("")
    with pytest.raises(TypeError):
        tracker.registered_schemas["X"] = Trip  # type: ignore[index]
    with pytest.raises(ConfigError, match="schemas"):
        _tracker(tmp_path, schemas=[object()])


def test_profile_if_changed_reuses_the_profile_of_the_same_bytes(tmp_path, monkeypatch) -> None:
    frame = pd.DataFrame({"zone": [1, 2, 3], "trips": [1.0, None, 3.0]})
    path = _parquet(tmp_path, "t.parquet", frame)
    tracker = _tracker(tmp_path)
    with tracker.trace("a", config={"a": 1}):
        first = tracker.log_artifact(path, "t", profile_file_schema=True)
    import consist.views.profiling as profiling

    def refuse(*args, **kwargs):
        raise AssertionError("the file was profiled again")

    monkeypatch.setattr(profiling, "profile_file", refuse)
    with tracker.trace("b", config={"b": 1}):
        again = tracker.log_artifact(path, "t", profile_file_schema="if_changed")
    assert again.meta["schema_id"] == first.meta["schema_id"]
    with tracker.trace("c", config={"c": 1}), pytest.raises(InvalidOptionError):
        tracker.log_artifact(path, "t", profile_file_schema="sometimes")
    tracker.close()


def test_exported_stub_is_a_working_sqlmodel_class(tmp_path) -> None:
    frame = pd.DataFrame({"zone": [1, 2, 3], "trip count": [1.0, None, 3.0], "mode": list("abc")})
    path = _parquet(tmp_path, "legs.parquet", frame)
    tracker = _tracker(tmp_path)
    with tracker.trace("a", config={"a": 1}):
        art = tracker.log_artifact(path, "legs", profile_file_schema=True)
        tracker.ingest(art)
    out = tmp_path / "legs_model.py"
    source = tracker.export_schema_sqlmodel(artifact_id=art.id, out_path=out, class_name="Legs")
    assert out.read_text() == source
    assert "null_percentage" in source  # stats comments of the sample
    namespace: dict = {}
    exec(compile(source, str(out), "exec"), namespace)
    legs = namespace["Legs"]
    assert set(legs.model_fields) == {"zone", "trip_count", "mode"}
    assert legs.model_fields["trip_count"].alias == "trip count"
    ingested = tracker.export_schema_sqlmodel(
        artifact_id=art.id, prefer_source="duckdb", abstract=False, include_system_cols=True
    )
    namespace = {}
    exec(compile(ingested, "ingested", "exec"), namespace)
    table_class = next(
        v for k, v in namespace.items() if k not in ("SQLModel", "Field") and isinstance(v, type)
    )
    assert "consist_run_id" in table_class.model_fields
    assert table_class.__table__.name == "legs"
    by_id = tracker.export_schema_sqlmodel(schema_id=art.meta["schema_id"])
    assert "class Exported(SQLModel):" in by_id and "trip_count" in by_id
    with pytest.raises(KeyError):
        tracker.export_schema_sqlmodel(schema_id="0" * 32)
    with pytest.raises(KeyError):
        tracker.export_schema_sqlmodel(artifact_id="../../etc/passwd")
    with pytest.raises(ValueError):
        tracker.export_schema_sqlmodel()
    tracker.close()


def test_module_helpers_and_view_class(tmp_path) -> None:
    class Leg(sqlmodel.SQLModel):
        zone: int
        trips: float

    tracker = _tracker(tmp_path, schemas=[Leg])
    with tracker.trace("a", year=2030, config={"a": 1}):
        path = _parquet(tmp_path, "leg.parquet", pd.DataFrame({"zone": [1], "trips": [2.0]}))
        art = consist.log_artifact(path, "leg", schema=Leg)
        consist.ingest(art, data=[{"zone": 5, "trips": 7.0}])
        view_cls = consist.view(Leg)
    assert view_cls.__tablename__ == "v_leg"
    assert {"zone", "trips", "consist_year"} <= set(view_cls.model_fields)
    tracker.close()
    conn = duckdb.connect(str(tracker.db_path), read_only=True)
    rows = conn.execute("SELECT zone, trips, consist_year FROM v_leg").fetchall()
    conn.close()
    assert rows == [(5, 7.0, 2030)]  # hot rows; the ingested artifact's file is not re-read


def test_json_only_tracker_refuses_views(tmp_path) -> None:
    tracker = Tracker(run_dir=tmp_path / "runs", code_identity="callable_module")
    with pytest.raises(RuntimeError, match="db_path"):
        tracker.create_view("v", "trips")
