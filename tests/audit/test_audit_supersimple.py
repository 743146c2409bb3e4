"""Super-simple (Kaplan–Markov with gamma) against Arlo and rlacalc.

References: votingworks/arlo, server/tests/audit_math/test_supersimple.py (true_sample_sizes,
o1_stopping_size, o2_stopping_size, expected_p_values, test_snapshot_test p = 0.1201733; risk limit
10 %); nealmcb/rlacalc, src/rlacalc/__init__.py doctests (nmin, KM_Expected_sample_size, KM_P_value).
"""

import math

import numpy as np
import pytest

from voteaudit import audit
from voteaudit.audit import supersimple as ss

ALPHA = 0.1
# Arlo contests: (winner, loser, ballots) -> diluted margin; the two-winner contest 600/300 vs 100
CONTESTS = {"A": (60000, 40000, 100000), "B": (30000, 24000, 60000), "C": (18000, 12600, 36000),
            "D": (8000, 6000, 15000), "E": (10000, 0, 10000), "F": (10, 4, 15), "2w": (300, 100, 1000)}
SIZES = {"A": 27, "B": 54, "C": 36, "D": 40, "E": 6, "F": 14, "2w": 27}
O1_STOP = {"A": 38, "B": 76, "C": 51, "D": 57, "E": 7, "F": 15, "2w": 38}
O2_STOP = {"A": 100000, "B": 60000, "C": 36000, "D": 15000, "E": 33, "F": 15, "2w": 1000}
P_NONE = {"A": 0.06507, "B": 0.06973, "C": 0.06740, "D": 0.07048, "E": 0.01950, "F": 0.05013, "2w": 0.06508}
P_O1 = {"A": 0.12534, "B": 0.13441, "C": 0.12992, "D": 0.13585, "E": 0.03758, "2w": 0.12534}
P_O2 = {"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0, "E": 0.51877, "2w": 1.0}


def margin(name):
    w, lo, n = CONTESTS[name]
    return (w - lo) / n


@pytest.mark.parametrize("name", list(CONTESTS))
def test_arlo_sample_sizes(name):
    n = ss.sample_size(ALPHA, margin(name), CONTESTS[name][2])
    assert n == SIZES[name]
    assert ss.sample_size(ALPHA, margin(name), CONTESTS[name][2], sampled=n) == 0
    assert ss.sample_size(ALPHA, margin(name), CONTESTS[name][2], sampled=n, o1=1) == O1_STOP[name] - n
    assert ss.sample_size(ALPHA, margin(name), CONTESTS[name][2], sampled=n, o2=1) == O2_STOP[name] - n


@pytest.mark.parametrize("name", list(CONTESTS))
def test_arlo_p_values(name):
    n, mu = SIZES[name], margin(name)
    p = ss.p_value(n, mu)
    assert p == pytest.approx(P_NONE[name], abs=1e-3)
    if name in P_O1:  # one ballot of the n replaced by a 1-vote / 2-vote overstatement
        assert min(1.0, ss.p_value(n, mu, o1=1)) == pytest.approx(P_O1[name], abs=1e-3)
        assert min(1.0, ss.p_value(n, mu, o2=1)) == pytest.approx(P_O2[name], abs=1e-3)


def test_batch_form_reduces_to_ballots_two_winner():
    """Arlo's two-winner contest as 1000 one-ballot tables through the facade."""
    votes = np.zeros((1000, 3), dtype=np.int64)
    votes[:300, 1] = 1
    votes[300:900, 0] = 1
    votes[900:, 2] = 1
    ids = np.array([f"ballot-{i}" for i in range(1000)])
    ballots = np.ones(1000, dtype=np.int64)
    cands = ["winner1", "winner2", "loser"]
    plan = audit.plan("supersimple", ids, votes, cands, ballots, risk_limit=ALPHA, winners=2)
    assert plan.sample_size == 27 and plan.diluted_margin == pytest.approx(0.2)
    drawn = [f"ballot-{i}" for i in range(27)]
    aud = {u: votes[int(u.split("-")[1])] for u in drawn}
    st = audit.measure("supersimple", ids, votes, cands, ballots, risk_limit=ALPHA, sampled_ids=drawn,
                       audited_votes=aud, winners=2)
    assert st.risk == pytest.approx(0.06508, abs=1e-3) and st.verdict == "confirmed"
    aud["ballot-0"] = np.array([0, 0, 0])                      # reported winner2, really blank
    st = audit.measure("supersimple", ids, votes, cands, ballots, risk_limit=ALPHA, sampled_ids=drawn,
                       audited_votes=aud, winners=2)
    assert st.risk == pytest.approx(0.12534, abs=1e-3) and st.verdict == "escalate"
    assert st.discrepancies[0]["reported"] == {"winner1": 0, "winner2": 1, "loser": 0}
    assert list(st.discrepancies[0])[:4] == ["unit", "times_drawn", "reported", "audited"]


def test_arlo_snapshot_jonah():
    """Arlo test_snapshot_test: 16-10 of 26 ballots, 18 ballots audited: p = 0.1201733.

    In Arlo's fixture the audited record aliases the CVR, so its "two blank ballots" edit changes both
    and no discrepancy is counted: 0.1201733 = (1 - mu / 2 gamma)^18. With two real one-vote
    overstatements the P-value is that divided by (1 - 1 / 2 gamma)^2.
    """
    votes = np.array([[1, 0]] * 16 + [[0, 1]] * 10)
    ids = np.array([f"ballot-{i}" for i in range(26)])
    drawn = [f"ballot-{i}" for i in range(18)]
    aud = {u: votes[int(u.split("-")[1])] for u in drawn}
    kw = dict(risk_limit=ALPHA, sampled_ids=drawn)
    st = audit.measure("supersimple", ids, votes, ["winner", "loser"], np.ones(26), audited_votes=aud, **kw)
    assert st.risk == pytest.approx(0.1201733, abs=1e-4)
    assert st.verdict != "confirmed"
    aud["ballot-0"] = aud["ballot-1"] = np.array([0, 0])
    st = audit.measure("supersimple", ids, votes, ["winner", "loser"], np.ones(26), audited_votes=aud, **kw)
    assert st.risk == pytest.approx(0.1201733 / (1 - 1 / (2 * ss.GAMMA)) ** 2, rel=1e-4)
    assert sum(d["discrepant"] for d in st.discrepancies) == 2


def test_rlacalc_values():
    assert ss.nmin(0.1, 0.2) == 24
    assert ss.nmin(0.1, 0.1) == 48
    assert ss.nmin(0.1, 0.002) == 2393
    assert ss.nmin(0.1, 0.05, o1=1) == 123
    assert ss.nmin(0.1, 0.005, o1=1, u1=1) == 1067
    assert ss.nmin(0.1, 0.05) == 96
    assert ss.nmin(0.2, 0.05) == 67
    nh = (354040 - 337589) / (354040 + 337589 + 33234)        # New Hampshire 2016
    assert ss.expected_sample_size(0.05, 0.05, 0.001, 0, 0.001, 0) == 125
    assert ss.expected_sample_size(0.05, nh, 0.001, 0, 0, 0) == 291
    assert ss.expected_sample_size(0.05, 0.05, 0, 0, 0, 0.05) == 52
    assert math.isnan(ss.expected_sample_size(0.05, 0.05, 0.05, 0, 0, 0))
    assert ss.p_value(200, nh, o1=1) == pytest.approx(0.21438135077031842, rel=1e-12)


def test_methods_md_formula():
    g = ss.GAMMA
    n = math.ceil(-2 * g * (math.log(0.05) + 2 * math.log(1 - 1 / (2 * g)) + math.log(1 + 1 / g)) / 0.03)
    assert ss.nmin(0.05, 0.03, o1=2, u2=1) == n
