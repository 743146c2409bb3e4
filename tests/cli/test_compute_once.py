"""`forensics` then `report` runs the battery once: results are cached per store state, and any write to the
store gives a new state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voteaudit.cli import app
from voteaudit.simulate import simulate, write

INGEST = ["--kind", "official", "--unit", "region", "--unit", "district", "--unit", "table",
          "--registered", "registered", "--cast", "cast", "--valid", "valid", "--null", "null",
          "--candidate", "Candidate A", "--candidate", "Candidate B", "--candidate", "Candidate C"]


def test_forensics_then_report_computes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("VOTEAUDIT_CACHE", str(cache))
    db = str(tmp_path / "s.duckdb")
    runner = CliRunner()
    for name, seed in (("a", 1), ("b", 2)):
        write(simulate(400, candidates=3, regions=3, seed=seed), tmp_path / f"{name}.csv")
    assert runner.invoke(app, ["ingest", str(tmp_path / "a.csv"), "--source", "a", *INGEST, "--db", db]).exit_code == 0

    first = runner.invoke(app, ["forensics", "--source", "a", "--db", db, "--json"], catch_exceptions=False)
    entries = sorted(cache.glob("forensics-*.json"))
    assert first.exit_code == 0 and len(entries) == 1
    again = runner.invoke(app, ["forensics", "--source", "a", "--db", db], catch_exceptions=False)
    assert again.exit_code == 0 and sorted(cache.glob("forensics-*.json")) == entries
    assert json.loads(entries[0].read_text()) == json.loads(first.stdout)

    rep = runner.invoke(app, ["report", "--out", str(tmp_path / "rep"), "--db", db], catch_exceptions=False)
    assert rep.exit_code == 0
    assert sorted(cache.glob("forensics-*.json")) == entries  # the report reused the battery
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert [r for r in summary["forensics"] if r["test"] != "source_agreement"] == json.loads(first.stdout)

    # a write gives a new store state: the next run computes afresh
    assert runner.invoke(app, ["ingest", str(tmp_path / "b.csv"), "--source", "b", *INGEST, "--db", db]).exit_code == 0
    assert runner.invoke(app, ["forensics", "--source", "a", "--db", db, "--json"]).exit_code == 0
    assert len(list(cache.glob("forensics-*.json"))) == 2
