"""ALPHA / Kaplan–Markov engine against SHANGRLA, and the batch-comparison ALPHA audit.

Reference: pbstark/SHANGRLA, tests/core/test_NonnegMean.py (test_kaplan_markov: 2**-5,
(1.1/.6)**-5 and *6; test_alpha_mart; test_shrink_trunc; test_sample_size: 8 and 14).
"""

import math

import numpy as np
import pytest

from voteaudit import audit
from voteaudit.audit import alpha, martingale


def test_kaplan_markov_shangrla():
    assert martingale.kaplan_markov(np.ones(5), t=0.5)[0] == pytest.approx(2**-5)
    s = np.array([1, 1, 1, 1, 1, 0])
    assert martingale.kaplan_markov(s, t=0.5, g=0.1)[0] == pytest.approx((1.1 / 0.6) ** -5)
    assert martingale.kaplan_markov(s, t=0.5, g=0.1, random_order=False)[0] == pytest.approx(
        (1.1 / 0.6) ** -5 * 0.6 / 0.1)
    with pytest.raises(ValueError):
        martingale.kaplan_markov(np.array([1, -1]))


def test_alpha_mart_shangrla():
    assert martingale.alpha_mart(np.ones(5) / 2, t=0.5, u=1, N=10**6)[0] == pytest.approx(1.0)
    s1 = [1, 0, 1, 1, 0, 0, 1]
    h1 = martingale.alpha_mart(s1, t=3 / 7, u=1, N=7)[1]
    assert not np.any(np.isnan(h1)) and h1[-1] == 0
    h2 = martingale.alpha_mart([1, 0, 1, 1, 0, 0, 0], t=3 / 7, u=1, N=7)[1]
    assert np.array_equal(h1[:-1], h2[:-1])


def test_shrink_trunc_shangrla():
    t, u, d = 0.5, 1.0, 10
    for eta in (0.51, 0.55, 0.6):
        c = (eta - t) / 2
        for x in (np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]), np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0])):
            N = len(x)
            for NN in (math.inf, N):
                got = martingale.shrink_trunc(x, t=t, u=u, eta=eta, N=NN, d=d, c=c)
                want = []
                for j in range(1, N + 1):
                    S = x[: j - 1].sum()
                    m = t if math.isinf(NN) else (N * t - S) / (N - j + 1)
                    tol = c / math.sqrt(d + j - 1)
                    est = (d * eta + S) / (d + j - 1)
                    want.append(min(u * (1 - martingale.EPS) - tol, max(est, m * (1 + martingale.EPS) + tol)))
                assert np.allclose(got, want)


def test_sample_size_shangrla():
    kw = dict(alpha=0.05, N=1000, t=0.5, u=1, eta=0.75, estim=martingale.fixed_alternative_mean)
    assert martingale.sample_size(np.ones(5), **kw) == 8
    assert martingale.sample_size(0.75 * np.ones(5), **kw) == 14


def test_optimal_comparison_near_u():
    assert martingale.optimal_comparison(1.05, 1e-5) == pytest.approx(1.05, abs=1e-3)


def _election(n=400, lead=0.56, seed=3):
    rng = np.random.default_rng(seed)
    b = rng.integers(250, 450, n)
    w = rng.binomial(b - 6, lead)
    votes = np.column_stack([w, b - 6 - w, np.full(n, 6) - 1])
    return np.array([f"T{i:04d}" for i in range(n)]), votes, b


def test_alpha_error_free_size_matches_martingale():
    ids, votes, b = _election()
    contest = audit.build_contest(votes, ["A", "B", "C"], b)
    n = alpha.sample_size(contest, 0.05, 10**6)
    v, u = alpha.assorter_margins(contest)
    j = int(np.argmin(v / u))
    B0 = 1 / (2 - v[j] / u[j])
    uB = 2 * B0
    eta = martingale.optimal_comparison(uB, alpha.P2)
    hist = martingale.alpha_mart(np.full(n, B0), t=0.5, u=uB, eta=eta, estim=martingale.constant_mean)[1]
    assert hist[-1] <= 0.05 < hist[-2]


def test_alpha_measure_clean_and_overstated():
    ids, votes, b = _election()
    cands = ["A", "B", "C"]
    plan = audit.plan("alpha", ids, votes, cands, b, risk_limit=0.05)
    drawn = audit.sample("alpha", ids, votes, cands, b, seed="1234", size=plan.sample_size)
    aud = {u: votes[int(u[1:])] for u in drawn}
    st = audit.measure("alpha", ids, votes, cands, b, risk_limit=0.05, sampled_ids=drawn, audited_votes=aud)
    assert st.verdict == "confirmed" and st.risk <= 0.05
    first = drawn[0]
    aud[first] = votes[int(first[1:])][[1, 0, 2]]            # winner and loser swapped on one sheet
    st = audit.measure("alpha", ids, votes, cands, b, risk_limit=0.05, sampled_ids=drawn, audited_votes=aud)
    assert st.risk > 0.05 and st.verdict in ("escalate", "full_hand_count")
    assert st.next_round_size > 0
