"""Election Forensics Toolkit indicators (``voteaudit.forensics.eftoolkit``).

Reference: R package EFToolkit 2.0.0, github.com/kkalininMI/EFToolkit commit ca7b585,
``R/BasicElectionForensics.R`` (definitions), ``R/ColorSignificance.R`` (flag rule), its README figure
``inst/figures/EFT_table.png`` (Albania 2013 turnout rows, our fixture ``tests/data/eftoolkit``); R ``boot``
1.3-31 (github.com/cran/boot, ``R/bootfuns.q``: ``boot.ci``, ``basic.ci``, ``norm.inter``, ``const``).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from voteaudit.forensics import eftoolkit as ef
from voteaudit.model import SourceMatrix, VoteauditError

DATA = Path(__file__).parent.parent / "data" / "eftoolkit"


def matrix(ballots, registered, votes, regions=None, candidates=None) -> SourceMatrix:
    """A one-level-above-table SourceMatrix from plain lists (cast = ballots)."""
    ballots = np.asarray(ballots, dtype=np.int64)
    votes = np.asarray(votes, dtype=np.int64).reshape(ballots.size, -1)
    n = ballots.size
    regions = np.asarray(regions if regions is not None else ["R1"] * n).astype(str)
    ids = np.array([f"{r}.{i}" for i, r in enumerate(regions)])
    minus = np.full(n, -1, np.int64)
    return SourceMatrix(source="s", kind="official", levels=["region", "table"], unit_ids=ids, path=[regions, ids],
                        candidates=candidates or [f"C{j}" for j in range(votes.shape[1])], votes=votes,
                        registered=np.asarray(registered, dtype=np.int64), cast=ballots, valid=minus, null=minus,
                        blank=minus)


def row(table, target, area=None):
    return next(r for r in table.rows if r.target == target and r.area_id == area)


# ---------------------------------------------------------------------------------------------------------
# digits and the count indicators (hand-checked)

def test_digits_of_counts():
    last, second, two = ef.digit_counts(np.array([0, 5, 9, 10, 19, 100, 1234, 100000, 987654321987, -1]))
    assert last.tolist() == [0, 5, 9, 0, 9, 0, 4, 0, 7, 0]
    assert two.tolist() == [False, False, False, True, True, True, True, True, True, False]
    assert second[two].tolist() == [0, 9, 0, 2, 0, 8]


def test_count_indicators_by_hand():
    # ballots 0, 5, 10, 23, 105, 7: LastC over ALL counts (zeros too) = (0+5+0+3+5+7)/6; C05s = 4/6
    # (0, 5, 10, 105 end in 0 or 5); 2BL over counts >= 10 only: second digits of 10, 23, 105 = 0, 3, 0.
    b = [0, 5, 10, 23, 105, 7]
    t = ef.indicator_table(matrix(b, [200] * 6, [[x] for x in b]), replicates=0)
    r = row(t, "turnout").indicators
    assert r["LastC"].value == pytest.approx(20 / 6)
    assert r["C05s"].value == pytest.approx(4 / 6)
    assert r["2BL"].value == pytest.approx(1.0)
    assert r["LastC"].ci_low is None  # no replicates, no interval


def test_p05s_rounds_half_to_even_and_skips_undefined_pct():
    # R's round() is IEC 60559 (half to even): 100 * 21/200 = 10.5 -> 10 (ends in 0); 100 * 9/200 = 4.5 -> 4.
    assert 100 * (21 / 200) == 10.5 and 100 * (9 / 200) == 4.5
    # turnouts: 21/200 (10.5 -> 10: yes), 9/200 (4.5 -> 4: no), 50/200 (25: yes), 33/200 (16.5 -> 16: no),
    # and one unit without registered voters: not a unit "with a defined pct" -> P05s = 2 / 4.
    ballots = [21, 9, 50, 33, 40]
    m = matrix(ballots, [200, 200, 200, 200, -1], [[x] for x in ballots])
    r = row(ef.indicator_table(m, replicates=0), "turnout").indicators
    assert r["P05s"].value == pytest.approx(2 / 4)
    assert r["C05s"].value == pytest.approx(2 / 5)  # counts of every unit: 50, 40 end in 0
    # turnout 203/200 is capped at 1 (100: ends in 0); uncapped it would be 101.5 -> 102 (no)
    over = matrix([203, 33], [200, 200], [[1], [1]])
    assert row(ef.indicator_table(over, replicates=0), "turnout").indicators["P05s"].value == pytest.approx(1 / 2)


def test_candidate_share_is_votes_over_ballots_and_zero_ballots_are_left_out():
    # shares 10/100 = 0.10 (10: yes), 33/100 (33: no), 0/0 undefined; counts 10, 33, 0: C05s = 2/3 (10 and 0).
    m = matrix([100, 100, 0], [300, 300, 300], [[10], [33], [0]])
    r = row(ef.indicator_table(m, replicates=0), "C0").indicators
    assert r["P05s"].value == pytest.approx(1 / 2)
    assert r["C05s"].value == pytest.approx(2 / 3)
    assert r["LastC"].value == pytest.approx((0 + 3 + 0) / 3)


# ---------------------------------------------------------------------------------------------------------
# moments, cap, dip, Sobyanin, correlation

def test_skew_kurt_are_population_moments_of_the_capped_turnout():
    rng = np.random.default_rng(4)
    reg = rng.integers(200, 900, 400)
    ballots = (reg * rng.beta(6, 3, 400)).astype(np.int64)
    ballots[:15] = reg[:15] + rng.integers(1, 40, 15)  # turnout above 100 %
    m = matrix(ballots, reg, ballots[:, None] // 2)
    r = row(ef.indicator_table(m, replicates=0), "turnout").indicators
    capped = np.minimum(ballots / reg, 1.0)
    # R moments::skewness = m3/m2^1.5 and kurtosis = m4/m2^2 (no bias correction): scipy's bias=True forms
    assert r["Skew"].value == pytest.approx(stats.skew(capped, bias=True), rel=1e-9)
    assert r["Kurt"].value == pytest.approx(stats.kurtosis(capped, fisher=False, bias=True), rel=1e-9)
    assert r["Skew"].value != pytest.approx(stats.skew(ballots / reg, bias=True), rel=1e-3)  # the cap matters
    # DipT on the uncapped turnout (R: dip.test(turnoutPercentG), never capped)
    assert r["DipT"].value == pytest.approx(ef.dip_p(ballots / reg))
    assert r["DipT"].value != pytest.approx(ef.dip_p(capped), abs=1e-6)


def test_dip_flags_two_peaks_and_needs_four_units():
    rng = np.random.default_rng(7)
    reg = np.full(600, 1000)
    ballots = np.concatenate([rng.binomial(1000, 0.45, 300), rng.binomial(1000, 0.85, 300)])
    r = row(ef.indicator_table(matrix(ballots, reg, ballots[:, None] // 3), replicates=0), "turnout").indicators
    assert r["DipT"].value < 0.001 and r["DipT"].flagged and r["DipT"].ci_low is None
    one_peak = rng.binomial(1000, 0.6, 600)
    r = row(ef.indicator_table(matrix(one_peak, reg, one_peak[:, None] // 3), replicates=0), "turnout").indicators
    assert r["DipT"].value > 0.05 and not r["DipT"].flagged
    few = row(ef.indicator_table(matrix([10, 20, 30], [50] * 3, [[1], [2], [3]]), replicates=0), "turnout")
    assert few.indicators["DipT"].value is None and not few.indicators["DipT"].flagged


def test_sobyanin_and_correlation_by_hand():
    # turnout 0.5, 0.6, 0.7 with shares 0.2, 0.3, 0.4 -> slope 1, r = 1; a 4th unit without registered voters
    # (turnout undefined) still counts in the mean share (R: mean(voteshare, na.rm=TRUE); lm drops it):
    # mean share = (0.2 + 0.3 + 0.4 + 0.9) / 4 = 0.45, Sobyanin = 1 - 0.45 = 0.55.
    m = matrix([500, 600, 700, 100], [1000, 1000, 1000, -1], [[100], [180], [280], [90]])
    r = row(ef.indicator_table(m, replicates=0), "C0").indicators
    assert r["Sobyanin"].value == pytest.approx(0.55)
    assert r["Correlation"].value == pytest.approx(1.0)
    assert r["Correlation"].flagged and not r["Sobyanin"].flagged
    t = row(ef.indicator_table(m, replicates=0), "turnout").indicators
    assert t["Sobyanin"].value is None and t["Correlation"].value is None  # candidates only


def test_sobyanin_and_correlation_match_least_squares_on_simulated_data():
    rng = np.random.default_rng(11)
    reg = rng.integers(300, 800, 500)
    ballots = rng.binomial(reg, rng.uniform(0.4, 0.9, 500))
    votes = rng.binomial(ballots, np.clip(0.2 + 0.5 * ballots / reg, 0, 1))
    r = row(ef.indicator_table(matrix(ballots, reg, votes[:, None]), replicates=0), "C0").indicators
    t, s = ballots / reg, votes / ballots
    slope = np.polyfit(t, s, 1)[0]
    assert r["Sobyanin"].value == pytest.approx(slope - s.mean(), rel=1e-9)
    assert r["Correlation"].value == pytest.approx(np.corrcoef(t, s)[0, 1], rel=1e-9)


def test_correlation_interval_agrees_with_fisher_z():
    # Independent check of the resampled regression sums: for ~bivariate-normal turnout and share the
    # bootstrap interval of r is close to Fisher's z interval tanh(atanh(r) -/+ 1.96 / sqrt(n - 3)).
    rng = np.random.default_rng(8)
    n = 800
    z = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], n)
    reg = np.full(n, 100_000)
    ballots = np.round(reg * (0.6 + 0.05 * z[:, 0])).astype(np.int64)
    votes = np.round(ballots * (0.4 + 0.05 * z[:, 1])).astype(np.int64)
    c = row(ef.indicator_table(matrix(ballots, reg, votes[:, None]), replicates=2000, seed=1), "C0")
    r = c.indicators["Correlation"]
    half = 1.959964 / math.sqrt(n - 3)
    assert r.ci_low == pytest.approx(math.tanh(math.atanh(r.value) - half), abs=0.02)
    assert r.ci_high == pytest.approx(math.tanh(math.atanh(r.value) + half), abs=0.02)
    assert r.flagged == (abs(round(r.value, 3)) > 0.4)


def test_constant_regressor_gives_no_sobyanin():
    m = matrix([500, 500, 500], [1000] * 3, [[100], [200], [300]])
    r = row(ef.indicator_table(m, replicates=0), "C0").indicators
    assert r["Sobyanin"].value is None and r["Correlation"].value is None
    assert r["Skew"].value is not None and r["Skew"].value == pytest.approx(0.0, abs=1e-9)
    t = row(ef.indicator_table(m, replicates=0), "turnout").indicators
    assert t["Skew"].value is None and t["Kurt"].value is None  # no spread: 0/0, as R gives NaN


# ---------------------------------------------------------------------------------------------------------
# the basic interval (boot.ci type "basic", norm.inter) and the bootstrap

def _norm_inter(t, alpha):
    """boot's norm.inter for one alpha, written out from R/bootfuns.q (boot 1.3-31) in plain Python."""
    t = sorted(x for x in t if math.isfinite(x))
    n = len(t)
    rk = (n + 1) * alpha
    k = int(rk)
    if k == rk and 0 < k <= n:
        return t[k - 1]
    if k == 0:
        return t[0]
    if k == n:
        return t[n - 1]
    q = NormalDist().inv_cdf
    return t[k - 1] + (q(alpha) - q(k / (n + 1))) / (q((k + 1) / (n + 1)) - q(k / (n + 1))) * (t[k] - t[k - 1])


