"""Calibrated nulls: known values and false-positive rates on clean simulations.

Sources: Mebane (2006) for the 2BL statistic; Deckert, Myagkov & Ordeshook (2011, Political Analysis
19(3): 245-268) for honest counts departing from Benford's law; Hartigan & Hartigan (1985) for the dip;
Myagkov, Ordeshook & Shakin (2009) for turnout x share slopes; Tarone (1990) for untestable targets.
Each check can fail both ways: too many firings (anti-conservative) and p-values piled near 1 or
expectations above the observed counts (conservative).
"""

import numpy as np
import pytest
from scipy import stats

from voteaudit.forensics.correlation import run_turnout_share, run_turnout_share_calibrated
from voteaudit.forensics.digits import (
    run_second_digit,
    run_second_digit_calibrated,
    second_digit_counts,
    second_digits,
)
from voteaudit.forensics.dip import MAX_TEST_N, dip_test, run_dip, run_dip_calibrated, table_p_value
from voteaudit.forensics.fingerprint import run_fingerprint
from voteaudit.forensics.honest import honest_model
from voteaudit.forensics.inputs import counts
from voteaudit.forensics.outliers import run_outliers
from voteaudit.forensics.power import fires
from voteaudit.forensics.registry import TESTS, run_battery
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
    c = counts(simulate(5000, seed=11).matrix)
    published = run_second_digit(c, alpha=0.05, seed=0, level="national")
    assert min(r.p_value for r in published) < 1e-4
    res = run_second_digit_calibrated(c, alpha=0.05, seed=0, level="national")
    assert all(r.p_value > 0.005 for r in res)
    assert all(r.details["null"].startswith("honest") for r in res)


def test_second_digit_calibrated_null_flags_invented_counts():
    res = run_second_digit_calibrated(counts(simulate(5000, fraud={"invented": 0.3}, seed=11).matrix),
                                      alpha=0.05, seed=0, level="national")
    assert min(r.p_value for r in res) < 1e-3 and any(r.flagged for r in res)


def test_dip_large_n_subsample_reports_full_d_and_stays_calibrated():
    e = simulate(MAX_TEST_N + 5000, seed=3)
    c = counts(e.matrix)
    res = run_dip_calibrated(c, alpha=0.05, seed=0, level="national")
    for r in res:
        assert r.details["subsample"] == MAX_TEST_N and r.n == MAX_TEST_N
        assert r.p_value > 0.005
    for r in run_dip(c, alpha=0.05, seed=0, level="national"):  # the published test: D of every table
        assert r.n == MAX_TEST_N + 5000 and r.p_value == table_p_value(r.statistic, r.n)
    # planted second mode: 5 % of tables at ~100 % turnout and leader share
    bad = run_dip_calibrated(counts(simulate(5000, fraud={"klimek_extreme": 0.05}, seed=3).matrix), alpha=0.05,
                             seed=0, level="national")
    assert all(r.flagged for r in bad)


def test_dip_without_counts_keeps_textbook_table():
    rng = np.random.default_rng(1)
    r = dip_test(rng.uniform(size=500), target="x")
    assert r.details["null"].startswith("uniform") and r.p_value == table_p_value(r.statistic, 500)


@pytest.mark.slow
def test_calibrated_p_values_are_uniform_on_clean_simulations():
    """False-positive rate check that can fail both ways: p-values of every target over 16 clean
    simulations must look uniform (KS p > 0.001) and fire at most 3 / 16 times at alpha 0.05."""
    p_sd, p_dip, fired = [], [], {"second_digit": 0, "dip": 0}
    sims = 16
    for s in range(sims):
        c = counts(simulate(2000, seed=500 + s).matrix)
        sd = run_second_digit_calibrated(c, alpha=0.05, seed=s, level="national")
        dp = run_dip_calibrated(c, alpha=0.05, seed=s, level="national")
        p_sd += [r.p_value for r in sd]
        p_dip += [r.p_value for r in dp]
        fired["second_digit"] += any(r.p_value < 0.05 / len(sd) for r in sd)  # Bonferroni ~ Holm's min
        fired["dip"] += any(r.p_value < 0.05 / len(dp) for r in dp)
    assert stats.kstest(p_sd, "uniform").pvalue > 0.001, sorted(p_sd)
    # the dip's sequential p-values are discrete (h / L or (1 + g) / (R + 1)): a coarse uniformity check
    assert 0.2 < np.mean(np.asarray(p_dip) < 0.5) < 0.8 and np.mean(np.asarray(p_dip) < 0.05) < 0.2, sorted(p_dip)
    assert fired["second_digit"] <= 3 and fired["dip"] <= 3, fired


