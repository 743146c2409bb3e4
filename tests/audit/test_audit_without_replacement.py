"""Sampling without replacement and SHANGRLA's finite-population ALPHA.

The engine's finite-N null mean and estimator are checked against pbstark/SHANGRLA
(tests/core/test_NonnegMean.py, commit 9d5db92e) in test_audit_alpha.py; here: the distinct-ballot
sampler, the finite-N comparison P-value by hand, the error-free sample size, and simulated risk.
"""

import math

import numpy as np
import pytest

from voteaudit import audit
from voteaudit.audit import alpha, build_contest, sampler
from voteaudit.audit.martingale import optimal_comparison
from voteaudit.audit.simulation import confirm_rate


def test_distinct_sampler_skips_repeats_and_continues_rounds():
    ballots = np.array([3, 2, 4])          # 9 ballots: repeats are frequent
    idx, pos = sampler.draw_ballots_distinct("seed", ballots, 9)
    cum = np.concatenate([[0], np.cumsum(ballots)])
    flat = cum[idx] + pos - 1
    assert sorted(flat.tolist()) == list(range(9))          # every ballot exactly once
    # the same tickets as with replacement, repeats skipped
    raw = [sampler.ticket("seed", i) % 9 for i in range(1, 200)]
    assert flat.tolist() == list(dict.fromkeys(raw))[:9]
    i2, p2 = sampler.draw_ballots_distinct("seed", ballots, 4, start=5)
    assert (cum[i2] + p2 - 1).tolist() == flat[5:].tolist()
    with pytest.raises(ValueError, match="count them all"):
        sampler.draw_ballots_distinct("seed", ballots, 10)


def ballot_level(N, margin):
    w = int(N * (0.5 + margin / 2))
    v = np.zeros((N, 2), dtype=np.int64)
    v[:w, 0] = 1
    v[w:, 1] = 1
    return np.array([f"b{i}" for i in range(N)]), v, np.ones(N, dtype=np.int64)


def test_finite_population_p_value_by_hand():
    ids, v, b = ballot_level(200, 0.2)
    c = build_contest(v, ["A", "B"], b)
    vm, u = alpha.assorter_margins(c)
    b0, uB = 1 / (2 - vm[0] / u[0]), 2 / (2 - vm[0] / u[0])
    x = np.array([b0, b0, 0.0, b0, b0, b0])                 # one two-vote overstatement
    eta0, N = optimal_comparison(uB, alpha.P2), 200
    T, S, best = 1.0, 0.0, 1.0
    for j, xi in enumerate(x, start=1):     # ALPHA paper eq. (3)-(4), finite N; constant eta as SHANGRLA's
        m = (N * 0.5 - S) / (N - j + 1)     # optimal_comparison (shangrla/core/NonnegMean.py)
        T *= (xi * eta0 / m + (uB - xi) * (uB - eta0) / (uB - m)) / uB
        S += xi
        best = max(best, T)
    got = alpha.risks(c, x[:, None], N=N)[0]
    assert got == pytest.approx(min(1.0, 1 / best), rel=1e-9) and got < 1
    assert got < alpha.risks(c, x[:, None])[0]              # without replacement learns more per draw


def test_fewer_ballots_without_replacement():
    for N, margin in ((500, 0.1), (1000, 0.1)):
        ids, v, b = ballot_level(N, margin)
        with_r = audit.plan("alpha", ids, v, ["A", "B"], b, risk_limit=0.05)
        without = audit.plan("alpha", ids, v, ["A", "B"], b, risk_limit=0.05, replacement=False)
        assert without.sample_size < with_r.sample_size
        c = build_contest(v, ["A", "B"], b)
        vm, u = alpha.assorter_margins(c)
        b0 = 1 / (2 - vm[0] / u[0])
        n = without.sample_size     # the error-free sequence reaches the limit exactly there
        assert alpha.risks(c, np.full((n, 1), b0), N=N)[0] <= 0.05 < alpha.risks(c, np.full((n - 1, 1), b0), N=N)[0]


def test_other_methods_refuse():
    ids, v, b = ballot_level(100, 0.2)
    for method in ("macro", "supersimple", "bravo", "minerva"):
        with pytest.raises(ValueError, match="without-replacement"):
            audit.plan(method, ids, v, ["A", "B"], b, risk_limit=0.05, replacement=False)


def test_wrong_outcome_rarely_confirmed_without_replacement():
    # 400 ballots, A reported 212-188 but B really won 204-196: 16 ballots misreported A for B
    ids, true, b = ballot_level(400, -0.02)
    rep = true.copy()
    flip = np.flatnonzero(true[:, 1] == 1)[:16]
    rep[flip] = [1, 0]
    assert rep[:, 0].sum() > rep[:, 1].sum()
    rate = confirm_rate("alpha", rep, true, b, risk_limit=0.1, reps=400, max_draws=400, replacement=False)
    assert rate <= 0.1 + 3 * math.sqrt(0.1 * 0.9 / 400)
