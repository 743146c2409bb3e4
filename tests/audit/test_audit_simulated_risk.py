"""Ballot polling (BRAVO, Minerva) confirms a wrong outcome close to the margin at most at the risk limit.

Small version of bench/simulate_audits.py (the full run: 1,000 audits per method and risk limit)."""

import math

import numpy as np
import pytest

from voteaudit.audit.simulation import confirm_rate


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bravo", "minerva"])
def test_polling_wrong_outcome(method):
    rep = np.tile([55, 43], (40, 1))              # reported A 55 % / B 43 %
    true = np.tile([49, 49], (40, 1))
    true[:20] = [48, 50]                         # truth: B 49.5 % / A 48.5 %
    reps = 300
    rate = confirm_rate(method, rep, true, np.full(40, 100), risk_limit=0.1, reps=reps, max_draws=4000, seed=7)
    assert rate <= 0.1 + 3 * math.sqrt(0.1 * 0.9 / reps)
    right = confirm_rate(method, rep, rep, np.full(40, 100), risk_limit=0.1, reps=100, max_draws=4000, seed=8)
    assert right > 0.8                           # and a right outcome is usually confirmed