# --- turnout x share slopes (Myagkov et al. 2009): honest-noise null instead of "p = 1 inside [0, 1]" ---

def _slope_results(units, sims, seed0, fraud=None):
    return [run_turnout_share_calibrated(counts(simulate(units, fraud=fraud, seed=seed0 + s).matrix),
                                         alpha=0.05, seed=s, level="national") for s in range(sims)]


def test_turnout_share_null_is_standard_normal_on_clean_simulations():
    """z of every candidate over 60 clean elections ~ N(0, 1); p-values uniform (the old bounds test gave
    p = 1 for every slope in [0, 1], i.e. never fired); the test fires (Holm over candidates) rarely."""
    runs = _slope_results(2000, 60, 700)
    z = np.array([r.details["z"] for res in runs for r in res])
    p = np.array([r.p_value for res in runs for r in res])
    assert abs(z.mean()) < 0.25 and 0.85 < z.std() < 1.15, (z.mean(), z.std())
    assert stats.kstest(z, "norm").pvalue > 0.001
    assert stats.kstest(p, "uniform").pvalue > 0.001
    fired = sum(fires(res, "turnout_share_correlation_calibrated", 0.05) for res in runs)
    assert fired <= 9, fired  # Binomial(60, 0.05): P(>= 10) < 0.001
    for s in range(3):  # the published bounds test: honest slopes lie inside [0, 1], p = 1
        for r in run_turnout_share(counts(simulate(2000, seed=700 + s).matrix), alpha=0.05, seed=s,
                                   level="national"):
            assert 0 <= r.statistic <= 1 and r.p_value == 1.0 and not r.flagged


def test_turnout_share_detects_stuffing_in_the_fraud_direction():
    for fraud in ({"stuffing": 0.05}, {"klimek_extreme": 0.01}):
        res = run_turnout_share_calibrated(counts(simulate(2000, fraud=fraud, seed=4).matrix), alpha=0.05,
                                           seed=0, level="national")
        lead = next(r for r in res if r.details["leader"])
        assert lead.details["tail"] == "upper" and lead.flagged and lead.effect["value"] >= 0.05, fraud
        assert all(r.details["tail"] == "lower" for r in res if not r.details["leader"])


# --- outliers: exact expectations, untestable targets left out of the family ---

def test_outlier_expectations_match_clean_simulations_and_inert_targets_are_untested():
    obs = lam = 0.0
    fired = 0
    for s in range(40):
        res = {r.target: r for r in run_outliers(counts(simulate(2000, seed=800 + s).matrix), alpha=0.05,
                                                 seed=0, level="national")}
        rc = res["round counts"]
        obs += rc.details["observed"]
        lam += rc.details["expected"]
        for kind in ("turnout >= 95%", "candidate share >= 95%"):
            if res[kind].details["observed"] == 0:  # nothing seen, ~nothing expected: not in the family
                assert res[kind].p_value is None and res[kind].details["tested"] is False
        fired += fires(list(res.values()), "outliers", 0.05)
    # round counts: Poisson expectation right to within 4 sd (a conservative lambda would fail)
    assert abs(obs - lam) < 4 * np.sqrt(lam), (obs, lam)
    assert fired <= 7, fired  # Binomial(40, 0.05): P(>= 8) < 0.001


