"""The audit workflow through the CLI: plan, sample from a seed, record hand counts, status."""

from __future__ import annotations

import csv

from tests.spine.conftest import write


def election(tmp_path, n=200):
    rows = ["region,table,ballots,A,B"]
    for i in range(n):
        a, b = 300 + i % 50, 150 + i % 30
        rows.append(f"R{i % 5},{i},{a + b + 5},{a},{b}")
    return write(tmp_path / "official.csv", "\n".join(rows) + "\n")


FLAGS = ["--unit", "region", "--unit", "table", "--cast", "ballots", "--candidate", "A", "--candidate", "B"]


def test_audit_confirms_correct_result(cli, tmp_path):
    assert cli("ingest", election(tmp_path), "--source", "auth", "--kind", "official", *FLAGS).exit_code == 0
    plan = cli("audit", "plan", "--source", "auth", "--method", "macro", "--risk-limit", "10", json_out=True)
    assert plan.exit_code == 0, plan.stderr
    size = plan.doc["sample_size"]
    assert 0 < size < 200
    first = cli("audit", "sample", "--source", "auth", "--method", "macro", "--seed", "3141592653", "--size",
                str(size), json_out=True).doc
    again = cli("audit", "sample", "--source", "other", "--method", "macro", "--seed", "3141592653", "--size",
                str(size), json_out=True)
    assert again.exit_code != 0  # no such source
    assert len(first["sample"]) == size
    # hand counts equal to the reported results for the sampled tables
    with open(tmp_path / "official.csv") as fh:
        reported = {r["table"]: r for r in csv.DictReader(fh)}
    lines = ["region,table,A,B"]
    for uid in sorted(set(first["sample"])):
        region, table = uid.split(".")
        lines.append(f"{region},{table},{reported[table]['A']},{reported[table]['B']}")
    hand = write(tmp_path / "hand.csv", "\n".join(lines) + "\n")
    rec = cli("audit", "record", hand, "--source", "auth", "--unit", "region", "--unit", "table",
              "--candidate", "A", "--candidate", "B", json_out=True)
    assert rec.exit_code == 0, rec.stderr
    assert rec.doc["verdict"] == "confirmed" and rec.doc["risk"] <= 0.10
    status = cli("audit", "status", "--source", "auth", json_out=True).doc
    assert status["verdict"] == "confirmed" and status["draws"] == size
    assert cli("report", "--out", tmp_path / "rep").exit_code == 0
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "Risk-limiting audit" in html and "the reported outcome is confirmed" in html and "3141592653" in html


def test_audit_with_overstated_winner_does_not_confirm(cli, tmp_path):
    assert cli("ingest", election(tmp_path), "--source", "auth", "--kind", "official", *FLAGS).exit_code == 0
    assert cli("audit", "plan", "--source", "auth", "--method", "macro", "--risk-limit", "10").exit_code == 0
    drawn = cli("audit", "sample", "--source", "auth", "--method", "macro", "--seed", "271828", "--size", "20",
                "--risk-limit", "10", json_out=True).doc["sample"]
    # the paper says the loser won every sampled table
    lines = ["region,table,A,B"] + [f"{u.split('.')[0]},{u.split('.')[1]},100,400" for u in sorted(set(drawn))]
    hand = write(tmp_path / "hand.csv", "\n".join(lines) + "\n")
    rec = cli("audit", "record", hand, "--source", "auth", "--unit", "region", "--unit", "table",
              "--candidate", "A", "--candidate", "B", json_out=True)
    assert rec.exit_code == 0, rec.stderr
    assert rec.doc["verdict"] != "confirmed" and rec.doc["risk"] > 0.10
    first = rec.doc["discrepancies"][0]
    assert list(first)[:2] == ["unit", "reported"] or "reported" in first
