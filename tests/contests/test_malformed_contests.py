"""Malformed input for the contest flags: a clear error naming file, row and field; the store unchanged."""

from __future__ import annotations

import pytest

from tests.spine.conftest import store_fingerprint, write

LONG = ("county,precinct,office,candidate,votes,status\n"
        "A,1,,Registered Voters,100,\n"
        "A,1,Mayor,Ann,30,\n"
        "A,1,Mayor,Bob,20,\n"
        "A,1,Council,Cy,25,\n"
        "A,1,Council,Di,24,\n"
        "A,2,,Registered Voters,80,\n"
        "A,2,Mayor,Ann,10,\n"
        "A,2,Mayor,Bob,40,\n"
        "A,2,Council,Cy,22,\n"
        "A,2,Council,Di,21,\n")
BASE = ["--source", "s", "--kind", "official", "--unit", "county", "--unit", "precinct", "--long", "candidate",
        "votes"]
GOOD = [*BASE, "--contest-column", "office", "--registered-row", "Registered Voters"]
WIDE = "precinct,reg,a,b,a2\n1,100,10,20,5\n2,90,x1,7,1\n"
WIDE_BASE = ["--source", "w", "--kind", "official", "--unit", "precinct", "--candidate", "a", "--candidate", "b"]

CLASH = ("county,precinct,office,district,candidate,votes\n"
         "A,1,Mayor,,Ann,10\nA,1,Mayor,,Bob,5\nA,2,,Mayor,Ann,7\nA,2,,Mayor,Bob,3\n")

CASES = [
    ("two column combinations, one contest name", CLASH,
     [*BASE, "--contest-column", "office", "--contest-column", "district"],
     ["contest 'Mayor' comes from different values", "would be merged"], 2, "office, district"),
    # (id, file text, flags, expected substrings of the message, row, field)
    ("unknown contest", LONG, [*GOOD, "--contest", "Sheriff"], ["no contest 'Sheriff' in the file", "'Council'"],
     None, "--contest"),
    ("where on a missing column", LONG, [*GOOD, "--where", "offce=Mayor"], ["no such column", "did you mean 'office'"],
     1, "offce"),
    ("where matching nothing", LONG, [*GOOD, "--where", "office=Sheriff"], ["--where office=Sheriff", "'Mayor'"],
     None, "office"),
    ("where without =", LONG, [*GOOD, "--where", "office"], ["expected COLUMN=VALUE"], None, "--where"),
    ("where conditions exclusive", LONG, [*GOOD, "--where", "office=Mayor", "--where", "office=Council"],
     ["no row meets every --where condition"], None, "office, office"),
    ("not-candidate matching nothing", LONG, [*GOOD, "--not-candidate", "Over Votes"],
     ["--not-candidate 'Over Votes' matches no row"], None, "candidate"),
    ("conflicting registered-row values", LONG.replace("A,2,,Registered Voters,80,\n",
                                                       "A,2,,Registered Voters,80,\nA,2,,Registered Voters,81,\n"),
     GOOD, ["table a.2 is given different values", "rows 7, 8"], 8, "votes"),
    ("registered-row matching nothing", "".join(x + "\n" for x in LONG.splitlines() if "Registered" not in x),
     [*BASE, "--contest-column", "office", "--registered-row", "Electors"],
     ["--registered-row 'Electors' matches no row"], None, "candidate"),
    ("registered-row not a count", LONG.replace("A,2,,Registered Voters,80,", "A,2,,Registered Voters,8O,"),
     GOOD, ["not a whole number '8O'"], 7, "votes"),
    ("registered-row with a registered column", LONG, [*GOOD, "--registered", "status"],
     ["give --registered-row or a --registered column, not both"], None, "--registered-row"),
    ("registered-row on a wide file", WIDE, [*WIDE_BASE, "--registered-row", "x"], ["is for long files"], None,
     "--registered-row"),
    ("contest-column missing", LONG, [*BASE, "--contest-column", "race"], ["--contest-column: no such column"], 1,
     "race"),
    ("mode-column missing", LONG, [*GOOD, "--mode-column", "mode"], ["--mode-column: no such column"], 1, "mode"),
    ("mode-column on a wide file", WIDE, [*WIDE_BASE, "--mode-column", "reg"], ["--mode-column is for long files"],
     None, "--mode-column"),
    ("missing-if on a missing column", LONG, [*GOOD, "--missing-if", "state=NR"], ["--missing-if: no such column"],
     1, "state"),
    ("missing table that also reports", LONG.replace("A,2,Council,Di,21,", "A,2,Council,Di,21,NOT_RECEIVED"),
     [*GOOD, "--missing-if", "status=NOT_RECEIVED"], ["table a.2 is marked as not reporting here but has results"],
     11, "status"),
    ("empty contest value", LONG.replace("A,2,Mayor,Ann,10,", "A,2,,Ann,10,"), GOOD,
     ["empty contest: every --contest-column is empty"], 8, "office"),
    ("repeat within one mode", "county,precinct,candidate,mode,votes\nA,1,Ann,DAY,3\nA,1,Ann,DAY,4\nA,1,Bob,MAIL,1\n",
     [*BASE, "--mode-column", "mode"], ["rows 2 and 3 both give table a.1 the selection 'Ann'",
                                        "no other column differs"], 3, "candidate"),
    ("a column mapped twice", WIDE.replace("x1", "3"), [*WIDE_BASE, "--registered", "reg",
                                                                "--registered", "a2", "--cast", "b"],
     ["column mapped twice"], None, "b"),
    ("summed column not a count", "precinct,r1,r2,a\n1,10,5,3\n2,10,five,4\n",
     ["--source", "w", "--kind", "official", "--unit", "precinct", "--candidate", "a", "--registered", "r1",
      "--registered", "r2"], ["not a whole number 'five'"], 3, "r2"),
    ("every table missing in a contest", LONG.replace(",Mayor,Ann,30,", ",Mayor,Ann,,").replace(
        ",Mayor,Bob,20,", ",Mayor,Bob,,").replace(",Mayor,Ann,10,", ",Mayor,Ann,,").replace(",Mayor,Bob,40,",
                                                                                          ",Mayor,Bob,,"),
     [*GOOD, "--empty-as-missing"], ["contest 'Mayor': every table is marked as not reporting"], None,
     "--empty-as-missing"),
]


