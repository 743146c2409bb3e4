"""Ballot-level comparison audits against cast-vote records (CVRs), through the CVR parser and the CLI.

Reference formulas: super-simple at ballot level is Stark (2010) as in Arlo (votingworks/arlo 8d86156c,
server/audit_math/supersimple.py) and rlacalc (KM_P_value), checked in test_audit_supersimple.py; the
ballot-level ALPHA comparison is SHANGRLA's (pbstark/SHANGRLA 9d5db92e, optimal_comparison bet).
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from typer.testing import CliRunner

from voteaudit.audit import cvr as cvr_m
from voteaudit.audit import supersimple
from voteaudit.cli import app
from voteaudit.model import InputError


def test_parse_rejects_bad_rows_naming_row_and_field():
    head = ["ballot_id", "table", "A", "B"]
    with pytest.raises(InputError, match=r"c\.csv, row 3, field 'B'.*0 or 1"):
        cvr_m.parse(head, [["b1", "t", "1", "0"], ["b2", "t", "0", "x"]], ["A", "B"], file="c.csv")
    with pytest.raises(InputError, match="repeats row 2"):
        cvr_m.parse(head, [["b1", "t", "1", "0"], ["b1", "t", "0", "1"]], ["A", "B"], file="c.csv")
    with pytest.raises(InputError, match="no column 'C'"):
        cvr_m.parse(head, [["b1", "t", "1", "0"]], ["A", "B", "C"], file="c.csv")
    got = cvr_m.parse(head, [["b1", "t", "1", "1"], ["b2", "t", "0", "1"]], ["A", "B"], file="c.csv")
    assert got.overvotes == 1 and got.marks.tolist() == [[0, 0], [0, 1]]


def test_manifest_places_ballots_and_phantoms():
    c = cvr_m.parse(["ballot_id", "table", "A"], [["x", "t2", "1"], ["y", "t1", "0"], ["z", "t2", "1"]], ["A"],
                    file="c.csv")
    man = cvr_m.ballot_manifest(c, np.array(["t1", "t2"]), np.array([2, 2]), file="c.csv")
    assert man.ballot_ids.tolist() == ["y", "phantom:t1:1", "x", "z"]
    assert man.phantom.tolist() == [False, True, False, False]
    assert man.tally_by_table(np.array(["t1", "t2"])).tolist() == [[0], [2]]
    with pytest.raises(InputError, match="more CVRs than ballots"):
        cvr_m.ballot_manifest(c, np.array(["t1", "t2"]), np.array([2, 1]), file="c.csv")
    with pytest.raises(InputError, match="not in the audited source"):
        cvr_m.ballot_manifest(c, np.array(["t1"]), np.array([5]), file="c.csv")


@pytest.fixture
def election(tmp_path):
    rnd = random.Random(4)
    rows, cvr, marks = ["table,ballots,A,B"], ["ballot_id,table,A,B"], {}
    bid = 0
    for t in range(30):
        a = b = 0
        for _ in range(40):
            bid += 1
            r = rnd.random()
            m = (1, 0) if r < 0.57 else (0, 1) if r < 0.98 else (0, 0)
            a, b = a + m[0], b + m[1]
            cvr.append(f"B{bid:05d},{t},{m[0]},{m[1]}")
            marks[f"B{bid:05d}"] = m
        rows.append(f"{t},40,{a},{b}")
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "cvr.csv").write_text("\n".join(cvr) + "\n", encoding="utf-8")
    db = str(tmp_path / "s.duckdb")
    runner = CliRunner()

    def go(*args):
        res = runner.invoke(app, [str(x) for x in args] + ["--db", db, "--json"], catch_exceptions=False)
        res.doc = json.loads(res.stdout) if res.exit_code == 0 else None
        return res

    assert go("ingest", tmp_path / "r.csv", "--source", "auth", "--kind", "official", "--unit", "table",
              "--cast", "ballots", "--candidate", "A", "--candidate", "B").exit_code == 0
    return go, marks, tmp_path


def _mvr(path, rows):
    path.write_text("ballot_id,A,B\n" + "".join(f"{b},{a},{c}\n" for b, (a, c) in rows), encoding="utf-8")
    return path


def test_supersimple_with_cvrs_confirms_clean_ballots(election):
    go, marks, tmp = election
    p = go("audit", "plan", "--source", "auth", "--method", "supersimple", "--cvr", tmp / "cvr.csv",
           "--risk-limit", "5")
    assert p.exit_code == 0, p.stderr
    tot = np.array(list(marks.values())).sum(axis=0)
    mu = (tot[0] - tot[1]) / 1200
    assert p.doc["n_units"] == 1200 and p.doc["diluted_margin"] == pytest.approx(mu)
    assert p.doc["sample_size"] == supersimple.sample_size(0.05, mu, 1200)            # Arlo's formula
    assert p.doc["commitment"]["cvr_sha256"] == p.doc["cvr"]["sha256"]
    s = go("audit", "sample", "--source", "auth", "--seed", "2718").doc
    drawn = s["sample"]
    assert all(b.startswith("B") for b in drawn) and s["ballots"][0]["table"]
    rec = go("audit", "record", _mvr(tmp / "m.csv", [(b, marks[b]) for b in dict.fromkeys(drawn)]), "--source", "auth")
    assert rec.exit_code == 0, rec.stderr
    n = len(drawn)
    assert rec.doc["risk"] == pytest.approx(supersimple.p_value(n, mu), rel=1e-9)       # rlacalc KM_P_value
    assert rec.doc["verdict"] == "confirmed"


def test_comparison_records_per_ballot_discrepancies(election):
    go, marks, tmp = election
    assert go("audit", "plan", "--source", "auth", "--method", "comparison", "--cvr", tmp / "cvr.csv").exit_code == 0
    drawn = go("audit", "sample", "--source", "auth", "--seed", "31", "--size", "20").doc["sample"]
    first = next(b for b in drawn if marks[b] == (1, 0))
    rows = [(b, marks[b]) for b in dict.fromkeys(drawn) if b != first] + [(first, (0, 1))]   # a 2-vote overstatement
    rec = go("audit", "record", _mvr(tmp / "m.csv", rows), "--source", "auth").doc
    d = next(x for x in rec["discrepancies"] if x["unit"] == first)
    assert d["reported"] == {"A": 1, "B": 0} and d["audited"] == {"A": 0, "B": 1}
    assert d["discrepant"] and d["overstatement"] > 0
    assert rec["verdict"] != "confirmed"
    bad = go("audit", "record", _mvr(tmp / "x.csv", [("B99999", (1, 0))]), "--source", "auth")
    assert bad.exit_code == 2 and "not drawn" in bad.stderr
    # the CVR file may not change under a running audit
    (tmp / "cvr.csv").write_text((tmp / "cvr.csv").read_text().replace("B00001,0,1,0", "B00001,0,0,1"))
    changed = go("audit", "status", "--source", "auth")
    assert changed.exit_code == 2 and "changed since" in changed.stderr


def test_cvrs_with_another_outcome_are_refused(election):
    go, marks, tmp = election
    text = (tmp / "cvr.csv").read_text().splitlines()
    flipped = [text[0]] + [",".join(r.split(",")[:2] + r.split(",")[2:][::-1]) for r in text[1:]]
    (tmp / "flip.csv").write_text("\n".join(flipped) + "\n")
    res = go("audit", "plan", "--source", "auth", "--method", "comparison", "--cvr", tmp / "flip.csv")
    assert res.exit_code == 2 and "must be the reported one" in res.stderr
    assert go("audit", "plan", "--source", "auth", "--method", "comparison").exit_code == 2   # --cvr needed
