"""Battery registry, per-area Holm adjustment, outliers, source agreement and a calibration smoke test."""

import numpy as np
import pytest

from voteaudit.forensics import TEST_IDS, run_battery
from voteaudit.forensics.adjust import holm
from voteaudit.forensics.agreement import source_agreement
from voteaudit.forensics.inputs import counts
from voteaudit.forensics.outliers import run_outliers
from voteaudit.simulate import simulate

CONTRACT = ["second_digit", "last_digit", "fingerprint", "integer_percent", "spikes",
            "turnout_share_correlation", "dip", "outliers", "round_percentage", "source_agreement"]
CALIBRATED_IDS = ["second_digit_calibrated", "dip_calibrated", "turnout_share_correlation_calibrated"]


def test_contract_ids_and_result_fields():
    assert sorted(TEST_IDS) == sorted(CONTRACT + CALIBRATED_IDS)
    e = simulate(3000, seed=1)
    res = run_battery(e.matrix, other=e.truth)
    assert {r.test for r in res} == set(CONTRACT + CALIBRATED_IDS)
    for r in res:
        d = r.to_dict()
        assert {"test", "target", "level", "statistic", "p_value", "flagged", "units_flagged"} <= set(d)
        assert r.level == "national" and r.reference and r.interpretation


def test_holm_textbook_example():
    # Holm (1979) procedure by hand: sorted .005 .01 .03 .04 -> x4 x3 x2 x1 -> .02 .03 .06 .04 -> cummax
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([None, 0.5]) == [None, 0.5]


def test_per_region_runs_with_holm():
    e = simulate(6000, regions=4, fraud={"klimek_extreme": 0.05}, seed=3)
    res = run_battery(e.matrix, level="region", tests=["integer_percent", "outliers"])
    areas = {r.details["area"] for r in res}
    assert areas == {"R01", "R02", "R03", "R04"}
    for r in res:
        assert r.level == "region" and r.details["adjustment"] == "holm"
        if r.p_value is not None:
            assert r.p_value >= r.details["p_unadjusted"]
    with pytest.raises(ValueError):
        run_battery(e.matrix, level="planet")


def test_outliers_find_planted_duplicates_and_extremes():
    e = simulate(8000, seed=6)
    m = e.matrix
    clean = {r.target: r for r in run_outliers(counts(m), alpha=0.05, seed=0, level="national")}
    assert not clean["identical vote vectors"].flagged and not clean["turnout >= 95%"].flagged
    # copy 30 sheets onto their neighbours in the same district
    src = np.arange(0, 600, 20)
    m.votes[src + 1] = m.votes[src]
    m.null[src + 1] = m.null[src]
    e2 = simulate(8000, fraud={"klimek_extreme": 0.02}, seed=6)
    res = {r.target: r for r in run_outliers(counts(m), alpha=0.05, seed=0, level="national")}
    assert res["identical vote vectors"].flagged and res["identical vote vectors"].statistic >= 30
    assert m.unit_ids[src[0] + 1] in res["identical vote vectors"].units_flagged
    ext = {r.target: r for r in run_outliers(counts(e2.matrix), alpha=0.05, seed=0, level="national")}
    assert ext["turnout >= 95%"].flagged and ext["candidate share >= 95%"].flagged


def test_source_agreement_counts_and_direction():
    e = simulate(2000, fraud={"switching": 0.05}, seed=8)
    res = source_agreement(e.matrix, e.truth)
    overall = res[0]
    assert overall.details["units_differ"] == int(e.fraudulent.sum())
    assert overall.statistic == pytest.approx(1 - e.fraudulent.mean())
    assert set(overall.units_flagged) == set(e.matrix.unit_ids[e.fraudulent])
    a = res[1]
    assert a.target == "Candidate A" and a.flagged and a.statistic > 0


def test_calibration_smoke_clean_simulations():
    """On clean simulations the calibrated tests rarely fire (expected ~5 % each)."""
    tests = ["last_digit", "integer_percent", "round_percentage", "spikes", "fingerprint", "outliers",
             "turnout_share_correlation"]
    fired = dict.fromkeys(tests, 0)
    sims = 4
    for seed in range(sims):
        res = run_battery(simulate(4000, seed=100 + seed).matrix, tests=tests, seed=seed)
        for t in tests:
            ps = [r.p_value for r in res if r.test == t and r.p_value is not None]
            adj = holm(ps)
            fired[t] += any(p < 0.05 for p in adj)
    assert sum(fired.values()) <= 3, fired
