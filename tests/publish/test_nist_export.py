"""The CDF export validates against NIST's schema and reads back through voteaudit's own NIST reader."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from voteaudit.ingest import ingest_file
from voteaudit.publish.nist_export import write_cdf
from voteaudit.store import open_store

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "nist" / "NIST_V2_election_results_reporting.json"
SCHEMA_SHA256 = "55c1c6382bf5ba369ae05d58c3f4bab6b487a2e8c01720ee87209b9a85e5d3db"


def test_schema_copy_is_unmodified():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


@pytest.mark.parametrize("gz", [False])
def test_cdf_validates_and_round_trips(evil_db, tmp_path, gz):
    from tests.publish.conftest import CANDS, EVIL_SOURCE

    with open_store(evil_db, read_only=True) as store:
        m = store.matrix(EVIL_SOURCE)
        labels = store.labels([*m.unit_ids.tolist(), *{a for p in m.path[:-1] for a in p.tolist()}])
    path = tmp_path / "cdf.json"
    write_cdf(m, labels, path, title="Test <election>", election_date="2024-07-28")
    doc = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, errors[0]
    with open_store(tmp_path / "back.duckdb") as store:
        ingest_file(store, path, None, source="back", kind="official")
        back = store.matrix("back")
    assert back.n_units == m.n_units
    assert sorted(back.candidates) == sorted(CANDS)
    assert {c: int(back.votes[:, back.candidates.index(c)].sum()) for c in CANDS} == \
        {c: int(m.votes[:, m.candidates.index(c)].sum()) for c in CANDS}
    assert int(back.registered.sum()) == int(m.registered.sum())
    ext = {gp["ExternalIdentifier"][0]["Value"] for gp in doc["GpUnit"] if "ExternalIdentifier" in gp}
    assert set(m.unit_ids.tolist()) <= ext