@pytest.mark.parametrize("reps", [9, 39, 100, 999, 1000])
def test_basic_interval_is_boots_formula(reps):
    rng = np.random.default_rng(reps)
    t = rng.gamma(2.0, 1.0, reps)
    t0 = 2.1
    a_hi, a_lo = (1 + 0.95) / 2, (1 - 0.95) / 2
    low, high = ef.basic_interval(t0, t)
    assert low == pytest.approx(2 * t0 - _norm_inter(t, a_hi), rel=1e-12)
    assert high == pytest.approx(2 * t0 - _norm_inter(t, a_lo), rel=1e-12)
    if reps == 9:  # (R+1)*0.975 = 9.75 -> k = R: the largest; (R+1)*0.025 = 0.25 -> k = 0: the smallest
        assert (low, high) == (2 * t0 - t.max(), 2 * t0 - t.min())
    if reps == 999:  # 1000 * 0.975 = 975 exactly: the 975th order statistic, no interpolation
        assert low == pytest.approx(2 * t0 - np.sort(t)[974], rel=1e-12)


def test_basic_interval_drops_non_finite_and_refuses_constant():
    t = np.array([1.0, 2.0, np.nan, 3.0, np.inf, 4.0] * 20)
    low, high = ef.basic_interval(2.5, t)
    assert low == pytest.approx(2 * 2.5 - _norm_inter(t.tolist(), 0.975))
    assert high == pytest.approx(2 * 2.5 - _norm_inter(t.tolist(), 0.025))
    low, high = ef.basic_interval(0.3, np.full(100, 0.3))
    assert math.isnan(low) and math.isnan(high)
    low, high = ef.basic_interval(0.0, np.zeros(100))  # boot would print "(0, 0)"
    assert math.isnan(low) and math.isnan(high)
    low, high = ef.basic_interval(np.array([1.0, 2.0]), np.column_stack([np.full(50, 1.0), np.arange(50.0)]))
    assert math.isnan(low[0]) and math.isfinite(low[1]) and high[1] > low[1]


