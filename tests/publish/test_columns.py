"""The column-wise record pipeline: JSON pieces equal the reference encoder; one source already in leaf
order; large-publication defaults (NIST export opt-in, report without analyses)."""

from __future__ import annotations

import csv
import hashlib
import json

import pyarrow as pa
import pytest

from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.publish import publish, site, verify
from voteaudit.publish.records import SourceHead, canonical_bytes, json_ints, json_strings
from voteaudit.store import open_store

HARD = ["plain", 'q"uote', "back\\slash", "tab\there", "nl\nx", "\x00\x01\x1f\x7f", "é ñ 中 😀", "\u2028\u2029",
        "</script>", "", None]


def test_json_pieces_equal_the_reference_encoder():
    got = json_strings(pa.array(HARD, pa.string())).to_pylist()
    assert got == [json.dumps(s, ensure_ascii=False, separators=(",", ":")) for s in HARD]
    assert json_ints(pa.array([0, -1, 12, None], pa.int64())).to_pylist() == ["0", "-1", "12", "null"]
    import numpy as np

    assert json_ints(np.array([5, -1, 0])).to_pylist() == ["5", "null", "0"]


@pytest.fixture(scope="module")
def one_source(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("one")
    path = tmp / "r.csv"
    rows = [("2", "10", "b\\x", 50, 40, [30, 10]), ("1", "9", "a", 60, 50, [20, 30]), ("1", "10", 'q"t', 70, 0, [0, 0]),
            ("10", "1", "z", 80, 5, [3, 2])]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["region", "table", "name", "registered", "valid", "A", "B"])
        for region, table, name, reg, valid, votes in rows:
            w.writerow([region, table, name, reg, valid, *votes])
    db = tmp / "one.duckdb"
    with open_store(db) as store:
        ingest_file(store, path, Mapping(units=["region", "table"], unit_names=["", "name"], registered="registered",
                                         valid="valid", candidates=["A", "B"]), source="only", kind="official")
    return db


def test_one_source_publishes_in_leaf_order(one_source, tmp_path):
    with open_store(one_source, read_only=True) as store:
        doc = publish(store, tmp_path / "site", report=False, shard_size=2)
    out = tmp_path / "site"
    assert verify(out).ok
    manifest = json.loads((out / "manifest.json").read_bytes())
    units = [r[1] for r in manifest["records"]]
    assert units == sorted(units, key=lambda u: u.encode("utf-8")) and len(units) == 4 == doc["records"]
    rows = [r for k in range(doc["shards"]) for r in json.loads((out / f"tables/{k:06d}.json").read_bytes())["records"]]
    head = [SourceHead("only", "official", ["A", "B"])]
    hashes = [hashlib.sha256(canonical_bytes(head, r)).hexdigest() for r in rows]
    assert hashes == [r[3] for r in manifest["records"]]
    with open(out / "bulk/records.csv", encoding="utf-8") as fh:
        bulk = list(csv.DictReader(fh))
    assert [b["record_sha256"] for b in bulk] == hashes and [b["unit"] for b in bulk] == units
    assert doc["nist_skipped"] == [] and any(p.name.endswith(".cdf.json") for p in (out / "bulk").iterdir())


def test_large_publications_skip_nist_and_analyses_unless_asked(one_source, tmp_path, monkeypatch):
    import voteaudit.report.build as build

    seen = {}

    def fake_report(store, out, **kw):
        seen.update(kw)
        (out / "report.html").write_text("<p>report</p>", encoding="utf-8")

    monkeypatch.setattr(build, "write_report", fake_report)
    monkeypatch.setattr(site, "NIST_AUTO_MAX", 3)
    monkeypatch.setattr(site, "ANALYSE_MAX", 3)
    with open_store(one_source, read_only=True) as store:
        doc = publish(store, tmp_path / "a")
        assert doc["nist_skipped"] == ["only"] and seen["analyse"] is False
        assert not list((tmp_path / "a/bulk").glob("*.cdf.json*"))
        doc = publish(store, tmp_path / "b", nist=True, report_options={"analyse": True})
        assert doc["nist_skipped"] == [] and seen["analyse"] is True
        assert list((tmp_path / "b/bulk").glob("*.cdf.json"))
    assert verify(tmp_path / "a").ok and verify(tmp_path / "b").ok


def test_cli_no_nist(one_source, tmp_path):
    from typer.testing import CliRunner

    from tests.publish.test_publish import cli_app

    r = CliRunner().invoke(cli_app(), ["publish", "--out", str(tmp_path / "s"), "--db", str(one_source),
                                       "--no-report", "--no-nist"])
    assert r.exit_code == 0, r.output
    assert "No NIST CDF export of only" in r.stdout
    assert not list((tmp_path / "s/bulk").glob("*.cdf.json*"))
