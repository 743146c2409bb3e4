"""Ingest of every supported shape, key normalisation, implausible records, conflicts, idempotence."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.spine.conftest import WIDE, WIDE_FLAGS, store_fingerprint, write
from voteaudit.store import open_store

GOOD = WIDE + "R1,D1,1,500,300,5,200,100\nR1,D2,2,400,250,3,50,200\nR2,D1,1,300,120,0,60,60\n"
TOTALS = {"Alice": 310, "Bob": 360}


def totals(cli) -> dict:
    result = cli("compare", json_out=True)
    assert result.exit_code == 0, result.stderr
    return {s["name"]: s for s in result.doc["sources"]}


def test_wide_csv_totals_and_provenance(cli, db, tmp_path):
    path = write(tmp_path / "r.csv", GOOD)
    result = cli("ingest", path, *WIDE_FLAGS, json_out=True)
    assert result.exit_code == 0
    assert result.doc["records_added"] == 3 and result.doc["status"] == "imported"
    src = totals(cli)["s1"]
    assert src["totals"] == TOTALS and src["units"] == 3 and src["kind"] == "official"
    assert abs(src["shares"]["Alice"] - 310 / 670) < 1e-12
    with open_store(db) as store:
        recs = store.unit_records("r2.d1.1")
    assert recs[0]["provenance"]["row"] == 4 and recs[0]["provenance"]["file"] == str(path)
    assert len(recs[0]["provenance"]["sha256"]) == 64


def test_same_data_every_format_gives_same_totals(cli, tmp_path):
    rows = [line.split(",") for line in GOOD.strip().splitlines()]
    header, body = rows[0], rows[1:]
    # semicolon-separated Latin-1 with a Spanish header, TSV, UTF-8 with BOM, gzip
    latin = GOOD.replace(",", ";").replace("Alice", "Alicia Pérez").encode("latin-1")
    files = {
        "latin.csv": latin,
        "tab.tsv": GOOD.replace(",", "\t").encode(),
        "bom.csv": b"\xef\xbb\xbf" + GOOD.encode(),
        "crlf.csv": GOOD.replace("\n", "\r\n").encode(),
        "zipped.csv.gz": gzip.compress(GOOD.encode()),
    }
    for name, data in files.items():
        src = name.split(".")[0]
        flags = [a if a not in ("s1", "Alice") else {"s1": src, "Alice": "Alicia Pérez" if src == "latin"
                                                      else "Alice"}[a] for a in WIDE_FLAGS]
        result = cli("ingest", write(tmp_path / name, data), *flags)
        assert result.exit_code == 0, (name, result.stderr)
    import openpyxl

    wb = openpyxl.Workbook()
    for r in [header] + [[c if i < 3 else int(c) for i, c in enumerate(r)] for r in body]:
        wb.active.append(r)
    wb.save(tmp_path / "book.xlsx")
    assert cli("ingest", tmp_path / "book.xlsx", *[a if a != "s1" else "xlsx" for a in WIDE_FLAGS]).exit_code == 0
    table = pa.table({h: [r[i] if i < 3 else int(r[i]) for r in body] for i, h in enumerate(header)})
    pq.write_table(table, tmp_path / "t.parquet")
    assert cli("ingest", tmp_path / "t.parquet", *[a if a != "s1" else "pq" for a in WIDE_FLAGS]).exit_code == 0
    lines = [json.dumps({h: (r[i] if i < 3 else int(r[i])) for i, h in enumerate(header)}) for r in body]
    write(tmp_path / "t.jsonl", "\n".join(lines) + "\n")
    assert cli("ingest", tmp_path / "t.jsonl", *[a if a != "s1" else "jl" for a in WIDE_FLAGS]).exit_code == 0
    got = totals(cli)
    assert set(got) == {"latin", "tab", "bom", "crlf", "zipped", "xlsx", "pq", "jl"}
    for name, src in got.items():
        expected = {"Alicia Pérez" if name == "latin" else "Alice": 310, "Bob": 360}
        assert src["totals"] == expected, name
        assert src["units"] == 3
    pair = [p for p in cli("compare", json_out=True).doc["comparison"]["pairs"] if {p["a"], p["b"]} == {"tab", "pq"}]
    assert pair[0]["common_units"] == 3 and pair[0]["differ"] == 0


def test_headers_with_commas_quotes_cyrillic(cli, tmp_path):
    text = ('"Участок №",reg,"Smith, John","The ""Best"" Party",Иванов\n'
            "0001,100,10,20,30\n0002,200,1,2,3\n")
    path = write(tmp_path / "ru.csv", text)
    result = cli("ingest", path, "--source", "ru", "--kind", "observer", "--unit", "Участок №", "--registered", "reg",
                 "--candidate", "Smith, John", "--candidate", 'The "Best" Party', "--candidate", "Иванов")
    assert result.exit_code == 0, result.stderr
    src = totals(cli)["ru"]
    assert src["totals"] == {"Smith, John": 11, 'The "Best" Party': 22, "Иванов": 33}


def test_long_format_medsl_style_repeats_rejected(cli, tmp_path, db):
    # MEDSL-like: one row per precinct, candidate and mode. Without a mode column the repeat is ambiguous
    # (modes? several contests?): rejected, naming the column that tells the rows apart.
    text = ("county,precinct,candidate,party,mode,votes\n"
            "Adams,001,ALICE,DEM,ELECTION DAY,10\nAdams,001,ALICE,DEM,ABSENTEE,5\nAdams,001,BOB,REP,ELECTION DAY,7\n"
            "Adams,002,ALICE,DEM,ELECTION DAY,1\nAdams,002,BOB,REP,ELECTION DAY,2\n")
    path = write(tmp_path / "medsl.csv", text)
    good = write(tmp_path / "good.csv", "county,precinct,candidate,votes\nAdams,001,ALICE,1\n")
    assert cli("ingest", good, "--source", "medsl", "--kind", "official", "--unit", "county", "--unit", "precinct",
               "--long", "candidate", "votes").exit_code == 0
    before = store_fingerprint(db)
    result = cli("ingest", path, "--source", "medsl", "--kind", "official", "--unit", "county", "--unit", "precinct",
                 "--long", "candidate", "votes", json_out=True)
    assert result.exit_code != 0
    assert "row 3, field 'mode'" in result.stderr and "column 'mode' has 2 values" in result.stderr
    assert "--mode-column mode" in result.stderr
    assert store_fingerprint(db) == before


def test_party_cards_add_up_to_candidates(cli, tmp_path):
    text = "unit,PSUV,PCV,UNTC,MUD\n1,10,2,30,4\n2,1,1,1,1\n"
    mapping = write(tmp_path / "m.toml", '[units]\ncolumns = ["unit"]\n[candidates]\nPSUV = "Maduro"\n'
                    'PCV = "Maduro"\nUNTC = "González"\nMUD = "González"\n')
    assert cli("ingest", write(tmp_path / "cards.csv", text), "--source", "c", "--kind", "observer",
               "--mapping", mapping).exit_code == 0
    assert totals(cli)["c"]["totals"] == {"Maduro": 14, "González": 36}


def test_key_normalisation_matches_zero_padding_case_and_spacing(cli, tmp_path):
    a = "state,table,A,B\n01,001,5,5\n2, 7 ,1,1\nNorte,3,2,2\n"
    b = "state,table,A,B\n1,1,5,5\n02,0007,1,1\n  NORTE ,03,2,3\n"
    flags = ["--kind", "observer", "--unit", "state", "--unit", "table", "--candidate", "A", "--candidate", "B"]
    assert cli("ingest", write(tmp_path / "a.csv", a), "--source", "a", *flags).exit_code == 0
    assert cli("ingest", write(tmp_path / "b.csv", b), "--source", "b", *flags).exit_code == 0
    pair = cli("compare", json_out=True).doc["comparison"]["pairs"][0]
    assert pair["common_units"] == 3 and pair["only_a"] == 0 and pair["only_b"] == 0
    assert pair["differ"] == 1 and pair["largest_disagreements"][0]["unit"] == "norte.3"


def test_implausible_records_kept_and_flagged(cli, db, tmp_path):
    text = (WIDE + "R1,D1,1,100,300,5,200,100\n"   # votes above registered
            "R1,D1,2,400,260,3,50,200\n"             # valid total does not add up
            "R1,D1,3,0,0,0,0,0\n"                    # zero registered
            "R1,D1,4,,10,0,5,5\n"                    # registered missing
            "R1,D1,5,100,95,10,45,50\n")             # ballots above registered
    result = cli("ingest", write(tmp_path / "odd.csv", text), *WIDE_FLAGS, json_out=True)
    assert result.exit_code == 0
    assert result.doc["records_added"] == 5
    assert result.doc["flags"] == {"votes_above_registered": 1, "valid_mismatch": 1, "zero_registered": 1,
                                   "registered_missing": 1, "ballots_above_registered": 1}
    src = totals(cli)["s1"]
    assert src["totals"] == {"Alice": 300, "Bob": 355}
    assert src["flags"]["votes_above_registered"]["count"] == 1


def test_strict_rejects_implausible(cli, db, tmp_path):
    text = WIDE + "R1,D1,1,500,300,5,200,100\nR1,D1,2,100,300,5,200,100\n"
    result = cli("ingest", write(tmp_path / "odd.csv", text), *WIDE_FLAGS, "--strict")
    assert result.exit_code != 0 and "row 3" in result.stderr and "votes_above_registered" in result.stderr
    assert store_fingerprint(db) == "absent" or totals(cli) == {}


def test_strict_rejects_conflicting_copies(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "a.csv", GOOD), *WIDE_FLAGS).exit_code == 0
    before = store_fingerprint(db)
    second = WIDE + "R1,D1,1,500,300,5,200,100\nR1,D2,2,400,250,3,60,190\n"   # a copy, then a conflict (row 3)
    res = cli("ingest", write(tmp_path / "b.csv", second), *WIDE_FLAGS, "--strict")
    assert res.exit_code != 0 and "row 3" in res.stderr and "r1.d2.2" in res.stderr
    assert store_fingerprint(db) == before
    within = WIDE + "R9,D1,1,500,300,5,200,100\nR9,D1,1,500,300,5,201,99\n"
    res = cli("ingest", write(tmp_path / "c.csv", within), *WIDE_FLAGS, "--strict")
    assert res.exit_code != 0 and "conflict" in res.stderr
    assert store_fingerprint(db) == before


def test_reingest_identical_file_is_noop(cli, db, tmp_path):
    path = write(tmp_path / "r.csv", GOOD)
    assert cli("ingest", path, *WIDE_FLAGS).exit_code == 0
    before = store_fingerprint(db)
    result = cli("ingest", path, *WIDE_FLAGS, json_out=True)
    assert result.doc["status"] == "already imported"
    assert store_fingerprint(db) == before


def test_conflicting_copies_kept_and_reported(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "a.csv", GOOD), *WIDE_FLAGS).exit_code == 0
    # second file: one table identical (a copy), one with different numbers (a conflict), one new
    second = WIDE + "R1,D1,1,500,300,5,200,100\nR1,D2,2,400,250,3,60,190\nR3,D1,1,10,5,0,3,2\n"
    result = cli("ingest", write(tmp_path / "b.csv", second), *WIDE_FLAGS, json_out=True)
    assert result.doc["records_added"] == 2 and result.doc["identical_copies"] == 1
    assert result.doc["conflicts"] == 1
    conflicts = cli("conflicts", "--source", "s1", json_out=True).doc
    assert [c["unit"] for c in conflicts] == ["r1.d2.2"]
    copies = conflicts[0]["copies"]
    assert [c["votes"]["Alice"] for c in copies] == [50, 60]
    assert {Path(c["provenance"]["file"]).name for c in copies} == {"a.csv", "b.csv"}
    src = totals(cli)["s1"]
    assert src["units"] == 4 and src["conflicts"] == 1
    # the first copy is used for totals, never silently replaced
    assert src["totals"] == {"Alice": 313, "Bob": 362}
    unit = cli("unit", "r1.d1.1", json_out=True).doc
    assert unit["records"][0]["provenance"]["also_seen"][0]["file"].endswith("b.csv")


def test_conflict_within_one_file(cli, tmp_path):
    text = GOOD + "R2,D1,1,300,120,0,61,59\n"
    result = cli("ingest", write(tmp_path / "c.csv", text), *WIDE_FLAGS, json_out=True)
    assert result.doc["records_added"] == 4 and result.doc["conflicts"] == 1
    src = totals(cli)["s1"]
    assert src["units"] == 3 and src["conflicts"] == 1 and src["records"] == 4
    assert len(cli("unit", "r2.d1.1", json_out=True).doc["records"]) == 2


def test_conflict_within_one_file_and_identical_duplicate_rows(cli, tmp_path):
    text = GOOD + "R1,D1,1,500,300,5,200,100\nR2,D1,1,300,120,0,61,59\n"
    result = cli("ingest", write(tmp_path / "dup.csv", text), *WIDE_FLAGS, json_out=True)
    assert result.doc["records_added"] == 4 and result.doc["identical_copies"] == 1 and result.doc["conflicts"] == 1


def test_announce_json_csv_and_idempotence(cli, db, tmp_path):
    js = {"registry": {"units": 10, "registered": 5000},
          "bulletins": [{"id": 1, "announced": "2024-07-29T00:06", "results": [
              {"candidate": "Alice", "votes": 400, "stated_pct": 51.2}, {"candidate": "Bob", "votes": 380}]}]}
    path = write(tmp_path / "b.json", json.dumps(js))
    assert cli("announce", path).exit_code == 0
    before = store_fingerprint(db)
    assert cli("announce", path).exit_code == 0
    assert store_fingerprint(db) == before
    csv_text = "bulletin,candidate,votes,stated_pct,announced\nfinal,Alice,500,52.1,2024-08-02\nfinal,Bob,460,,\n"
    assert cli("announce", write(tmp_path / "b.csv", csv_text)).exit_code == 0
    cli("ingest", write(tmp_path / "r.csv", GOOD), *WIDE_FLAGS)
    doc = cli("compare", json_out=True).doc
    ann = {a["name"]: a for a in doc["announced"]}
    assert ann["bulletin 1"]["totals"] == {"Alice": 400, "Bob": 380}
    assert ann["final"]["totals"] == {"Alice": 500, "Bob": 460}
    assert ann["final"]["stated_pct"] == {"Alice": 52.1}
    assert doc["sources"][0]["coverage"] == 3 / 10
    vs = [c for c in doc["comparison"]["announced"] if c["bulletin"] == "final"][0]
    assert vs["candidates"]["Alice"]["difference"] == 500 - 310


def test_regional_bulletin_compared_with_that_region_only(cli, tmp_path):
    cli("ingest", write(tmp_path / "r.csv", GOOD), *WIDE_FLAGS)
    regional = {"bulletins": [{"name": "R1 count", "unit": ["R1"], "results": {"Alice": 260, "Bob": 300}}]}
    assert cli("announce", write(tmp_path / "b.json", json.dumps(regional))).exit_code == 0
    doc = cli("compare", json_out=True).doc
    vs = doc["comparison"]["announced"][0]
    # R1 holds two tables: Alice 200 + 50, Bob 100 + 200
    assert vs["unit"] == "r1" and vs["units_in_source"] == 2
    assert vs["candidates"]["Alice"]["source"] == 250 and vs["candidates"]["Bob"]["difference"] == 0
