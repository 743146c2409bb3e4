"""Explicit rounds and the commitment before the seed, through the CLI and a real DuckDB store."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from voteaudit.cli import app
from voteaudit.store import open_store

CANDS = ["A", "B [bold]x[/bold]"]


@pytest.fixture
def run(tmp_path):
    db = str(tmp_path / "s.duckdb")
    rows = ["table,ballots,A,B [bold]x[/bold]"] + [f"{i},{460 + i % 7},{300 + i % 50},{150 + i % 30}"
                                                     for i in range(120)]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    runner = CliRunner()

    def go(*args, json_out=True):
        res = runner.invoke(app, [str(a) for a in args] + ["--db", db] + (["--json"] if json_out else []),
                            catch_exceptions=False)
        res.doc = json.loads(res.stdout) if json_out and res.exit_code == 0 else None
        return res

    assert go("ingest", tmp_path / "r.csv", "--source", "auth", "--kind", "official", "--unit", "table",
              "--cast", "ballots", "--candidate", "A", "--candidate", CANDS[1], json_out=False).exit_code == 0
    go.db = db
    return go


def test_plan_commits_to_manifest_and_results(run):
    doc = run("audit", "plan", "--source", "auth", "--risk-limit", "10").doc
    with open_store(run.db) as store:
        m = store.matrix("auth")
        state = store.state("audit:auth")
    ballots = [max(int(b), int(v)) for b, v in zip(m.ballots(), m.votes.sum(axis=1), strict=True)]
    text = "".join(json.dumps([str(u), b], ensure_ascii=False) + "\n" for u, b in zip(m.unit_ids, ballots, strict=True))
    c = doc["commitment"]
    assert c["manifest_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    res = json.dumps(CANDS, ensure_ascii=False) + "\n" + "".join(
        json.dumps([str(u), *map(int, v)], ensure_ascii=False) + "\n" for u, v in zip(m.unit_ids, m.votes, strict=True))
    assert c["results_sha256"] == hashlib.sha256(res.encode()).hexdigest()
    assert c["reported"] == {n: int(t) for n, t in zip(m.candidates, m.votes.sum(axis=0), strict=True)}
    assert state["commitment"] == c
    again = run("audit", "plan", "--source", "auth", "--risk-limit", "10").doc["commitment"]
    assert again["committed_at"] == c["committed_at"]           # same data: the first commitment stands


def test_rounds_are_explicit_and_reproducible(run):
    run("audit", "plan", "--source", "auth", "--risk-limit", "10")
    r1 = run("audit", "sample", "--source", "auth", "--seed", "12345").doc
    assert r1["round"] == 1 and not r1["repeat"] and r1["start"] == 0 and r1["size"] > 0
    again = run("audit", "sample", "--source", "auth", "--seed", "12345", "--round", "1").doc
    assert again["sample"] == r1["sample"] and again["repeat"]
    r2 = run("audit", "sample", "--source", "auth", "--seed", "12345", "--size", "7").doc
    assert r2["round"] == 2 and r2["start"] == r1["size"] and len(r2["sample"]) == 7
    assert run("audit", "sample", "--source", "auth", "--seed", "12345", "--round", "2").doc["sample"] == r2["sample"]
    assert run("audit", "sample", "--source", "auth", "--seed", "12345", "--round", "4").exit_code == 2
    bad = run("audit", "sample", "--source", "auth", "--seed", "12345", "--round", "1", "--size", "3")
    assert bad.exit_code == 2 and "was drawn with" in bad.stderr
    other = run("audit", "sample", "--source", "auth", "--seed", "999", "--size", "3")
    assert other.exit_code == 2 and "--force" in other.stderr
    st = run("audit", "status", "--source", "auth").doc
    assert [r["round"] for r in st["rounds"]] == [1, 2] and st["draws"] == r1["size"] + 7
    assert st["commitment"]["manifest_sha256"] == r1["manifest_sha256"]
    human = run("audit", "status", "--source", "auth", json_out=False)
    assert human.exit_code == 0
    assert "Rounds" in human.stdout and "Risk per assertion" in human.stdout and "{'" not in human.stdout
    assert "[bold]" in human.stdout   # candidate names are never markup


def test_seed_before_commitment_is_refused(run):
    no_plan = run("audit", "sample", "--source", "auth", "--seed", "1", "--size", "5")
    assert no_plan.exit_code == 2 and "audit plan" in no_plan.stderr
    run("audit", "plan", "--source", "auth")
    early = run("audit", "sample", "--source", "auth", "--seed", "1", "--size", "5", "--seed-time", "2020-01-01T00:00Z")
    assert early.exit_code == 2 and "before the commitment" in early.stderr
    forced = run("audit", "sample", "--source", "auth", "--seed", "1", "--size", "5", "--seed-time",
                 "2020-01-01T00:00Z", "--force").doc
    assert forced["forced"] and len(forced["sample"]) == 5
    bad = run("audit", "sample", "--source", "auth", "--seed", "1", "--seed-time", "yesterday")
    assert bad.exit_code == 2 and "ISO 8601" in bad.stderr


def test_minerva_rounds_through_the_cli(run, tmp_path):
    p = run("audit", "plan", "--source", "auth", "--method", "minerva", "--risk-limit", "10").doc
    assert p["method"] == "minerva" and p["sizes_for_probability"]["0.9"] == p["sample_size"]
    r1 = run("audit", "sample", "--source", "auth", "--seed", "777", "--size", "6").doc
    # hand counts of the drawn ballots: every one a vote for B (the reported loser)
    per = {}
    for u in r1["sample"]:
        per[u] = per.get(u, 0) + 1
    lines = ["table,A,B [bold]x[/bold]"] + [f"{u},0,{n}" for u, n in per.items()]
    (tmp_path / "h1.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rec = run("audit", "record", tmp_path / "h1.csv", "--source", "auth", "--unit", "table", "--candidate", "A",
              "--candidate", CANDS[1]).doc
    assert rec["verdict"] == "escalate" and rec["risk"] == pytest.approx(1.0)
    assert rec["next_round_size"] == int(6 * 1.5 ** 2)
    with open_store(run.db) as store:
        assert store.state("audit:auth")["tallies"]["1"] == {"A": 0, CANDS[1]: 6}
    r2 = run("audit", "sample", "--source", "auth", "--seed", "777", "--size", str(rec["next_round_size"])).doc
    assert r2["round"] == 2
    st = run("audit", "status", "--source", "auth").doc
    assert st["verdict"] == "pending" and [r["size"] for r in st["rounds"]] == [6, 13]


def test_votes_allowed_through_the_cli(run):
    bad = run("audit", "plan", "--source", "auth", "--method", "bravo", "--votes-allowed", "2")
    assert bad.exit_code == 2 and "votes-allowed" in bad.stderr
    p = run("audit", "plan", "--source", "auth", "--method", "macro", "--votes-allowed", "2").doc
    assert p["votes_allowed"] == 2
    run("audit", "sample", "--source", "auth", "--seed", "5", "--size", "4")
    st = run("audit", "status", "--source", "auth").doc
    assert st["draws"] == 4
    again = run("audit", "plan", "--source", "auth", "--method", "macro")     # vote-for-1 would redraw
    assert again.exit_code == 2 and "--force" in again.stderr


def test_without_replacement_through_the_cli(run):
    assert run("audit", "plan", "--source", "auth", "--method", "bravo", "--without-replacement").exit_code == 2
    p = run("audit", "plan", "--source", "auth", "--method", "alpha", "--without-replacement").doc
    assert p["replacement"] is False
    r1 = run("audit", "sample", "--source", "auth", "--seed", "8", "--size", "5").doc
    r2 = run("audit", "sample", "--source", "auth", "--seed", "8", "--size", "5").doc
    assert r1["replacement"] is False and r2["start"] == 5
    st = run("audit", "status", "--source", "auth").doc
    assert st["replacement"] is False and st["draws"] == 10


def test_report_shows_the_commitment_for_ballot_polling(run, tmp_path):
    c = run("audit", "plan", "--source", "auth", "--method", "bravo", "--risk-limit", "10").doc["commitment"]
    run("audit", "sample", "--source", "auth", "--seed", "42", "--size", "5")
    assert run("report", "--out", tmp_path / "rep", json_out=False).exit_code == 0
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert c["manifest_sha256"] in html and "before the seed" in html
