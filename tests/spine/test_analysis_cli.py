"""simulate -> ingest -> forensics / power through the CLI, on elections with a known truth."""

from __future__ import annotations

import json

from voteaudit.forensics import TEST_IDS

FLAGS = ["--unit", "region", "--unit", "district", "--unit", "table", "--registered", "registered", "--cast", "cast",
         "--valid", "valid", "--null", "null"] + [x for c in "ABCD" for x in ("--candidate", f"Candidate {c}")]


def load(cli, tmp_path, *fraud: str, seed: int = 1) -> None:
    path = tmp_path / f"sim{seed}.csv"
    args = ["simulate", "--units", "2000", "--out", path, "--seed", str(seed)]
    for f in fraud:
        args += ["--fraud", f]
    res = cli(*args, json_out=True)
    assert res.exit_code == 0, res.stderr
    assert cli("ingest", path, "--source", "sim", "--kind", "official", *FLAGS).exit_code == 0


def test_simulate_is_deterministic(cli, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for p in (a, b):
        assert cli("simulate", "--units", "300", "--out", p, "--seed", "9", "--fraud", "stuffing=0.1").exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    res = cli("simulate", "--units", "10", "--out", a, "--fraud", "teleport=0.1")
    assert res.exit_code != 0 and "unknown fraud model 'teleport'" in res.stderr


def test_forensics_contract_and_detects_extreme_fraud(cli, tmp_path):
    load(cli, tmp_path, "klimek_extreme=0.1")
    res = cli("forensics", "--source", "sim", json_out=True)
    assert res.exit_code == 0, res.stderr
    results = res.doc
    for r in results:
        assert {"test", "target", "level", "statistic", "p_value", "flagged", "units_flagged"} <= set(r)
        assert isinstance(r["flagged"], bool) and r["test"] in TEST_IDS
    fingerprint = [r for r in results if r["test"] == "fingerprint"]
    assert fingerprint and fingerprint[0]["flagged"]
    # 10 % of tables with extreme fraud: almost all flagged tables sit above 95 % turnout
    turnout = [r for r in results if r["test"] == "outliers" and r["target"].startswith("turnout")][0]
    assert turnout["flagged"] and len(turnout["units_flagged"]) > 100


def test_forensics_per_region_adjusts_and_names_areas(cli, tmp_path):
    load(cli, tmp_path)
    res = cli("forensics", "--source", "sim", "--level", "region", "--test", "last_digit", json_out=True)
    assert res.exit_code == 0, res.stderr
    per = [r for r in res.doc if r["target"] == "all candidates"]
    assert len(per) == 10 and all(r["level"] == "region" for r in per)
    # fewer than 20 areas: Holm by default; p_value stays the test's own, p_adjusted is the adjusted one
    assert all(r["adjustment"] == "holm" and r["p_adjusted"] >= r["p_value"] for r in per if r["p_value"] is not None)
    # ids are the normalised keys, names the display names from the file
    assert {(r["area"]["id"], r["area"]["name"]) for r in per} == {(f"r{i:02d}", f"R{i:02d}") for i in range(1, 11)}
    bh = cli("forensics", "--source", "sim", "--level", "region", "--test", "last_digit", "--correction", "bh",
             json_out=True)
    assert bh.exit_code == 0 and all(r["adjustment"] == "bh" for r in bh.doc if r["p_value"] is not None)
    text = cli("forensics", "--source", "sim", "--level", "region", "--test", "last_digit")
    assert text.exit_code == 0 and "tests flagged; at this size about" in text.stdout
    bad = cli("forensics", "--source", "sim", "--level", "galaxy")
    assert bad.exit_code != 0 and "unknown level 'galaxy'" in bad.stderr
    for opt in (["--materiality", "spikes"], ["--materiality", "teleport=1"], ["--correction", "bonferroni"]):
        bad = cli("forensics", "--source", "sim", *opt)
        assert bad.exit_code != 0 and opt[0] in bad.stderr, bad.stderr


def test_power_reports_smallest_detectable_fraud(cli, tmp_path):
    res = cli("power", "--units", "300", "--sims", "2", json_out=True)
    assert res.exit_code == 0, res.stderr
    table = res.doc["smallest_detectable"]
    assert set(table) >= {"stuffing", "klimek_extreme"}
    sizes = [v for row in table.values() for v in row.values() if v is not None]
    assert sizes and all(0 < v <= 1 for v in sizes)
    json.dumps(res.doc)


def test_report_forensics_section_leads_with_material_findings(cli, tmp_path):
    load(cli, tmp_path, "klimek_extreme=0.1")
    assert cli("report", "--out", tmp_path / "rep").exit_code == 0
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    head = summary["forensics_headline"]
    assert head["flagged"] >= 1 and head["tested"] == sum(1 for r in summary["forensics"]
                                                          if r["tested"] and r["p_value"] is not None)
    line = f"{head['flagged']} of {head['tested']} tests flagged; at this size about"
    section = html[html.index("Election forensics</h2>"):]
    assert line in section and section.index(line) < section.index("Material findings") < section.index("Every result")
    assert "Published tests beside their honest-counting calibrations" in section and "Which to believe" in section
    assert section.index("fingerprint — leader share") < section.index("Every result")  # a material finding
