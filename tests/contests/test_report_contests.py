"""The report of a multi-contest store: a section per contest, each contest's full report, cross-contest ballots."""

from __future__ import annotations

import json

from tests.spine.conftest import write

TEXT = ("precinct,office,registered,cast,a,b\n"
        "1,<script>alert(1)</script>,100,60,30,30\n1,Council,100,58,20,30\n"
        "2,<script>alert(1)</script>,90,50,25,25\n2,Council,90,50,20,20\n")
FLAGS = ["--source", "s", "--kind", "official", "--unit", "precinct", "--registered", "registered", "--cast", "cast",
         "--candidate", "a", "--candidate", "b", "--contest-column", "office"]


def test_report_has_a_section_per_contest_and_escapes_names(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "x.csv", TEXT), *FLAGS).exit_code == 0, "ingest"
    out = tmp_path / "out"
    result = cli("report", "--out", out)
    assert result.exit_code == 0, result.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('<section id="contest-') == 2
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert (out / "contests" / "1" / "report.html").exists() and (out / "contests" / "2" / "report.html").exists()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [d["contest"] for d in summary["contests"]] == ["<script>alert(1)</script>", "Council"]
    (cross,) = summary["cross_contest"]
    # precinct 1: 60 ballots cast in one contest, 58 in the other, on the same ballots
    assert cross["differ"] == 1 and cross["tables"][0]["unit"] == "1" and cross["tables"][0]["difference"] == 2
    assert cross["tables"][0]["basis"] == "cast"
    assert '<section id="cross-contest">' in html and "<td>2</td>" in html   # the table and its difference


def test_cross_contest_in_compare_ranked(cli, db, tmp_path):
    text = TEXT + "3,Council,80,40,10,10\n3,<script>alert(1)</script>,80,45,20,20\n"
    assert cli("ingest", write(tmp_path / "x.csv", text), *FLAGS).exit_code == 0
    cross = cli("compare", json_out=True).doc["cross_contest"][0]
    assert cross["tables_compared"] == 3 and cross["differ"] == 2
    assert [(t["unit"], t["difference"]) for t in cross["tables"]] == [("3", 5), ("1", 2)]


def test_publish_one_contest_of_several(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "x.csv", TEXT), *FLAGS).exit_code == 0
    refused = cli("publish", "--out", tmp_path / "all", "--no-report")
    assert refused.exit_code != 0 and "several contests" in refused.stderr
    site = tmp_path / "council"
    result = cli("publish", "--out", site, "--contest", "Council", "--no-report")
    assert result.exit_code == 0, result.stderr
    records = (site / "bulk" / "records.csv").read_text(encoding="utf-8")
    assert records.count("\n") == 3   # header + the two Council tables
    assert cli("verify", site).exit_code == 0


def test_announce_per_contest(cli, db, tmp_path):
    assert cli("ingest", write(tmp_path / "x.csv", TEXT), *FLAGS).exit_code == 0
    bulletin = write(tmp_path / "b.json", '{"bulletins": [{"name": "final", "results": [{"candidate": "a", '
                                          '"votes": 40}, {"candidate": "b", "votes": 50}]}]}')
    refused = cli("announce", bulletin)
    assert refused.exit_code != 0 and "several contests" in refused.stderr
    assert cli("announce", bulletin, "--contest", "Council").exit_code == 0
    council = cli("compare", "--contest", "Council", json_out=True).doc
    other = cli("compare", "--contest", "<script>alert(1)</script>", json_out=True).doc
    assert [b["totals"] for b in council["announced"]] == [{"a": 40, "b": 50}] and other["announced"] == []
