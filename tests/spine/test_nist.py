"""NIST SP 1500-100 v2 CDF JSON ingest: hierarchy from ComposingGpUnitIds, total vs per-type counts."""

from __future__ import annotations

import json

from tests.spine.conftest import store_fingerprint, write


def name(text: str) -> dict:
    return {"@type": "ElectionResults.InternationalizedText",
            "Text": [{"@type": "ElectionResults.LanguageString", "Content": text, "Language": "en"}]}


def vc(gp: str, count: int, kind: str = "total") -> dict:
    return {"@type": "ElectionResults.VoteCounts", "GpUnitId": gp, "Count": count, "Type": kind}


def report(counts_alice: list[dict], counts_bob: list[dict]) -> dict:
    ru = "ElectionResults.ReportingUnit"
    return {
        "@type": "ElectionResults.ElectionReport", "Format": "precinct-level", "GeneratedDate": "2024-11-06T00:00:00Z",
        "Issuer": "Test County", "IssuerAbbreviation": "TC", "SequenceStart": 1, "SequenceEnd": 1,
        "Status": "unofficial-complete", "VendorApplicationId": "test",
        "GpUnit": [
            {"@id": "us", "@type": ru, "Type": "country", "Name": "US", "ComposingGpUnitIds": ["adams", "baker"]},
            {"@id": "adams", "@type": ru, "Type": "county", "Name": "Adams", "ComposingGpUnitIds": ["p1", "p2"]},
            {"@id": "baker", "@type": ru, "Type": "county", "Name": "Baker", "ComposingGpUnitIds": ["p3"]},
            {"@id": "p1", "@type": ru, "Type": "precinct", "Name": "Precinct 1", "VotersRegistered": 100},
            {"@id": "p2", "@type": ru, "Type": "precinct", "Name": "Precinct 2", "VotersRegistered": 200},
            {"@id": "p3", "@type": ru, "Type": "precinct", "Name": "Precinct 3", "VotersRegistered": 50},
        ],
        "Election": [{
            "@type": "ElectionResults.Election", "ElectionScopeId": "us", "Name": name("General"),
            "StartDate": "2024-11-05", "EndDate": "2024-11-05", "Type": "general",
            "Candidate": [{"@id": "c-a", "@type": "ElectionResults.Candidate", "BallotName": name("Alice")},
                          {"@id": "c-b", "@type": "ElectionResults.Candidate", "BallotName": name("Bob")}],
            "Contest": [{
                "@id": "pres", "@type": "ElectionResults.CandidateContest", "Name": "President",
                "ElectionDistrictId": "us", "VotesAllowed": 1,
                "ContestSelection": [
                    {"@id": "s-a", "@type": "ElectionResults.CandidateSelection", "CandidateIds": ["c-a"],
                     "VoteCounts": counts_alice},
                    {"@id": "s-b", "@type": "ElectionResults.CandidateSelection", "CandidateIds": ["c-b"],
                     "VoteCounts": counts_bob}]}]}]}


def test_nist_cdf_ingest(cli, tmp_path):
    doc = report(
        [vc("p1", 30, "election-day"), vc("p1", 10, "absentee"), vc("p2", 70), vc("p3", 20),
         vc("adams", 110), vc("us", 130)],  # aggregates above the precincts are ignored (tables = finest level)
        [vc("p1", 50), vc("p2", 90), vc("p3", 25), vc("adams", 140)])
    path = write(tmp_path / "cdf.json", json.dumps(doc))
    result = cli("ingest", path, "--source", "county", "--kind", "official", json_out=True)
    assert result.exit_code == 0, result.stderr
    assert result.doc["records_added"] == 3
    summary = cli("compare", json_out=True).doc
    src = summary["sources"][0]
    assert src["totals"] == {"Alice": 130, "Bob": 165}
    assert summary["election"]["levels"] == ["county", "precinct"]
    assert src["coverage_detail"]["registered"] == 350
    assert [r["name"] for r in src["by_region"]] == ["Adams", "Baker"]


def test_nist_cdf_malformed(cli, db, tmp_path):
    good = report([vc("p1", 1), vc("p2", 2), vc("p3", 3)], [vc("p1", 1), vc("p2", 2), vc("p3", 3)])
    assert cli("ingest", write(tmp_path / "ok.json", json.dumps(good)), "--source", "c", "--kind", "official"
               ).exit_code == 0
    before = store_fingerprint(db)
    bad = report([vc("p1", -3)], [vc("p1", 5)])
    result = cli("ingest", write(tmp_path / "neg.json", json.dumps(bad)), "--source", "c", "--kind", "official")
    assert result.exit_code != 0 and "whole non-negative" in result.stderr and "VoteCounts[0].Count" in result.stderr
    bad = report([vc("nowhere", 3)], [vc("p1", 5)])
    result = cli("ingest", write(tmp_path / "gp.json", json.dumps(bad)), "--source", "c", "--kind", "official")
    assert result.exit_code != 0 and "unknown GpUnit 'nowhere'" in result.stderr
    result = cli("ingest", write(tmp_path / "x.json", '{"a": 1}'), "--source", "c", "--kind", "official")
    assert result.exit_code != 0 and "not a NIST SP 1500-100 ElectionReport" in result.stderr
    assert store_fingerprint(db) == before
