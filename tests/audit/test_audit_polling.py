"""ALPHA ballot polling (SHANGRLA assorters, shrink-truncate), with and without replacement.

The engine (alpha_mart, shrink_trunc) is checked against pbstark/SHANGRLA tests/core/test_NonnegMean.py
(commit 9d5db92e) in test_audit_alpha.py. Here: the polling assorter, the P-value from drawn ballots,
smaller samples without replacement, and the risk limit by simulation.
"""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from voteaudit import audit
from voteaudit.audit import build_contest, polling
from voteaudit.audit.martingale import alpha_mart, shrink_trunc
from voteaudit.cli import app


def two_tables(N, margin):
    w = int(N * (0.5 + margin / 2))
    v = np.array([[w // 2, (N - w) // 2], [w - w // 2, (N - w) - (N - w) // 2]])
    return np.array(["t0", "t1"]), v, v.sum(axis=1)


def test_assorter_and_p_value():
    c = build_contest(np.array([600, 350, 50]), ["A", "B", "C"], 1000)
    marks = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert polling.values(c, marks)[:, 0].tolist() == [1.0, 0.0, 0.5, 0.5]      # A > B: 1 / 0 / 1/2
    x = np.array([1, 1, 0, 1, 0.5, 1, 1, 1, 0, 1] * 3, dtype=float)
    eta0 = 0.5 + (600 - 350) / 2000                                             # reported mean of the assorter
    want = alpha_mart(x, t=0.5, u=1.0, N=1000.0, eta=eta0, estim=shrink_trunc, d=100.0, c=(eta0 - 0.5) / 2)[0]
    got = polling.risks(c, np.column_stack([x, np.ones_like(x)]), N=1000)[0]
    assert got == pytest.approx(want) and 0 < got < 1


def test_fewer_ballots_without_replacement():
    for N in (1000, 3000):
        ids, v, b = two_tables(N, 0.1)
        with_r = audit.plan("polling", ids, v, ["A", "B"], b, risk_limit=0.05).sample_size
        without = audit.plan("polling", ids, v, ["A", "B"], b, risk_limit=0.05, replacement=False).sample_size
        assert without < 0.9 * with_r          # issue 17: 10-18 % fewer on contests of 500-3,000 cards


@pytest.mark.parametrize("replacement", [True, False])
def test_wrong_outcome_rarely_confirmed(replacement):
    from voteaudit.audit.simulation import confirm_rate

    rep = np.tile([55, 43], (40, 1))              # reported A 55 % / B 43 %
    true = np.tile([49, 49], (40, 1))
    true[:20] = [48, 50]                         # truth: B 49.5 % / A 48.5 %
    rate = confirm_rate("polling", rep, true, np.full(40, 100), risk_limit=0.1, reps=300, max_draws=4000, seed=5,
                        replacement=replacement)
    assert rate <= 0.1 + 3 * math.sqrt(0.1 * 0.9 / 300)
    c = build_contest(np.array([1100, 900]), ["A", "B"], 2000)
    assert polling.risks(c, np.ones((40, 1)), N=2000)[0] < 0.1                      # 40 ballots for A do confirm


def test_polling_through_the_cli(tmp_path):
    rows = ["table,ballots,A,B"] + [f"{i},100,{56 + i % 3},{42 - i % 3}" for i in range(30)]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    db, runner = str(tmp_path / "s.duckdb"), CliRunner()

    def go(*args):
        res = runner.invoke(app, [str(a) for a in args] + ["--db", db, "--json"], catch_exceptions=False)
        res.doc = json.loads(res.stdout) if res.exit_code == 0 else None
        return res

    go("ingest", tmp_path / "r.csv", "--source", "s", "--kind", "official", "--unit", "table", "--cast", "ballots",
       "--candidate", "A", "--candidate", "B")
    p = go("audit", "plan", "--source", "s", "--method", "polling", "--without-replacement", "--risk-limit", "10").doc
    assert p["replacement"] is False and 0 < p["sample_size"] < 3000
    drawn = go("audit", "sample", "--source", "s", "--seed", "99").doc["sample"]
    assert len(set(drawn)) == len(drawn) and all("#" in d for d in drawn)          # distinct ballots TABLE#POS
    recs = "ballot_id,A,B\n" + "".join(f"{d},1,0\n" for d in drawn)                 # every one for A
    (tmp_path / "m.csv").write_text(recs, encoding="utf-8")
    rec = go("audit", "record", tmp_path / "m.csv", "--source", "s")
    assert rec.exit_code == 0, rec.stderr
    assert rec.doc["verdict"] == "confirmed" and rec.doc["risk"] <= 0.1
