"""Klimek fingerprint fit recovers planted extreme fraud; dip test matches R diptest textbook values."""

import numpy as np
import pytest

from voteaudit.forensics.dip import dip, dip_test
from voteaudit.forensics.fingerprint import run_fingerprint
from voteaudit.forensics.inputs import counts
from voteaudit.simulate import simulate


@pytest.mark.parametrize("f_e", [0.03, 0.06])
def test_fingerprint_recovers_planted_extreme_fraud(f_e):
    e = simulate(20000, fraud={"klimek_extreme": f_e}, seed=2)
    r = run_fingerprint(counts(e.matrix), alpha=0.05, seed=0, level="national")[0]
    assert abs(r.details["f_e"] - f_e) <= 0.015
    assert r.flagged


def test_fingerprint_clean_election_fits_no_extreme_fraud():
    r = run_fingerprint(counts(simulate(20000, seed=5).matrix), alpha=0.05, seed=0, level="national")[0]
    assert r.details["f_e"] <= 0.005 and not r.flagged


def test_dip_textbook_values():
    # Hartigan & Hartigan (1985): D >= 1/(2n), attained by an evenly spaced sample (R: dip(1:100) = 0.005)
    assert dip(np.arange(100.0))[0] == pytest.approx(0.005)
    # the largest possible dip, 1/4, for two equal point masses; p-value ~ 0
    d, p = dip(np.r_[np.zeros(50), np.ones(50)])
    assert d == pytest.approx(0.25) and p < 1e-3
    rng = np.random.default_rng(1)
    assert not dip_test(rng.uniform(size=500), target="x").flagged
    assert dip_test(np.r_[rng.normal(0, 1, 500), rng.normal(5, 1, 500)], target="x").flagged
