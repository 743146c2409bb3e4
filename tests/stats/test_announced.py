import itertools
import math
from fractions import Fraction

import pytest

from voteaudit.stats import (
    Bulletin,
    announced_tests,
    announced_tests_to_dict,
    bulletin_arithmetic,
    bulletin_sequence,
    round_percentage_probability,
    round_percentage_test,
)


def _round(c, N, D):
    g = Fraction(N, D)
    j = round(Fraction(c) / g)
    return any(abs(c - jj * g) <= Fraction(1, 2) for jj in (j - 1, j, j + 1))


def _window_ints(c, N, D, W):
    g = Fraction(N, D)
    j0 = round(Fraction(c * D, N))
    jl, jh = max(j0 - W, 0), min(j0 + W, D)
    return [x for x in range(0, N + 1) if (jl - Fraction(1, 2)) * g <= x < (jh + Fraction(1, 2)) * g]


@pytest.mark.parametrize("N,D,W", [(737, 100, 3), (1234, 100, 2), (2011, 100, 4), (900, 100, 3), (5003, 1000, 3)])
def test_round_probability_equals_enumeration_of_the_model(N, D, W):
    """Direct enumeration of the stated model (free counts uniform over their windows)."""
    c1, c2 = round(0.37 * N), round(0.41 * N)
    c = [c1, c2, N - c1 - c2]
    w1, w2 = _window_ints(c1, N, D, W), _window_ints(c2, N, D, W)
    hits = sum(_round(a, N, D) and _round(b, N, D) and _round(N - a - b, N, D) for a in w1 for b in w2)
    expected = hits / (len(w1) * len(w2))
    got = round_percentage_probability(c, 1 / D, N, window=W)
    assert got.p_all == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_round_probability_close_to_uniform_compositions():
    """Against all compositions of small totals (a model-free enumeration): same order, ~0.75/g²."""
    ratios = []
    for N in (613, 787, 911, 1049):
        D = 100
        tot = hits = 0
        for a, b in itertools.product(range(N + 1), repeat=2):
            if a + b > N:
                break
            tot += 1
        tot = (N + 1) * (N + 2) // 2
        rnd = [x for x in range(N + 1) if _round(x, N, D)]
        rs = set(rnd)
        hits = sum(1 for a in rnd for b in rnd if a + b <= N and (N - a - b) in rs)
        model = round_percentage_probability([N // 3, N // 3, N - 2 * (N // 3)], 0.01, N, window=40).p_all
        ratios.append(model / (hits / tot))
    assert 0.85 < sum(ratios) / len(ratios) < 1.15


def test_venezuela_bulletin_1_round_percentages():
    b = Bulletin(name="1", totals={"M": 5150092, "G": 4445978, "O": 462704},
                 stated_pct={"M": 51.2, "G": 44.2, "O": 4.6})
    r = round_percentage_test(b)
    g = 10058774 * 0.001
    assert r.statistic == 3 and r.flagged
    assert r.details["precision"] == pytest.approx(0.001)
    assert r.p_value == pytest.approx(0.75 / g**2, rel=0.03)  # Irwin–Hall value for 3 counts
    assert 1e8 < 1 / r.p_value < 2e8
    assert r.to_dict()["test"] == "round_percentage"


def test_not_round_is_not_flagged():
    b = Bulletin(name="x", totals={"a": 6408844, "b": 5326104, "c": 600936}, stated_pct={"a": 51.95})
    r = round_percentage_test(b)
    assert not r.flagged and r.statistic < 3


def test_arithmetic_and_sequence():
    b1 = Bulletin(name="1", totals={"A": 500, "B": 400, "Other": 100}, stated_pct={"A": 50.0, "B": 40.0},
                  progress_pct=50)
    b2 = Bulletin(name="2", totals={"A": 900, "B": 800, "C": 150, "D": 50}, valid=1900, null=100, cast=2000,
                  registered=4000, registered_counted=3000, stated_pct={"A": 47.37, "B": 42.3},
                  stated_turnout_pct=66.67, progress_pct=75.0)
    a = bulletin_arithmetic(b2)
    fails = [c["check"] for c in a.details["checks"] if c["ok"] is False]
    assert fails == ["stated % of B"]  # 800 / 1900 = 42.105 %, printed 42.3
    s = bulletin_sequence(b1, b2)
    assert not s.flagged and s.details["added_valid"] == 900
    bad = Bulletin(name="3", totals={"A": 800, "B": 900, "C": 150, "D": 50})
    s2 = bulletin_sequence(b2, bad)
    assert s2.flagged and "A does not decrease" in s2.interpretation
    out = announced_tests_to_dict(announced_tests([b1, b2]))
    assert [t["test"] for t in out["2"]] == ["round_percentage", "bulletin_arithmetic", "bulletin_sequence"]
    assert math.isfinite(out["1"][0]["p_value"])
