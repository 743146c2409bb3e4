"""Real third-party files with several contests ingest with the contest flags; every contest's totals equal
an independent recount (csv/json modules). Sources: tests/data/SOURCE.md."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

from tests.spine.conftest import store_fingerprint

DATA = Path(__file__).resolve().parents[1] / "data"
PA = DATA / "openelections" / "20201103__pa__general__cameron__precinct.csv"
DE = DATA / "medsl" / "de22_kent_slice.csv"
CDF = DATA / "cdf" / "cambridge-2022-general-slice.json"
PA_FLAGS = ["--source", "openelections", "--kind", "independent", "--unit", "county", "--unit", "precinct",
            "--long", "candidate", "votes", "--contest-column", "office", "--contest-column", "district",
            "--registered-row", "Registered Voters", "--cast-row", "Ballots Cast",
            "--where", "office!=Ballots Cast Blank", "--not-candidate", "Over Votes", "--not-candidate", "Under Votes"]
SPECIAL = {"Registered Voters", "Ballots Cast", "Ballots Cast Blank"}


def pa_recount() -> tuple[dict[str, dict[str, int]], dict[str, int], dict[str, int]]:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    registered: dict[str, int] = {}
    cast: dict[str, int] = {}
    with open(PA, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["office"] == "Registered Voters":
                registered[row["precinct"]] = int(row["votes"])
            elif row["office"] == "Ballots Cast":
                cast[row["precinct"]] = int(row["votes"])
            elif row["office"] not in SPECIAL and row["candidate"] not in ("Over Votes", "Under Votes"):
                contest = " / ".join(p for p in (row["office"], row["district"]) if p)
                totals[contest][row["candidate"]] += int(row["votes"])
    return totals, registered, cast


def test_openelections_county_file_every_office_its_own_contest(cli, db):
    totals, registered, cast = pa_recount()
    assert len(totals) == 7
    result = cli("ingest", PA, *PA_FLAGS, json_out=True)
    assert result.exit_code == 0, result.stderr
    assert sorted(r["contest"] for r in result.doc["contests"]) == sorted(totals)
    listed = cli("contests", json_out=True).doc
    assert [c["name"] for c in listed] == sorted(totals) and {c["units"] for c in listed} == {10}
    for contest, expected in totals.items():
        doc = cli("compare", "--contest", contest, json_out=True).doc
        (src,) = doc["sources"]
        assert src["totals"] == dict(expected), contest
        assert src["registered"] == sum(registered.values())
        assert "Over Votes" not in src["shares"] and "Under Votes" not in src["shares"]
    multi = cli("compare", json_out=True).doc
    assert [d["contest"] for d in multi["contests"]] == sorted(totals)
    (cross,) = multi["cross_contest"]
    # every contest's ballots cast come from the one "Ballots Cast" row of the table: they agree
    assert cross["tables_compared"] == 10 and cross["differ"] == 0
    unit = cli("unit", "cameron.driftwood borough", "--contest", "President", json_out=True).doc
    assert unit["records"][0]["cast"] == cast["Driftwood Borough"]


def test_openelections_file_without_contest_flags_is_rejected(cli, db, tmp_path):
    cli("ingest", PA, *PA_FLAGS)
    before = store_fingerprint(db)
    plain = cli("ingest", PA, "--source", "other", "--kind", "observer", "--unit", "county", "--unit", "precinct",
                "--long", "candidate", "votes", "--where", "office!=Registered Voters",
                "--where", "office!=Ballots Cast", "--where", "office!=Ballots Cast Blank")
    assert plain.exit_code != 0
    assert "column 'office' has 7 values" in plain.stderr and "--contest-column office" in plain.stderr
    assert store_fingerprint(db) == before


def de_recount() -> dict[str, dict[str, dict[str, int]]]:
    """contest -> mode -> candidate -> votes."""
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    with open(DE, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            contest = " / ".join(p for p in (row["office"], row["district"]) if p)
            out[contest][row["mode"]][row["candidate"]] += int(row["votes"])
    return out


def test_medsl_file_with_vote_modes(cli, db):
    recount = de_recount()
    flags = ["--source", "medsl", "--kind", "independent", "--unit", "county_name", "--unit", "precinct",
             "--long", "candidate", "votes", "--contest-column", "office", "--contest-column", "district"]
    rejected = cli("ingest", DE, *flags)
    assert rejected.exit_code != 0 and "column 'mode' has 4 values" in rejected.stderr
    result = cli("ingest", DE, *flags, "--mode-column", "mode", "--where", "mode!=TOTAL")
    assert result.exit_code == 0, result.stderr
    for contest, modes in recount.items():
        summed: dict[str, int] = defaultdict(int)
        for mode, cands in modes.items():
            if mode != "TOTAL":
                for c, v in cands.items():
                    summed[c] += v
        doc = cli("compare", "--contest", contest, json_out=True).doc
        assert doc["sources"][0]["totals"] == dict(summed), contest
        assert dict(summed) == dict(modes["TOTAL"])  # MEDSL's own TOTAL rows: the same, mode by mode added up
    records = cli("unit", "kent.28-11", "--contest", "STATE SENATE / 017", json_out=True).doc["records"]
    assert set(records[0]["modes"]) == {"IN-PERSON", "ABSENTEE", "EARLY"}
    in_person = records[0]["modes"]["IN-PERSON"]
    assert in_person["TREY PARADEE"] == 149 and in_person["ED RUYTER"] == 54   # the slice's first two rows


def cdf_recount() -> dict[str, dict[str, int]]:
    doc = json.loads(CDF.read_text(encoding="utf-8"))
    (election,) = doc["Election"]
    names = {c["@id"]: c["BallotName"]["Text"][0]["Content"] for c in election["Candidate"]}
    out: dict[str, dict[str, int]] = {}
    seen = [c["Name"] for c in election["Contest"]]
    for contest in election["Contest"]:
        totals: dict[str, int] = defaultdict(int)
        for sel in contest["ContestSelection"]:
            if sel.get("CandidateIds"):
                label = " / ".join(names[i] for i in sel["CandidateIds"])
            elif sel.get("IsWriteIn"):
                label = "Write-in"
            else:
                label = sel["Selection"]["Text"][0]["Content"]
            for vc in sel.get("VoteCounts", []):
                totals[label] += vc["Count"]
        name = contest["Name"] if seen.count(contest["Name"]) == 1 else f"{contest['Name']} ({contest['@id']})"
        out[name] = dict(totals)
    return out


def test_nist_cdf_every_contest_in_one_ingest(cli, db):
    recount = cdf_recount()
    assert len(recount) == 26
    result = cli("ingest", CDF, "--source", "cambridge", "--kind", "official", json_out=True)
    assert result.exit_code == 0, result.stderr
    assert len(result.doc["contests"]) == 26
    for name, expected in recount.items():
        doc = cli("compare", "--contest", name, json_out=True).doc
        totals = doc["sources"][0]["totals"]
        assert {k: v for k, v in totals.items() if v or k in expected} == {k: v for k, v in expected.items()}, name
    multi = cli("compare", json_out=True).doc
    (cross,) = multi["cross_contest"]
    assert cross["tables_compared"] == 14 and cross["differ_on_cast"] == 0   # BallotCounts: one per precinct


def test_nist_cdf_contest_option_picks_one(cli, db):
    recount = cdf_recount()
    name = "GOVERNOR AND LIEUTENANT GOVERNOR"
    result = cli("ingest", CDF, "--source", "cambridge", "--kind", "official", "--contest", name, json_out=True)
    assert result.exit_code == 0, result.stderr
    assert result.doc["contest"] == name
    assert cli("contests", json_out=True).doc == [{"name": name, "units": 14, "sources": ["cambridge"]}]
    assert cli("compare", json_out=True).doc["sources"][0]["totals"] == recount[name]
