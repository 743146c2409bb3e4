"""Malformed input: rejected whole, with file/row/field named, non-zero exit, store unchanged.

Each case first loads a valid file, then feeds the malformed one and checks the store's content
digest is identical afterwards.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.spine.conftest import WIDE, WIDE_FLAGS, store_fingerprint, write

GOOD = WIDE + "R1,D1,1,500,300,5,200,100\nR1,D1,2,400,250,3,50,200\n"


def xlsx_bytes(tmp: Path, rows: list[list[object]], sheet: str = "Sheet") -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    path = tmp / "bad.xlsx"
    wb.save(path)
    return path


# (id, file name, content, extra CLI args replacing the defaults or None, expected message part, row, field)
CASES = [
    ("empty-file", "bad.csv", "", None, "empty file", None, None),
    ("header-only", "bad.csv", WIDE, None, "header only", None, None),
    ("unknown-unit-column", "bad.csv", GOOD.replace("district", "distrikt"), None, "no such column", "row 1",
     "district"),
    ("unknown-candidate-column", "bad.csv", GOOD.replace("Bob", "Robert"), None, "no such column", "row 1", "Bob"),
    ("unknown-registered-column", "bad.csv", GOOD.replace("registered", "reg"), None, "no such column", "row 1",
     "registered"),
    ("not-a-number", "bad.csv", GOOD + "R1,D1,3,400,250,3,abc,200\n", None, "not a whole number", "row 4", "Alice"),
    ("negative", "bad.csv", GOOD + "R1,D1,3,400,250,3,-5,200\n", None, "negative count", "row 4", "Alice"),
    ("fractional", "bad.csv", GOOD + "R1,D1,3,400,250,3,12.5,200\n", None, "fractional count", "row 4", "Alice"),
    ("decimal-comma", "bad.csv", GOOD + 'R1,D1,3,400,250,3,"12,5",200\n', None, "fractional count", "row 4",
     "Alice"),
    ("thousands-separator", "bad.csv", GOOD + 'R1,D1,3,400,250,3,"1,234",200\n', None, "thousands separators",
     "row 4", "Alice"),
    ("empty-vote-count", "bad.csv", GOOD + "R1,D1,3,400,250,3,,200\n", None, "empty count", "row 4", "Alice"),
    ("registered-not-number", "bad.csv", GOOD + "R1,D1,3,n/a,250,3,50,200\n", None, "not a whole number", "row 4",
     "registered"),
    ("too-large", "bad.csv", GOOD + "R1,D1,3,400,250,3,99999999999999999999,200\n", None, "too large", "row 4",
     "Alice"),
    ("empty-unit-key", "bad.csv", GOOD + "R1,,3,400,250,3,50,200\n", None, "empty unit key", "row 4", "district"),
    ("blank-unit-key", "bad.csv", GOOD + "R1,D1,   ,400,250,3,50,200\n", None, "empty unit key", "row 4", "table"),
    ("ragged-short", "bad.csv", GOOD + "R1,D1,3,400,250\n", None, "ragged row", "row 4", None),
    ("ragged-long", "bad.csv", GOOD + "R1,D1,3,400,250,3,1,2,9\n", None, "ragged row", "row 4", None),
    ("unterminated-quote", "bad.csv", GOOD + 'R1,D1,"3,400,250,3,1,2\n', None, "never closed", None, None),
    ("nul-bytes", "bad.csv", GOOD.encode() + b"R1,D1,3,4\x00\x00,1,1,1,1\n", None, "NUL byte", "row 4", None),
    ("bad-utf8-declared", "bad.csv", GOOD.encode() + b"R\xff1,D1,3,400,250,3,1,2\n",
     WIDE_FLAGS + ["--encoding", "utf-8"], "not UTF-8", "row 4", None),
    ("duplicate-header", "bad.csv", GOOD.replace("null,Alice", "Alice,Alice"), None, "appears twice", "row 1",
     "Alice"),
    ("empty-header-name", "bad.csv", GOOD.replace(",null,", ",,"), None, "empty name", "row 1", None),
    ("jsonl-invalid-line", "bad.jsonl",
     '{"region":"R1","district":"D1","table":"1","registered":5,"valid":3,"null":0,"Alice":1,"Bob":2}\n{oops\n',
     None, "not valid JSON", "row 2", None),
    ("jsonl-not-object", "bad.jsonl",
     '{"region":"R1","district":"D1","table":"1","registered":5,"valid":3,"null":0,"Alice":1,"Bob":2}\n[1,2]\n',
     None, "must be a JSON object", "row 2", None),
    ("jsonl-nested", "bad.jsonl",
     '{"region":"R1","district":"D1","table":"1","registered":5,"valid":3,"null":0,"Alice":{"v":1},"Bob":2}\n',
     None, "nested values", "row 1", "Alice"),
    ("jsonl-fractional", "bad.jsonl",
     '{"region":"R1","district":"D1","table":"1","registered":5,"valid":3,"null":0,"Alice":1.5,"Bob":2}\n',
     None, "fractional count", "row 1", "Alice"),
    ("xlsx-not-a-workbook", "bad.xlsx", b"PK\x03\x04 this is not a zip", None, "not a readable XLSX", None, None),
    ("parquet-corrupt", "bad.parquet", b"PAR1 garbage", None, "not a readable Parquet", None, None),
    ("unknown-extension", "bad.dat", GOOD, None, "cannot tell the format", None, None),
    ("no-candidates", "bad.csv", GOOD,
     ["--source", "s1", "--kind", "official", "--unit", "region", "--unit", "district", "--unit", "table"],
     "no vote columns", None, None),
    ("candidate-and-long", "bad.csv", GOOD, WIDE_FLAGS + ["--long", "Alice", "Bob"], "either", None, None),
    ("column-mapped-twice", "bad.csv", GOOD, WIDE_FLAGS + ["--valid", "Alice"], "mapped twice", None, "Alice"),
    ("wrong-number-of-levels", "bad.csv", GOOD,
     ["--source", "s2", "--kind", "official", "--unit", "region", "--unit", "table", "--candidate", "Alice"],
     "identifies tables by 3 levels", None, "units"),
    ("kind-mismatch", "other.csv", GOOD.replace("R1,D1,1", "R9,D9,1"),
     [a if a != "official" else "observer" for a in WIDE_FLAGS], "already stored with kind", None, None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_rejected_and_store_unchanged(case, cli, db, tmp_path):
    _, name, content, args, message, row, field = case
    assert cli("ingest", write(tmp_path / "good.csv", GOOD), *WIDE_FLAGS).exit_code == 0
    before = store_fingerprint(db)
    path = write(tmp_path / name, content)
    result = cli("ingest", path, *(args or WIDE_FLAGS))
    assert result.exit_code != 0
    assert result.stdout == ""
    text = " ".join(result.stderr.split())
    assert message in text
    assert str(path) in text or name in text
    if row:
        assert row in text, text
    if field:
        assert repr(field) in text, text
    assert store_fingerprint(db) == before


def test_xlsx_missing_sheet_and_ragged(cli, db, tmp_path):
    cli("ingest", write(tmp_path / "good.csv", GOOD), *WIDE_FLAGS)
    before = store_fingerprint(db)
    header = WIDE.strip().split(",")
    path = xlsx_bytes(tmp_path, [header, ["R2", "D1", 1, 500, 300, 5, 200, 100]])
    result = cli("ingest", path, *WIDE_FLAGS, "--sheet", "Results")
    assert result.exit_code != 0 and "no sheet named 'Results'" in result.stderr
    path = xlsx_bytes(tmp_path, [header, ["R2", "D1", 1, 500, 300, 5, 200, 100, 77]])
    result = cli("ingest", path, *WIDE_FLAGS)
    assert result.exit_code != 0 and "row 2" in result.stderr and "ragged" in result.stderr
    assert store_fingerprint(db) == before


def test_mapping_file_errors(cli, db, tmp_path):
    data = write(tmp_path / "good.csv", GOOD)
    bad = write(tmp_path / "m.toml", "[units\ncolumns = 3")
    result = cli("ingest", data, "--source", "s", "--kind", "official", "--mapping", bad)
    assert result.exit_code != 0 and "not a valid TOML file" in result.stderr
    bad = write(tmp_path / "m2.toml", '[units]\ncolumns=["region"]\n[candidate]\nAlice=""\n')
    result = cli("ingest", data, "--source", "s", "--kind", "official", "--mapping", bad)
    assert result.exit_code != 0 and "unknown section [candidate]" in result.stderr
    assert store_fingerprint(db) == "absent" or "records" not in store_fingerprint(db)


def test_long_format_errors(cli, db, tmp_path):
    flags = ["--source", "l", "--kind", "official", "--unit", "precinct", "--registered", "registered",
             "--long", "candidate", "votes"]
    ok = write(tmp_path / "ok.csv", "precinct,registered,candidate,votes\nP1,100,A,10\nP1,100,B,20\n")
    assert cli("ingest", ok, *flags).exit_code == 0
    before = store_fingerprint(db)
    bad = write(tmp_path / "l1.csv", "precinct,registered,candidate,votes\nP2,100,A,10\nP2,100,,20\n")
    result = cli("ingest", bad, *flags)
    assert result.exit_code != 0 and "empty candidate name" in result.stderr and "row 3" in result.stderr
    bad = write(tmp_path / "l2.csv", "precinct,registered,candidate,votes\nP2,100,A,10\nP2,90,B,20\n")
    result = cli("ingest", bad, *flags)
    assert result.exit_code != 0 and "registered differs" in result.stderr and "row 3" in result.stderr
    assert store_fingerprint(db) == before


def test_gzip_csv_with_bad_row_names_row(cli, db, tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress((GOOD + "R1,D1,3,400,250,3,x,1\n").encode()))
    result = cli("ingest", path, *WIDE_FLAGS)
    assert result.exit_code != 0 and "row 4" in result.stderr
    assert store_fingerprint(db) == "absent" or cli("compare", json_out=True).doc["sources"] == []


def test_missing_file(cli, tmp_path):
    result = cli("ingest", tmp_path / "nope.csv", *WIDE_FLAGS)
    assert result.exit_code != 0 and "file not found" in result.stderr


BULLETIN_CASES = [
    ("invalid-json", '{"bulletins": [', "not valid JSON"),
    ("no-results", '{"bulletins": [{"name": "b1"}]}', "needs results"),
    ("negative-votes", '{"bulletins": [{"name": "b1", "results": [{"candidate": "A", "votes": -1}]}]}',
     "negative count"),
    ("fractional-votes", '{"bulletins": [{"name": "b1", "results": {"A": 1.5}}]}', "whole number"),
    ("duplicate-candidate", '{"bulletins": [{"name": "b1", "results": [{"candidate": "A", "votes": 1},'
     ' {"candidate": "A", "votes": 2}]}]}', "listed twice"),
    ("duplicate-name", '[{"name": "b", "results": {"A": 1}}, {"name": "b", "results": {"A": 2}}]',
     "two bulletins named"),
]


@pytest.mark.parametrize("case", BULLETIN_CASES, ids=[c[0] for c in BULLETIN_CASES])
def test_malformed_bulletins(case, cli, db, tmp_path):
    _, text, message = case
    assert cli("announce", write(tmp_path / "ok.json", '{"name": "first", "results": {"A": 5}}')).exit_code == 0
    before = store_fingerprint(db)
    result = cli("announce", write(tmp_path / "bad.json", text))
    assert result.exit_code != 0 and message in result.stderr and "bad.json" in result.stderr
    assert store_fingerprint(db) == before


def test_bulletin_changed_figures_rejected(cli, db, tmp_path):
    cli("announce", write(tmp_path / "a.json", '{"name": "b1", "results": {"A": 5}}'))
    before = store_fingerprint(db)
    result = cli("announce", write(tmp_path / "b.json", '{"name": "b1", "results": {"A": 6}}'))
    assert result.exit_code != 0 and "different figures" in result.stderr
    assert store_fingerprint(db) == before
