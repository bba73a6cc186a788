"""One contract for a damaged artifact URI, on every store: a stored ``uri`` that leads
outside its mount (``inputs://../x``) reads back as the record it is, with ``abs_path``
None (the path is withheld), through every read that returns artifacts; it never raises
(store/sql_rows.py, as persist/snapshot.py does for a snapshot).

The SQL stores resolve ``abs_path`` from the URI with their RunLayout: a URI inside the
mount, recorded beside the damaged one, shows that the mount is in use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_store_contract import KINDS, artifact, make_run, make_store

from consist.model.run import ConsistRecord
from consist.store.base import SharedSignatures
from consist.store.links import ArtifactQuery, LinkQuery

ESCAPING = "inputs://../outside.csv"
RESOLVING = {"duckdb", "postgres"}  # the stores that resolve abs_path from the uri


@pytest.fixture(params=KINDS)
def store(request, tmp_path: Path):
    made = make_store(request.param, tmp_path, request, mounts={"inputs": tmp_path / "data"})
    made.record_runs(
        [
            ConsistRecord(
                run=make_run("r1", 1),
                config={"n": 1},
                inputs=[
                    artifact("bad", "escaping", "r1", uri=ESCAPING),
                    artifact("good", "inside", "r1", uri="inputs://zones.csv"),
                ],
                outputs=[artifact("out", "result", "r1")],
            )
        ]
    )
    yield made
    made.close()


def _check(found, kind: str, tmp_path: Path) -> None:
    by_id = {a.id: a for a in found}
    assert by_id["bad"] == artifact("bad", "escaping", "r1", uri=ESCAPING)
    assert by_id["bad"].abs_path is None
    if "good" in by_id and kind in RESOLVING:
        assert by_id["good"].abs_path == str(tmp_path / "data" / "zones.csv")


def test_an_escaping_uri_reads_back_without_its_path(store, request, tmp_path: Path) -> None:
    kind = request.node.callspec.params["store"]
    inputs, _ = store.get_run_artifacts("r1")
    _check(inputs, kind, tmp_path)
    _check(store.find_artifacts_by_uri(ESCAPING), kind, tmp_path)
    _check(store.query_artifacts(ArtifactQuery(artifact_id="bad")), kind, tmp_path)
    _check(store.query_artifacts(ArtifactQuery(consumer="r1")), kind, tmp_path)
    links = store.query_links(LinkQuery(run_ids=("r1",), direction="input"))
    _check([link.artifact for link in links], kind, tmp_path)
    if hasattr(store, "get_record"):  # the SQL stores
        record = store.get_record("r1")
        _check(record.inputs, kind, tmp_path)
    if isinstance(store, SharedSignatures):
        _check(store.find_completed(make_run("r1", 1).signature).inputs, kind, tmp_path)
