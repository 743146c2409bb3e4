"""Kobak et al. (2016) integer-percentage test: exact null probabilities, planted peaks, quiet when clean."""

import numpy as np
from scipy import stats

from voteaudit.forensics.inputs import counts
from voteaudit.forensics.integer_percent import grid_probability, mc_counts, on_grid, run_integer_percent
from voteaudit.simulate import simulate


def test_on_grid_definition():
    # |100 k/n - round| <= 0.05: 1/3 of 300 is 33.333 % (off), 250/500 is 50 % (on), 1001/2000 = 50.05 % (on)
    assert on_grid(np.array([100, 250, 1001, 1002]), np.array([300, 500, 2000, 2000])).tolist() == [
        False, True, True, False]
    assert on_grid(np.array([300, 301]), np.array([500, 500]), step=5).tolist() == [True, False]


def test_grid_probability_matches_brute_force_binomial():
    n = np.array([500, 437, 1000, 120, 2500, 2000])
    p = np.array([0.64, 0.5, 0.333, 0.9, 0.7, 0.55])
    for step in (1, 5):
        q = grid_probability(n, p, step=step)
        for ni, pi, qi in zip(n, p, q, strict=True):
            k = np.arange(ni + 1)
            exact = stats.binom.pmf(k, ni, pi)[on_grid(k, np.full_like(k, ni), step=step)].sum()
            assert abs(qi - exact) < 1e-5
    # n = 500: every fifth count is an integer percentage -> probability 1/5
    assert abs(grid_probability(np.array([500]), np.array([0.6]))[0] - 0.2) < 1e-6


def test_binned_mc_matches_bernoulli_sum_moments():
    rng = np.random.default_rng(0)
    q = rng.uniform(0.05, 0.25, 50_000)
    mc = mc_counts(q, replicates=2000, rng=rng)
    assert abs(mc.mean() - q.sum()) < 3 * np.sqrt((q * (1 - q)).sum() / 2000) + 1
    assert abs(mc.std() / np.sqrt((q * (1 - q)).sum()) - 1) < 0.08


def test_planted_round_percentages_found_and_clean_quiet():
    clean = run_integer_percent(counts(simulate(20000, seed=4).matrix), alpha=0.05, seed=0, level="national")
    assert all(r.p_value > 0.01 for r in clean)
    fraud = simulate(20000, fraud={"round_percent": 0.03}, seed=4)
    res = run_integer_percent(counts(fraud.matrix), alpha=0.05, seed=0, level="national")
    either = res[2]
    assert either.flagged and either.p_value < 0.01
    assert either.details["excess"] > 100
