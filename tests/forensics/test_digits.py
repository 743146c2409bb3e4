"""Digit tests against published values (METHODS.md; Mebane 2006 Table 1; Beber & Scacco 2012)."""

import numpy as np
import pytest

from voteaudit.forensics.digits import (
    BENFORD_SECOND,
    BENFORD_SECOND_MEAN,
    last_digit_test,
    second_digit_test,
    second_digits,
)


def test_benford_second_digit_frequencies_match_mebane_table():
    # Mebane (2006) / METHODS.md: r_j for j = 0..9 and mean 4.18739
    published = [0.11968, 0.11389, 0.10882, 0.10433, 0.10031, 0.09668, 0.09337, 0.09035, 0.08757, 0.08500]
    assert np.allclose(BENFORD_SECOND, published, atol=5e-6)
    assert BENFORD_SECOND_MEAN == pytest.approx(4.18739, abs=5e-6)


def test_second_digit_extraction():
    x = np.array([10, 19, 99, 100, 109, 110, 999, 1000, 1234, 98765, 1_000_000])
    assert second_digits(x).tolist() == [0, 9, 9, 0, 0, 1, 9, 0, 2, 8, 0]


def test_second_digit_benford_sample_passes_and_distorted_fails():
    rng = np.random.default_rng(0)
    # log-uniform counts over many decades follow Benford's law
    benford_like = np.floor(10 ** rng.uniform(1, 6, 20000)).astype(np.int64)
    ok = second_digit_test(benford_like, seed=1)
    assert not ok.flagged and ok.p_value > 0.01
    lo, hi = ok.details["mean_ci95"]
    assert lo < 4.18739 < hi
    distorted = benford_like // 10 * 10 + 0  # keeps digits; now push second digit to 5
    distorted = np.where(rng.random(distorted.size) < 0.2, 150, distorted)
    bad = second_digit_test(distorted, seed=1)
    assert bad.flagged and bad.p_value < 1e-6 and bad.details["mean_flag"]


def test_last_digit_uniform_zero_and_rounded_fail():
    counts = np.arange(10, 10010)  # every last digit exactly 1000 times
    r = last_digit_test(counts)
    assert r.statistic == pytest.approx(0.0) and not r.flagged
    # Beber & Scacco's expected pair shares: over all endings 00..99, 10 % repeated, 18 % adjacent
    assert r.details["repeated_pair"]["share"] == pytest.approx(0.10)
    assert r.details["adjacent_pair"]["share"] == pytest.approx(0.18)
    assert r.details["zero_five"]["share"] == pytest.approx(0.20)
    rng = np.random.default_rng(3)
    invented = rng.integers(2, 80, 2000) * 5  # every count ends in 0 or 5
    bad = last_digit_test(invented)
    assert bad.flagged and bad.details["zero_five"]["share"] == 1.0 and bad.details["zero_five"]["p_value"] < 1e-10


def test_small_counts_are_not_tested():
    r = last_digit_test(np.array([1, 2, 3, 11, 12]))
    assert r.p_value is None and not r.flagged
