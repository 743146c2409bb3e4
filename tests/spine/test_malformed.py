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


# ---- issue 13: ingest defects an attacker found (each case failed on the old main) ----------------------

HEADER = WIDE.strip().split(",")
FORMATS = ("csv", "xlsx", "parquet", "jsonl")


def _rejected(cli, db, path, message, row=None, field=None, args=None):
    """Ingest ``path`` after a good file; assert a clean rejection naming file/row/field and no change."""
    before = store_fingerprint(db)
    result = cli("ingest", path, *(args or WIDE_FLAGS))
    text = " ".join(result.stderr.split())
    assert result.exit_code != 0 and result.stdout == "", text
    assert "Traceback" not in text and message in text, text
    assert path.name in text, text
    if row:
        assert f"row {row}" in text, text
    if field:
        assert repr(field) in text, text
    assert store_fingerprint(db) == before
    return text


@pytest.fixture
def loaded(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "good.csv", GOOD), *WIDE_FLAGS).exit_code == 0


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("fmt", FORMATS)
def test_comma_next_to_blank_vote_cell_is_rejected(fmt, strict, cli, db, tmp_path, loaded):
    # "1,234" then an empty vote cell: the old row check joined cells skipping NULLs, read two counts
    from tests.fuzz.formats import write_table

    path = write_table(tmp_path / "bad", fmt, HEADER, [["R1", "D1", "3", 400, 250, 3, "1,234", None]])
    row = 1 if fmt == "jsonl" else 2
    _rejected(cli, db, path, "ambiguous count '1,234'", row=row, field="Alice",
              args=WIDE_FLAGS + (["--strict"] if strict else []))
    assert cli("compare", json_out=True).exit_code == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_blank_vote_cell_is_rejected_in_every_format(fmt, cli, db, tmp_path, loaded):
    from tests.fuzz.formats import write_table

    path = write_table(tmp_path / "bad", fmt, HEADER, [["R1", "D1", "3", 400, 250, 3, 5, None]])
    _rejected(cli, db, path, "empty count", field="Bob")


# (around a count, between digit groups)
UNICODE_SPACES = [("\u00a0", "\u00a0"), ("\u2007", "\u2007"), ("\u202f", "\u202f"), ("\u3000", " "),
                  ("\t", "\u2009"), ("\u2028", "'"), (" \u205f", "\u2019")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unicode_spaces_around_and_inside_counts(fmt, cli, tmp_path):
    from tests.fuzz.formats import write_table

    rows = [["R1", "D1", str(i), f"{sp}500{sp}", f"{sp}300", f"5{sp}", f"{sp}2{g}000", f"1{g}234{sp}"]
            for i, (sp, g) in enumerate(UNICODE_SPACES)]
    path = write_table(tmp_path / "ok", fmt, HEADER, rows)
    result = cli("ingest", path, *WIDE_FLAGS)
    assert result.exit_code == 0, result.stderr
    doc = cli("compare", json_out=True).doc
    src = doc["sources"][0]
    assert src["totals"] == {"Alice": 2000 * len(rows), "Bob": 1234 * len(rows)}
    assert src["registered"] == 500 * len(rows) and src["null"] == 5 * len(rows)
    unit = cli("unit", "r1.d1.0", json_out=True)
    assert unit.exit_code == 0, unit.stderr


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("cell", "message"), [
    ("1.000", "ambiguous count '1.000'"), ("1,000", "ambiguous count '1,000'"),
    ("1.234.567", "ambiguous count"), ("1.5", "fractional count"), ("1,23", "fractional count"),
    ("1 23", "digit groups must be of three"), ("12 3456", "digit groups"),
    ("+5", "not a whole number"), ("1e3", "not a whole number"), ("@SUM(1)", "not a whole number"),
    ("-0", "negative count"),
])
def test_one_thousands_rule_in_every_format(fmt, cell, message, cli, db, tmp_path, loaded):
    from tests.fuzz.formats import write_table

    path = write_table(tmp_path / "bad", fmt, HEADER, [["R1", "D1", "3", 400, 250, 3, cell, 1]])
    _rejected(cli, db, path, message, field="Alice")


@pytest.mark.parametrize(("cell", "value"), [("1 000", 1000), ("1\u202f000\u202f000", 1_000_000), ("1'234", 1234),
                                             ("1000.0", 1000), ("7.00", 7), ("0012", 12), ("1234.000", 1234)])