@pytest.mark.parametrize(("text", "flags", "expected", "row", "field"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_malformed_contest_input(cli, db, tmp_path, text, flags, expected, row, field):
    assert cli("ingest", write(tmp_path / "good.csv", LONG), *GOOD).exit_code == 0
    before = store_fingerprint(db)
    path = write(tmp_path / "bad.csv", text)
    result = cli("ingest", path, *flags)
    assert result.exit_code != 0
    message = result.stderr
    assert message.startswith("error: ") and message.count("\n") == 1, message
    assert "bad.csv" in message, message
    for part in expected:
        assert part in message, message
    if row is not None:
        assert f"row {row}," in message or f"row {row}:" in message, message
    assert f"field {field!r}" in message, message
    assert store_fingerprint(db) == before


def test_analysis_without_contest_on_a_multi_contest_store(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "good.csv", LONG), *GOOD).exit_code == 0
    result = cli("estimate", "--source", "s")
    assert result.exit_code != 0 and "several contests ('Council', 'Mayor'): name one with --contest" in result.stderr
    assert cli("estimate", "--source", "s", "--contest", "Mayor", json_out=True).exit_code == 0
    result = cli("compare", "--contest", "Sheriff")
    assert result.exit_code != 0 and "no contest named 'Sheriff'" in result.stderr


def test_toml_contest_section_unknown_key(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "good.csv", LONG), *GOOD).exit_code == 0
    before = store_fingerprint(db)
    mapping = write(tmp_path / "m.toml", '[units]\ncolumns = ["county", "precinct"]\n[long]\ncandidate = "candidate"\n'
                                         'votes = "votes"\n[contests]\ncolumn = "office"\n')
    result = cli("ingest", write(tmp_path / "x.csv", LONG), "--source", "s", "--kind", "official", "--mapping", mapping)
    assert result.exit_code != 0 and "field 'contests.column'" in result.stderr and "unknown key" in result.stderr
    assert store_fingerprint(db) == before


def test_toml_lists_add_up_and_contest_section(cli, db, tmp_path):
    text = "precinct,office,r1,r2,a,b\n1,Mayor,10,5,3,4\n2,Mayor,20,1,7,8\n1,Clerk,10,5,1,2\n"
    mapping = write(tmp_path / "m.toml", '[units]\ncolumns = ["precinct"]\n[columns]\nregistered = ["r1", "r2"]\n'
                                         '[candidates]\na = ""\nb = ""\n[contests]\ncolumns = ["office"]\n'
                                         'where_not = { office = "Clerk" }\n')
    result = cli("ingest", write(tmp_path / "x.csv", text), "--source", "s", "--kind", "official",
                 "--mapping", mapping, json_out=True)
    assert result.exit_code == 0, result.stderr
    assert result.doc["contest"] == "Mayor"
    src = cli("compare", json_out=True).doc["sources"][0]
    assert src["registered"] == 36 and src["totals"] == {"a": 10, "b": 12}


def test_tables_that_did_not_report_count_as_missing(cli, db, tmp_path):
    text = ("precinct,status,registered,a,b\n1,,100,30,20\n2,NOT_RECEIVED,90,,\n3,,80,10,10\n4,,70,,\n")
    flags = ["--source", "s", "--kind", "official", "--unit", "precinct", "--registered", "registered",
             "--candidate", "a", "--candidate", "b", "--missing-if", "status=NOT_RECEIVED", "--empty-as-missing"]
    result = cli("ingest", write(tmp_path / "x.csv", text), *flags, json_out=True)
    assert result.exit_code == 0, result.stderr
    assert result.doc["records_added"] == 2
    doc = cli("compare", json_out=True).doc
    src = doc["sources"][0]
    assert doc["election"]["units_unreported"] == 2 and doc["election"]["units_seen"] == 4
    assert src["units"] == 2 and src["coverage"] == 0.5       # never zero-turnout tables
    assert src["totals"] == {"a": 40, "b": 30}
    from voteaudit.store import open_store

    with open_store(db, read_only=True) as store:
        assert [(u["unit"], u["row"], u["reason"]) for u in store.unreported("s")] == [
            ("2", 3, "status=NOT_RECEIVED"), ("4", 5, "empty counts")]
        assert store.labels(["2", "4"]) == {"2": "2", "4": "4"}
