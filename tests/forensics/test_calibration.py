"""Calibrated nulls of second_digit and dip: known values and false-positive rates on clean simulations.

Sources: Mebane (2006) for the 2BL statistic; Deckert, Myagkov & Ordeshook (2011, Political Analysis
19(3): 245-268) for honest counts departing from Benford's law; Hartigan & Hartigan (1985) for the dip.
"""

import numpy as np
import pytest
from scipy import stats

from voteaudit.forensics.digits import run_second_digit, second_digit_counts, second_digits
from voteaudit.forensics.dip import MAX_TEST_N, dip_test, run_dip
from voteaudit.forensics.honest import honest_model
from voteaudit.forensics.inputs import counts
from voteaudit.simulate import simulate


def test_second_digit_counts_match_digit_extraction():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(0, 2000, 5000), [10, 99, 100, 99_999, 100_000, 1_234_567]])
    big = x[x >= 10]
    assert second_digit_counts(x).tolist() == np.bincount(second_digits(big), minlength=10).tolist()


def test_honest_model_recovers_group_means_and_spread():
    rng = np.random.default_rng(1)
    n = rng.integers(200, 800, 200_000)
    g = rng.integers(0, 50, n.size)
    mean = rng.uniform(0.2, 0.6, 50)
    # pure binomial counts: tau ~ 0; logit-normal spread 0.2: tau ~ 0.2 (method of moments, delta method)
    x0 = rng.binomial(n, mean[g])
    m0 = honest_model(x0, n, g)
    assert m0.tau < 0.03
    assert np.allclose(np.unique(m0.p_group.round(2)), np.unique(mean.round(2)), atol=0.011)
    z = np.log(mean[g] / (1 - mean[g])) + 0.2 * rng.standard_normal(n.size)
    x1 = rng.binomial(n, 1 / (1 + np.exp(-z)))
    assert honest_model(x1, n, g).tau == pytest.approx(0.2, abs=0.02)
    assert honest_model(x1, n, g, robust=True).tau == pytest.approx(0.2, abs=0.03)


def test_honest_counts_fail_benford_but_pass_calibrated_null():
    # Deckert et al. (2011): honest binomial counts are not Benford-distributed; the textbook p-value
    # rejects, the honest-noise p-value does not.
    res = run_second_digit(counts(simulate(5000, seed=11).matrix), alpha=0.05, seed=0, level="national")
    assert min(r.details["p_benford"] for r in res) < 1e-4
    assert all(r.p_value > 0.005 for r in res)
    assert all(r.details["null"].startswith("honest") for r in res)


def test_second_digit_calibrated_null_flags_invented_counts():
    res = run_second_digit(counts(simulate(5000, fraud={"invented": 0.3}, seed=11).matrix), alpha=0.05,
                           seed=0, level="national")
    assert min(r.p_value for r in res) < 1e-3


def test_dip_large_n_subsample_reports_full_d_and_stays_calibrated():
    e = simulate(MAX_TEST_N + 5000, seed=3)
    res = run_dip(counts(e.matrix), alpha=0.05, seed=0, level="national")
    for r in res:
        assert r.details["subsample"] == MAX_TEST_N and r.details["D"] == r.statistic
        assert r.p_value > 0.005  # the uniform table saturates / discreteness; the bootstrap does not
    # planted second mode: 3 % of tables at ~100 % turnout and leader share
    bad = run_dip(counts(simulate(5000, fraud={"klimek_extreme": 0.05}, seed=3).matrix), alpha=0.05,
                  seed=0, level="national")
    assert all(r.flagged for r in bad)


def test_dip_without_counts_keeps_textbook_table():
    rng = np.random.default_rng(1)
    r = dip_test(rng.uniform(size=500), target="x")
    assert r.details["null"].startswith("uniform") and r.p_value == r.details["p_uniform_table"]


@pytest.mark.slow
def test_calibrated_p_values_are_uniform_on_clean_simulations():
    """False-positive rate check that can fail both ways: p-values of every target over 16 clean
    simulations must look uniform (KS p > 0.001) and fire at most 3 / 16 times at alpha 0.05."""
    p_sd, p_dip, fired = [], [], {"second_digit": 0, "dip": 0}
    sims = 16
    for s in range(sims):
        c = counts(simulate(2000, seed=500 + s).matrix)
        sd = run_second_digit(c, alpha=0.05, seed=s, level="national")
        dp = run_dip(c, alpha=0.05, seed=s, level="national")
        p_sd += [r.p_value for r in sd]
        p_dip += [r.p_value for r in dp]
        fired["second_digit"] += any(r.p_value < 0.05 / len(sd) for r in sd)  # Bonferroni ~ Holm's min
        fired["dip"] += any(r.p_value < 0.05 / len(dp) for r in dp)
    assert stats.kstest(p_sd, "uniform").pvalue > 0.001, sorted(p_sd)
    # the dip's bootstrap p-values are discrete (B = 199): compare with a slightly shifted uniform
    assert stats.kstest(np.asarray(p_dip) - 0.5 / 200, "uniform").pvalue > 0.001, sorted(p_dip)
    assert fired["second_digit"] <= 3 and fired["dip"] <= 3, fired