def test_bootstrap_is_deterministic_by_seed_and_per_area():
    e_reg = np.random.default_rng(2)
    n = 900
    reg = e_reg.integers(200, 900, n)
    ballots = e_reg.binomial(reg, 0.6)
    votes = e_reg.binomial(ballots[:, None], [0.5, 0.3])
    regions = np.array(["A", "B", "C"])[e_reg.integers(0, 3, n)]
    m = matrix(ballots, reg, votes, regions=regions)
    a = ef.indicator_table(m, level="region", replicates=200, seed=5).to_dicts()
    b = ef.indicator_table(m, level="region", replicates=200, seed=5).to_dicts()
    c = ef.indicator_table(m, level="region", replicates=200, seed=6).to_dicts()
    assert a == b and a != c
    nat = ef.indicator_table(m, replicates=200, seed=5).to_dicts()
    assert nat == a[:3]  # the national rows do not depend on whether areas are computed
    # an area's figures do not depend on the other areas: area B alone
    b_ = regions == "B"
    only_b = matrix(ballots[b_], reg[b_], votes[b_], regions=regions[b_])
    rb = [r for r in ef.indicator_table(only_b, level="region", replicates=200, seed=5).to_dicts()
          if r["area"]["id"] == "B"]
    assert rb == [r for r in a if r["area"]["id"] == "B"]
    # the memory block (resamples per BLAS product) changes only the order of floating-point sums
    small = ef.indicator_table(m, replicates=200, seed=5, block=1000).to_dicts()
    assert _numbers(small) == pytest.approx(_numbers(nat), rel=1e-12)


