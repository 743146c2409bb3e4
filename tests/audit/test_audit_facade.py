"""Facade, outcomes with thresholds/runoffs, verdicts, and simulated risk (>= 1,000 audits each)."""

import json

import numpy as np
import pytest

from voteaudit import audit
from voteaudit.audit import build_contest
from voteaudit.audit.simulation import confirm_rate

CANDS = ["A", "B", "C"]


def flipped_election(n=300, size=300, seed=11):
    """True: B wins by about 1 %; reported: votes moved B -> A in a tenth of the tables, A 'wins' by ~1 %."""
    rng = np.random.default_rng(seed)
    b = rng.integers(size - 50, size + 50, n)
    blank = rng.binomial(b, 0.02)
    a = rng.binomial(b - blank, 0.495)
    true = np.column_stack([a, b - blank - a, blank])
    rep = true.copy()
    altered = rng.choice(n, n // 10, replace=False)
    gap = true[:, 1].sum() - true[:, 0].sum() + 0.01 * b.sum()     # reported A leads by ~1 %
    move = np.minimum(true[altered, 1], int(np.ceil(gap / 2 / len(altered))))
    rep[altered, 0] += move
    rep[altered, 1] -= move
    assert rep[:, 0].sum() > rep[:, 1].sum() and true[:, 0].sum() < true[:, 1].sum()
    return rep, true, b


def clean_election(n=300, lead=0.56, seed=13):
    """Correctly reported: A about 56 %, B 42 %, C (blank/other) 2 %."""
    rng = np.random.default_rng(seed)
    b = rng.integers(250, 350, n)
    blank = rng.binomial(b, 0.02)
    a = rng.binomial(b - blank, lead / 0.98)
    return np.column_stack([a, b - blank - a, blank]), b


@pytest.mark.parametrize("method", ["macro", "supersimple", "alpha"])
def test_simulated_risk_comparison(method):
    rep, true, b = flipped_election()
    wrong = confirm_rate(method, rep, true, b, risk_limit=0.1, reps=1000, max_draws=len(b), seed=1)
    good, b2 = clean_election()
    right = confirm_rate(method, good, good, b2, risk_limit=0.1, reps=1000, max_draws=len(b2), seed=2)
    assert wrong <= 0.1 + 3 * (0.1 * 0.9 / 1000) ** 0.5
    assert right >= 0.95


def test_simulated_risk_bravo():
    rep, true, b = flipped_election(n=40, size=100, seed=5)
    N = int(b.sum())
    wrong = confirm_rate("bravo", rep, true, b, risk_limit=0.1, reps=1000, max_draws=N, seed=3)
    assert wrong <= 0.1 + 3 * (0.1 * 0.9 / 1000) ** 0.5
    big = np.column_stack([np.full(40, 60), np.full(40, 38), np.full(40, 2)])
    right = confirm_rate("bravo", big, big, np.full(40, 100), risk_limit=0.1, reps=1000, max_draws=N, seed=4)
    assert right >= 0.95


def test_threshold_and_runoff_outcomes():
    totals = np.array([5200, 3000, 1800])
    c = build_contest(totals, CANDS, 10500, threshold=0.5)
    assert c.outcome == "threshold" and c.winners == [0]
    assert c.margins[0] > 0 and len(c.assertions) == 1
    c = build_contest(totals, CANDS, 10500, threshold=0.4)
    assert c.outcome == "threshold" and [a.label for a in c.assertions][1:] == ["A > B", "A > C"]
    c = build_contest(np.array([4500, 3500, 2000]), CANDS, 10500, threshold=0.5)
    assert c.outcome == "runoff" and sorted(c.winners) == [0, 1]
    assert np.all(c.margins > 0)
    labels = c.pair_labels()
    assert "A > C" in labels and "B > C" in labels and "A share < 0.5" in labels


def test_threshold_plan_and_measure_all_methods():
    rng = np.random.default_rng(8)
    n = 200
    b = rng.integers(200, 300, n)
    a = rng.binomial(b, 0.58)
    votes = np.column_stack([a, (b - a) // 2, b - a - (b - a) // 2])
    ids = np.array([f"m{i}" for i in range(n)])
    for method in audit.METHODS:
        if method == "minerva":     # pairs only: refused, not silently audited as a plurality
            with pytest.raises(ValueError, match="bravo"):
                audit.plan(method, ids, votes, CANDS, b, risk_limit=0.05, threshold=0.5)
            continue
        plan = audit.plan(method, ids, votes, CANDS, b, risk_limit=0.05, threshold=0.5)
        json.dumps(plan.to_dict())
        assert plan.outcome == "threshold" and plan.sample_size > 0 and not plan.full_hand_count


def test_verdicts_full_count_and_pending():
    ids = np.array([f"t{i}" for i in range(4)])
    votes = np.array([[60, 40], [55, 45], [70, 30], [50, 40]])
    b = np.array([100, 100, 100, 90])
    drawn = list(ids)
    aud = {u: votes[i] for i, u in enumerate(ids)}
    kw = dict(risk_limit=0.05, sampled_ids=drawn)
    st = audit.measure("macro", ids, votes, ["A", "B"], b, audited_votes=aud, **kw)
    assert st.verdict == "confirmed" and st.risk == 0.0 and st.hand_count_outcome == ["A"]
    aud = {u: votes[i][::-1] for i, u in enumerate(ids)}
    st = audit.measure("macro", ids, votes, ["A", "B"], b, audited_votes=aud, **kw)
    assert st.verdict == "overturned" and st.hand_count_outcome == ["B"]
    st = audit.measure("macro", ids, votes, ["A", "B"], b, risk_limit=0.05, sampled_ids=["t0", "t1"],
                       audited_votes={"t0": votes[0]})
    assert st.verdict == "pending" and st.pending == ["t1"]
    json.dumps(st.to_dict())
    with pytest.raises(ValueError, match="not in the source"):
        audit.measure("macro", ids, votes, ["A", "B"], b, risk_limit=0.05, sampled_ids=["zz"],
                      audited_votes={})
    with pytest.raises(ValueError, match="risk limit"):
        audit.plan("macro", ids, votes, ["A", "B"], b, risk_limit=5)
    with pytest.raises(ValueError, match="unknown audit method"):
        audit.plan("lottery", ids, votes, ["A", "B"], b, risk_limit=0.05)


def test_escalation_macro_rounds():
    rep, true, b = flipped_election(n=300, seed=12)
    ids = np.array([f"x{i}" for i in range(300)])
    plan = audit.plan("macro", ids, rep, CANDS, b, risk_limit=0.1)
    drawn = audit.sample("macro", ids, rep, CANDS, b, seed="99", size=plan.sample_size)
    while True:
        aud = {u: true[int(u[1:])] for u in drawn}
        st = audit.measure("macro", ids, rep, CANDS, b, risk_limit=0.1, sampled_ids=drawn, audited_votes=aud)
        if st.verdict != "escalate":
            break
        drawn += audit.sample("macro", ids, rep, CANDS, b, seed="99", size=st.next_round_size,
                              start=len(drawn))
    assert st.verdict in ("full_hand_count", "overturned")