def test_accepted_count_forms(cell, value, cli, tmp_path):
    from tests.fuzz.formats import write_table

    path = write_table(tmp_path / "ok", "csv", HEADER, [["R1", "D1", "3", "", "", "", cell, "0"]])
    assert cli("ingest", path, *WIDE_FLAGS).exit_code == 0
    assert cli("compare", json_out=True).doc["sources"][0]["totals"]["Alice"] == value


def test_stray_latin1_byte_in_utf8_file_is_an_error_not_cp1252(cli, db, tmp_path, loaded):
    head = WIDE.encode() + ("R1,Bogotá,3,400,250,3,1,2\n" * 3).encode() + b"R1,Bogot"
    path = write(tmp_path / "mixed.csv", head + b"\xe1,4,400,250,3,1,2\n")
    text = _rejected(cli, db, path, "UTF-8 except for invalid bytes", row=5)
    assert f"at byte {len(head)}" in text, text
    # declared, the same bytes are read as the user says
    fixed = write(tmp_path / "latin.csv", (WIDE + "R1,Bogotá,3,400,250,3,1,2\n").encode("cp1252"))
    assert cli("ingest", fixed, *WIDE_FLAGS).exit_code == 0  # pure cp1252 is still detected


def test_gzip_corrupt_truncated_and_bomb(cli, db, tmp_path, loaded, monkeypatch):
    from voteaudit.ingest import readers

    whole = gzip.compress((GOOD.replace("R1", "R7")).encode())
    _rejected(cli, db, write(tmp_path / "cut.csv.gz", whole[: len(whole) // 2]), "corrupt or truncated gzip")
    flipped = bytearray(whole)
    flipped[20] ^= 0xFF
    _rejected(cli, db, write(tmp_path / "flip.csv.gz", bytes(flipped)), "corrupt or truncated gzip")
    _rejected(cli, db, write(tmp_path / "cut.jsonl.gz", whole[:15]), "corrupt or truncated gzip")
    # a bomb: 64 MiB of a repeated row in 70 KB; the limit lowered so the test stays small (same code path)
    monkeypatch.setattr(readers, "MAX_DECOMPRESSED", 8 << 20)
    bomb = gzip.compress(GOOD.encode() + b"R1,D1,1,500,300,5,200,100\n" * ((64 << 20) // 26), 9)
    assert len(bomb) < 1 << 20
    _rejected(cli, db, write(tmp_path / "bomb.csv.gz", bomb), "expands beyond 8 MiB")


def test_deep_json_and_huge_integers(cli, db, tmp_path, loaded):
    deep = "[" * 100_000 + "]" * 100_000
    line = '{"region":"R1","district":"D1","table":"9","registered":5,"valid":3,"null":0,"Alice":1,"Bob":%s}\n'
    _rejected(cli, db, write(tmp_path / "deep.jsonl", line % deep), "nested too deeply", row=1)
    _rejected(cli, db, write(tmp_path / "big.jsonl", line % ("9" * 5000)), "too large", row=1, field="Bob")
    _rejected(cli, db, write(tmp_path / "big.csv", GOOD + "R1,D1,3,400,250,3,1," + "9" * 5000 + "\n"),
              "too large", row=4, field="Bob")
    _rejected(cli, db, write(tmp_path / "deep.json", '{"@type": ' + deep + "}"), "nested too deeply",
              args=["--source", "n", "--kind", "official"])
    _rejected(cli, db, write(tmp_path / "big.json", '{"@type": ' + "1" * 5000 + "}"), "integer of 5,000 digits",
              args=["--source", "n", "--kind", "official"])
    before = store_fingerprint(db)
    for name, text in (("deep", '{"name": "b", "results": ' + deep + "}"),
                       ("big", '{"name": "b", "results": {"A": ' + "7" * 5000 + "}}")):
        result = cli("announce", write(tmp_path / f"b-{name}.json", text))
        assert result.exit_code != 0 and "Traceback" not in result.stderr and f"b-{name}.json" in result.stderr
    assert store_fingerprint(db) == before


def test_many_vote_columns_and_a_long_header(cli, db, tmp_path):
    n = 1200
    cands = [f"candidate number {i} " + "x" * 60 for i in range(n)]  # header ~ 100 KB (> 64 KiB)
    header = ["region", "district", "table", "registered", *cands]
    flags = ["--source", "w", "--kind", "official", "--unit", "region", "--unit", "district", "--unit", "table",
             "--registered", "registered"] + [a for c in cands for a in ("--candidate", c)]
    rows = [["R1", "D1", str(t), 5 * n] + [(t + i) % 5 for i in range(n)] for t in range(3)]
    from tests.fuzz.formats import csv_bytes

    assert len(csv_bytes(header, [])) > 1 << 16
    path = write(tmp_path / "wide.csv", csv_bytes(header, rows))
    result = cli("ingest", path, *flags)
    assert result.exit_code == 0, result.stderr
    totals = cli("compare", json_out=True).doc["sources"][0]["totals"]
    assert totals == {c: sum((t + i) % 5 for t in range(3)) for i, c in enumerate(cands)}
    rows[1][-1] = "x"
    _rejected(cli, db, write(tmp_path / "wide2.csv", csv_bytes(header, rows)), "not a whole number", row=3,
              field=cands[-1], args=flags)


@pytest.mark.parametrize("fmt", FORMATS)
def test_counts_above_the_plausible_maximum(fmt, cli, db, tmp_path, loaded):
    # the attacker's 10,000 tables of 999,999,999,999,999 votes wrapped the national total negative
    from tests.fuzz.formats import write_table

    path = write_table(tmp_path / "big", fmt, HEADER, [["R1", "D1", "3", 400, 250, 3, 999_999_999_999_999, 1]])
    _rejected(cli, db, path, "above the plausible maximum of 1,000,000,000", field="Alice")
    path = write_table(tmp_path / "big2", fmt, HEADER, [["R1", "D1", "3", 1_000_000_001, 250, 3, 1, 1]])
    _rejected(cli, db, path, "too large", field="registered")


def test_counts_at_the_maximum_sum_exactly(cli, tmp_path):
    from tests.fuzz.formats import write_table

    rows = [["R1", f"D{t % 7}", str(t), 10**9, None, None, 10**9, 10**9 - t] for t in range(300)]
    assert cli("ingest", write_table(tmp_path / "max", "csv", HEADER, rows), *WIDE_FLAGS).exit_code == 0
    doc = cli("compare", "--level", "district", json_out=True).doc
    src = doc["sources"][0]
    assert src["totals"] == {"Alice": 300 * 10**9, "Bob": sum(10**9 - t for t in range(300))}
    assert src["registered"] == 300 * 10**9


def test_duplicate_parquet_column_and_json_key(cli, db, tmp_path, loaded):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = [pa.array(["R1"]), pa.array(["D1"]), pa.array(["3"]), pa.array([400]), pa.array([250]), pa.array([3]),
            pa.array([10]), pa.array([20]), pa.array([99])]
    path = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays(cols, names=HEADER + ["Alice"]), path)
    _rejected(cli, db, path, "appears twice", row=1, field="Alice")
    line = '{"region":"R1","district":"D1","table":"3","registered":5,"valid":3,"null":0,"Alice":1,"Bob":2,"Alice":9}'
    _rejected(cli, db, write(tmp_path / "dup.jsonl", line + "\n"), "key 'Alice' appears twice", row=1)


@pytest.mark.parametrize("fmt", ["xlsx", "jsonl", "parquet"])
def test_boolean_is_not_a_count(fmt, cli, db, tmp_path, loaded):
    from tests.fuzz.formats import write_table

    path = write_table(tmp_path / "bool", fmt, HEADER, [["R1", "D1", "3", 400, 250, 3, True, 1]])
    _rejected(cli, db, path, "boolean 'true'", field="Alice")


def test_announced_totals_bounded(cli, db, tmp_path):
    assert cli("announce", write(tmp_path / "ok.json", '{"name": "first", "results": {"A": 5}}')).exit_code == 0
    before = store_fingerprint(db)
    for name, text, message in (
            ("big.json", '{"name": "b", "results": {"A": 10000000000000000000000000}}', "too large"),
            ("big.csv", "bulletin,candidate,votes\nb,A," + "9" * 5000 + "\n", "at most 30 digits"),
            ("int64.csv", "bulletin,candidate,votes\nb,A,9" + "0" * 18 + "\n", "too large")):
        result = cli("announce", write(tmp_path / name, text))
        assert result.exit_code != 0 and message in result.stderr and name in result.stderr, result.stderr
    assert store_fingerprint(db) == before