@pytest.mark.parametrize("tables", [1, 3])
def test_outlier_manufactured_tables_are_tested_and_flagged_when_material(tables):
    e = simulate(2000, seed=9)
    m = e.matrix
    for i in range(5, 5 + tables):
        m.votes[i] = 0
        m.votes[i, 0] = m.registered[i] - m.null[i]  # 100 % turnout, all for one candidate
        m.valid[i] = m.votes[i].sum()
        m.cast[i] = m.registered[i]
    res = {r.target: r for r in run_outliers(counts(m), alpha=0.05, seed=0, level="national")}
    for kind in ("turnout >= 95%", "candidate share >= 95%"):
        r = res[kind]
        assert r.details["tested"] and r.significant and m.unit_ids[5] in r.units_flagged
        # materiality 0.1 % of tables: one table of 2,000 is significant but not material; three are
        assert r.flagged is (tables == 3) and r.effect["count"] == pytest.approx(tables, abs=0.01)


def test_duplicate_pairs_untestable_below_tarone_bound():
    for k in (2, 3):  # (1/3)^2 = 0.11 >= alpha: cannot be significant, untested; (1/3)^3 = 0.037: tested
        m = simulate(2000, seed=10).matrix
        src = np.arange(0, 20 * k, 20)
        m.votes[src + 1], m.null[src + 1] = m.votes[src], m.null[src]
        r = next(r for r in run_outliers(counts(m), alpha=0.05, seed=0, level="national")
                 if r.target == "identical vote vectors")
        assert r.details["exact_pairs"] == k and r.details["near_miss_pairs"] == 0
        assert r.details["tested"] is (k == 3) and (r.p_value is None) is (k == 2)
        assert r.flagged is (k == 3)


def test_fingerprint_null_is_honest_noise_and_zero_f_e_never_flags():
    r = run_fingerprint(counts(simulate(3000, seed=12).matrix), alpha=0.05, seed=0, level="national")[0]
    assert r.details["null"].startswith("honest")
    if r.details["f_e"] == 0:
        assert r.p_value == 1.0 and not r.flagged
    bad = run_fingerprint(counts(simulate(3000, fraud={"klimek_extreme": 0.02}, seed=12).matrix), alpha=0.05,
                          seed=0, level="national")[0]
    assert bad.flagged and bad.details["f_e"] > 0


@pytest.mark.slow
def test_battery_false_positive_rates_on_clean_simulations():
    """Every test of the battery on 30 clean elections of 1,000 tables: none fires often (each <= 6 / 30;
    Binomial(30, 0.05): P(>= 7) < 0.001), all together fire about 9 x 30 x 0.05 = 13.5 times (>= 3: several
    grossly conservative tests fail this), and every test except the fingerprint (whose f_e sits at 0, p = 1,
    in ~95 % of clean elections) has a smallest Holm p-value below 0.5 in at least 2 elections (an always-1
    p-value, like the old "slope in [0, 1]" test, fails). ``bench/calibrate_forensics.py`` measures the rates
    on 200+ elections."""
    sims = 30
    calibrated = [t for t in TESTS if t not in ("second_digit", "dip")]  # published: honest data not Benford/unimodal
    fired = dict.fromkeys(calibrated, 0)
    below_half = dict.fromkeys(calibrated, 0)
    for s in range(sims):
        res = run_battery(simulate(1000, seed=900 + s).matrix, seed=900 + s)
        for t in calibrated:
            fired[t] += fires(res, t, 0.05)
            below_half[t] += fires(res, t, 0.5, material=False)
    assert all(k <= 6 for k in fired.values()), fired
    assert 3 <= sum(fired.values()) <= 30, fired
    # the fingerprint is not tested below 2,000 tables; the published bounds test has p = 1 inside [0, 1]
    assert all(k >= 2 for t, k in below_half.items()
               if t not in ("fingerprint", "turnout_share_correlation")), below_half