def _numbers(rows):
    return [c[k] if c[k] is not None else -999.0 for r in rows for c in r["indicators"].values()
            for k in ("value", "ci_low", "ci_high")]


def test_bootstrap_sums_count_each_resample_n_times():
    rng = np.random.default_rng(0)
    f = np.column_stack([np.ones(37), np.arange(37.0)])
    s = ef._bootstrap_sums(f, 50, rng, block=100)
    assert np.all(s[:, 0] == 37)  # every resample has n rows
    assert s[:, 1].mean() == pytest.approx(37 * 18, rel=0.05)  # E[sum] = n * mean


@pytest.mark.slow
def test_flag_rate_on_uniform_last_digits_is_near_five_percent():
    # Known truth: counts with uniformly random last digits have E[LastC] = 4.5, E[C05s] = 0.2; the basic
    # interval should exclude the truth ~5 % of the time.
    rng = np.random.default_rng(21)
    sims, n = 300, 400
    flags = {"LastC": 0, "C05s": 0}
    for i in range(sims):
        ballots = rng.integers(100, 1000, n)
        t = ef.indicator_table(matrix(ballots, np.full(n, 1000), ballots[:, None] // 2), replicates=399, seed=i)
        r = row(t, "turnout").indicators
        for k in flags:
            flags[k] += r[k].flagged
    for k, v in flags.items():
        assert 0.02 <= v / sims <= 0.09, (k, v / sims)


# ---------------------------------------------------------------------------------------------------------
# the flag rule (ColorSignificance.R on the 3-decimal table)

def test_flag_rule():
    assert ef.flag("2BL", 4.0, 3.9, 4.187)           # upper <= reference
    assert ef.flag("2BL", 4.0, 3.9, 4.1874)          # printed 4.187
    assert not ef.flag("2BL", 4.0, 3.9, 4.1876)      # printed 4.188
    assert ef.flag("LastC", 4.7, 4.5, 4.9)           # lower >= reference
    assert not ef.flag("P05s", 0.2, 0.15, 0.25)
    assert not ef.flag("Skew", 0.0, 0.0, 0.0)        # "(0, 0)" never flags
    assert ef.flag("Skew", 0.3, 0.0, 0.6)            # lower 0 = reference
    assert not ef.flag("Kurt", 5.0, None, None)      # no interval, no flag
    assert ef.flag("DipT", 0.01) and not ef.flag("DipT", 0.0506) and not ef.flag("DipT", None)
    assert 0.05 < ef.DIP_ALPHA < 0.05 + 1e-15        # 1 - pnorm(qnorm(0.95)): 0.05 as printed flags
    assert ef.flag("DipT", 0.0496)
    assert ef.flag("Sobyanin", 1.645) and ef.flag("Sobyanin", -1.7) and not ef.flag("Sobyanin", 1.6444)
    assert ef.flag("Correlation", -0.4006) and not ef.flag("Correlation", 0.4004)
    with pytest.raises(ValueError):
        ef.flag("Obs", 3)


# ---------------------------------------------------------------------------------------------------------
# published figures: Albania 2013 turnout by prefecture (EFToolkit README, inst/figures/EFT_table.png, R = 100)

PUBLISHED = {  # prefecture: (2BL, P05s, C05s, Skew, Kurt, DipT, Obs), and the 2BL and Skew intervals
    "BERAT": ((4.244, 0.197, 0.217, 0.261, 3.474, 0.651, 300), (3.92, 4.561), (-0.121, 0.617)),
    "DIBER": ((4.167, 0.221, 0.225, 1.685, 4.954, 0.0, 258), (3.75, 4.52), (1.314, 2.025)),
    "DURRES": ((4.572, 0.173, 0.194, 1.354, 3.211, 0.0, 444), (4.242, 4.812), (1.078, 1.617)),
    "ELBASAN": ((4.345, 0.217, 0.196, 1.5, 4.086, 0.0, 516), (4.153, 4.632), (1.245, 1.705)),
    "FIER": ((4.373, 0.208, 0.181, 1.582, 4.572, 0.0, 558), (4.105, 4.655), (1.342, 1.777)),
    "GJIROKASTER": ((4.549, 0.287, 0.228, 0.72, 2.166, 0.0, 237), (4.008, 4.879), (0.445, 0.954)),
}


def test_albania_2013_turnout_rows_reproduce_the_package_figure():
    with open(DATA / "albania2013_turnout.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pref = np.array([r["prefecture"] for r in rows])
    ballots = np.array([int(r["ballots"]) for r in rows])
    reg = np.array([int(r["registered"]) for r in rows])
    m = matrix(ballots, reg, ballots[:, None] // 2, regions=pref)
    t = ef.indicator_table(m, level="region", replicates=1000, seed=0)
    for name, (values, ci_2bl, ci_skew) in PUBLISHED.items():
        r = row(t, "turnout", name)
        got = [r.indicators[k].value for k in ("2BL", "P05s", "C05s", "Skew", "Kurt", "DipT")]
        assert [round(v, 3) for v in got] == list(values[:6]), name
        assert r.obs == values[6]
        # intervals: ours R = 1000 vs the figure's R = 100 draw; endpoints agree to within a fifth of the width
        for k, ci in (("2BL", ci_2bl), ("Skew", ci_skew)):
            c = r.indicators[k]
            width = ci[1] - ci[0]
            assert abs(c.ci_low - ci[0]) < 0.2 * width and abs(c.ci_high - ci[1]) < 0.2 * width, (name, k)


# ---------------------------------------------------------------------------------------------------------
# the table: areas, edge cases, errors

def test_table_rows_areas_and_names():
    rng = np.random.default_rng(3)
    n = 300
    reg = rng.integers(200, 900, n)
    ballots = rng.binomial(reg, 0.6)
    votes = rng.binomial(ballots[:, None], [0.5, 0.3])
    regions = np.array(["N", "S"])[rng.integers(0, 2, n)]
    m = matrix(ballots, reg, votes, regions=regions, candidates=["Ana", "Bo"])
    t = ef.indicator_table(m, level="region", names={"N": "North"}, replicates=50, candidates=["Bo"])
    assert [(r.area_id, r.target) for r in t.rows] == [(None, "turnout"), (None, "Bo"), ("N", "turnout"),
                                                       ("N", "Bo"), ("S", "turnout"), ("S", "Bo")]
    assert [r.area_name for r in t.rows] == ["National", "National", "North", "North", "S", "S"]
    assert row(t, "Bo", "N").obs == int((regions == "N").sum())
    d = t.rows[0].to_dict()
    assert set(d) == {"area", "level", "target", "obs", "indicators"}
    assert d["area"] == {"id": None, "name": "National"} and d["level"] == "national"
    assert list(d["indicators"]) == list(ef.INDICATORS)
    assert all(set(v) == {"value", "ci_low", "ci_high", "flagged"} for v in d["indicators"].values())
    with pytest.raises(VoteauditError, match="unknown level"):
        ef.indicator_table(m, level="table")
    with pytest.raises(VoteauditError, match="unknown candidate"):
        ef.indicator_table(m, candidates=["Zed"])


def test_one_unit_area_has_values_but_no_intervals():
    m = matrix([120, 230, 340, 450], [400, 500, 600, 700], [[60], [100], [150], [200]],
               regions=["A", "B", "B", "B"])
    r = row(ef.indicator_table(m, level="region", replicates=100), "C0", "A")
    assert r.obs == 1
    assert r.indicators["LastC"].value == 0.0 and r.indicators["2BL"].value == 0.0  # 60: digits 6, 0
    assert all(c.ci_low is None and c.ci_high is None for c in r.indicators.values())
    assert r.flagged == []


def test_missing_registered_everywhere_gives_no_turnout_row():
    m = matrix([100, 200, 300], [-1, -1, -1], [[10], [20], [35]])
    t = ef.indicator_table(m, replicates=0)
    assert [r.target for r in t.rows] == ["C0"]
    assert any("No registered voters" in n for n in t.notes)
    r = t.rows[0].indicators
    assert r["Sobyanin"].value is None and r["P05s"].value == pytest.approx(2 / 3)  # 10 %, 10 %, 11.67 %


def test_zero_ballots_everywhere():
    m = matrix([0, 0, 0, 0], [100, 100, 100, 100], [[0], [0], [0], [0]])
    t = ef.indicator_table(m, replicates=20)
    turn, cand = row(t, "turnout").indicators, row(t, "C0").indicators
    assert turn["LastC"].value == 0.0 and turn["C05s"].value == 1.0 and turn["2BL"].value is None
    assert turn["P05s"].value == 1.0 and turn["Skew"].value is None
    assert cand["P05s"].value is None and cand["DipT"].value is None and cand["Sobyanin"].value is None
    assert not any(c.flagged for c in cand.values())


# ---------------------------------------------------------------------------------------------------------
# CLI (simulate -> ingest -> indicators, in-process, real DuckDB store) and the report section

SIM_FLAGS = ["--unit", "region", "--unit", "district", "--unit", "table", "--registered", "registered",
             "--cast", "cast", "--valid", "valid", "--null", "null"] + [
    x for c in "ABC" for x in ("--candidate", f"Candidate {c}")]


@pytest.fixture
def sim_store(tmp_path):
    import json

    from typer.testing import CliRunner

    from voteaudit.cli import app

    db = str(tmp_path / "store.duckdb")
    runner = CliRunner()

    def run(*args):
        res = runner.invoke(app, [str(a) for a in args] + ["--db", db], catch_exceptions=False)
        res.doc = json.loads(res.stdout) if "--json" in args and res.exit_code == 0 else None
        return res

    path = tmp_path / "sim.csv"
    assert run("simulate", "--units", "1500", "--regions", "4", "--candidates", "3", "--out", path, "--seed", "4",
               "--json").exit_code == 0
    assert run("ingest", path, "--source", "sim", "--kind", "official", *SIM_FLAGS).exit_code == 0
    return run


def test_cli_json_shape_csv_and_errors(sim_store, tmp_path):
    csv_path = tmp_path / "ind.csv"
    res = sim_store("indicators", "--source", "sim", "--level", "region", "--replicates", "100", "--seed", "3",
                    "--csv", csv_path, "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.doc
    assert isinstance(doc, list) and len(doc) == (1 + 4) * 4  # national + 4 regions, turnout + 3 candidates
    assert doc[0]["area"] == {"id": None, "name": "National"} and doc[0]["level"] == "national"
    assert [r["target"] for r in doc[:4]] == ["turnout", "Candidate A", "Candidate B", "Candidate C"]
    assert {r["area"]["id"] for r in doc[4:]} == {"r01", "r02", "r03", "r04"}  # normalised keys
    assert {r["area"]["name"] for r in doc[4:]} == {"R01", "R02", "R03", "R04"}  # display names from the store
    for r in doc:
        assert set(r) == {"area", "level", "target", "obs", "indicators"}
        assert set(r["indicators"]) == set(ef.INDICATORS)
        for c in r["indicators"].values():
            assert set(c) == {"value", "ci_low", "ci_high", "flagged"} and isinstance(c["flagged"], bool)
            if c["ci_low"] is not None:
                assert c["ci_low"] <= c["ci_high"]
    assert sum(r["obs"] for r in doc[4:] if r["target"] == "turnout") == doc[0]["obs"] == 1500
    with open(csv_path, newline="", encoding="utf-8") as fh:
        lines = list(csv.reader(fh))
    assert lines[0][:5] == ["area_id", "area_name", "level", "target", "obs"] and len(lines) == 1 + len(doc)
    assert float(lines[1][lines[0].index("2BL")]) == pytest.approx(doc[0]["indicators"]["2BL"]["value"])
    again = sim_store("indicators", "--source", "sim", "--level", "region", "--replicates", "100", "--seed", "3",
                      "--json")
    assert again.doc == doc  # seeded: the same intervals
    human = sim_store("indicators", "--source", "sim", "--replicates", "20")
    assert human.exit_code == 0 and "Toolkit" in human.stdout and "2BL" in human.stdout and "DipT" in human.stdout
    bad = sim_store("indicators", "--source", "sim", "--level", "galaxy")
    assert bad.exit_code != 0 and "unknown level 'galaxy'" in bad.stderr
    bad = sim_store("indicators", "--source", "sim", "--candidate", "Nobody")
    assert bad.exit_code != 0 and "unknown candidate" in bad.stderr


def test_csv_cells_never_become_formulas():
    from voteaudit.cli.indicators import csv_rows

    row_ = {"area": {"id": "=1+1", "name": "@SUM(A1)"}, "level": "region", "target": "-x", "obs": 3,
            "indicators": {k: {"value": -0.5, "ci_low": None, "ci_high": None, "flagged": False}
                           for k in ef.INDICATORS}}
    line = csv_rows([row_])[1]
    assert line[:4] == ["'=1+1", "'@SUM(A1)", "region", "'-x"]
    assert line[5] == -0.5  # numbers stay numbers


def test_report_has_the_indicator_section(sim_store, tmp_path):
    import json

    res = sim_store("report", "--out", tmp_path / "rep")
    assert res.exit_code == 0, res.stderr
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert 'id="indicators"' in html and "Election Forensics Toolkit indicators" in html
    assert html.index('id="forensics"') < html.index('id="indicators"')
    doc = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    rows = doc["indicators"]
    national = [r for r in rows if r["area"]["id"] is None]
    assert [r["target"] for r in national] == ["turnout", "Candidate A", "Candidate B", "Candidate C"]
    # the section lists the national rows and exactly the flagged regional rows
    flagged = [r for r in rows if r["area"]["id"] is not None and any(c["flagged"] for c in r["indicators"].values())]
    section = html[html.index('id="indicators"'):]
    section = section[:section.index("<h2", 10)] if "<h2" in section[10:] else section
    assert section.count("<tr><td>") == len(national) + len(flagged)
