"""Minerva against Arlo's tests, which call Athena.

Source: votingworks/arlo at commit 8d86156c72aad7ab2bdf896fae0357eedbed2b5b,
server/tests/audit_math/test_minerva.py (risk limit 10 % unless stated; "_undervote_" ballots count
in the ballots but not as votes), and the doctests of server/audit_math/minerva.py.
"""

import numpy as np
import pytest

from voteaudit.audit import build_contest, measure, minerva, plan


def contest(tally, winners=1):
    names = [k for k in tally if k != "_undervote_"]
    return build_contest(np.array([tally[k] for k in names]), names, sum(tally.values()), winners=winners)


C3 = {"a": 600, "b": 400, "c": 100, "_undervote_": 100}


@pytest.mark.parametrize("tally,alpha,winners,sizes", [
    (C3, 0.1, 1, (134, 166, 215)),                                    # test_get_sample_size / doctest
    (C3, 0.2, 1, (87, 110, 156)),                                     # doctest, 20 %
    ({"a": 600, "b": 200, "c": 100}, 0.1, 1, (20, 25, 35)),
    ({"a": 100, "b": 1}, 0.1, 1, (4, 4, 4)),
    ({"a": 100, "b": 0}, 0.1, 1, (4, 4, 4)),                          # test_get_sample_size_landslide
    ({"a": 500, "b": 500}, 0.1, 1, (1000, 1000, 1000)),               # tie: every ballot
    ({"a": 300, "b": 200, "c": 200, "_undervote_": 300}, 0.1, 1, (222, 276, 358)),
    ({"a": 400, "b": 400, "c": 200, "d": 100}, 0.1, 2, (79, 87, 114)),  # test_get_sample_size_2win
])
def test_first_round_sizes(tally, alpha, winners, sizes):
    got = minerva.first_round_sizes(alpha, contest(tally, winners), cap=False)
    assert (got["0.7"], got["0.8"], got["0.9"]) == sizes


def test_first_round_sizes_close():
    # test_get_sample_size_big (uncapped, as Arlo: 17663 > the 10,001 ballots)
    got = minerva.first_round_sizes(0.1, contest({"a": 5076, "b": 4925}), cap=False)
    assert got == {"0.7": 17663, "0.8": 22233, "0.9": 30319}
    assert minerva.first_round_sizes(0.1, contest({"a": 5076, "b": 4925}))["0.9"] == 10001   # capped: count all
    # test_get_sample_size_bigger_approx quotes Athena's exact binary search: 250632, 315749, 430133 (Arlo uses
    # a normal approximation below a 1.5 % margin); the 90 % figure sits where the stopping chance is not
    # monotone in n, and a 1-unit kmin difference moves the bisection: within 0.1 %
    got = minerva.first_round_sizes(0.1, contest({"a": 502000, "b": 498000}), cap=False)
    assert got["0.7"] == 250632 and got["0.8"] == 315749
    assert got["0.9"] == pytest.approx(430133, rel=1e-3)


@pytest.mark.parametrize("tally,winners,rounds,expected", [
    (C3, 1, [[56, 40, 3]], 0.0933945799801079),                       # test_collect_risks
    (C3, 1, [[40, 40, 3]], 0.5596434615209632),
    (C3, 1, [[40, 40, 3], [70, 30, 10]], 0.006382031505998192),       # test_compute_risk_2r
    ({"Warnock": 1613896, "Loeffler": 1270718, "Collins": 978667, "Write-ins": 132, "_undervote_": 1041608}, 2,
     [[384, 276, 234, 1]], 0.039858047805999164),                      # test_compute_risk_delta
    ({"a": 400, "b": 400, "c": 200, "d": 100}, 2, [[40, 40, 18, 2]], 0.0064653703790821795),
    ({"a": 400, "b": 400, "c": 200, "d": 100}, 2, [[30, 30, 30, 10]], 0.552702598296842),
    ({"a": 400, "b": 400, "c": 200, "d": 100}, 2, [[30, 30, 30, 10], [50, 50, 25, 25]], 0.083535346859948),
    ({"a": 5100000, "b": 4900000, "c": 100, "_undervote_": 100000}, 1, [[5100, 4990, 1]], 0.16896200607848647),
    ({"a": 5100000, "b": 4900000, "c": 100, "_undervote_": 100000}, 1, [[5100, 4990, 1], [5100, 4900, 0]],
     0.03907953348498701),                                             # test_compute_risk_close_narrow_2
    ({"a": 2453876, "b": 2358432, "_undervote_": 114911}, 1, [[17605, 0]], 0.0),   # test_compute_risk_too_low
])
def test_risk(tally, winners, rounds, expected):
    c = contest(tally, winners)
    tallies = list(np.cumsum(np.array(rounds), axis=0))              # Arlo passes votes per round
    assert minerva.risks(0.1, c, tallies).max() == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_measure_rounds_and_plan():
    ids = np.array(["t1", "t2"])
    votes = np.array([[300, 200, 50], [300, 200, 50]])
    ballots = np.array([600, 600])
    names = ["a", "b", "c"]          # = C3 over two tables
    p = plan("minerva", ids, votes, names, ballots, risk_limit=0.1)
    assert p.sample_size == 215 and p.sizes_for_probability == {"0.7": 134, "0.8": 166, "0.9": 215}
    assert 0.89 < p.prob_one_round < 0.95
    # round 1: 83 ballots showing 40 / 40 / 3 -> 0.5596, escalate with Arlo's 83 * 1.5**2 = 186 draws
    st = measure("minerva", ids, votes, names, ballots, risk_limit=0.1, sampled_ids=["t1"] * 83,
                 audited_votes={"t1": np.array([40, 40, 3])}, round_sizes=[83])
    assert st.risk == pytest.approx(0.5596434615209632) and st.verdict == "escalate"
    assert st.next_round_size == int(83 * 1.5 ** 2)
    # round 2 (test_compute_risk_2r): 70 / 30 / 10 more -> 0.00638, confirmed
    st = measure("minerva", ids, votes, names, ballots, risk_limit=0.1, sampled_ids=["t1"] * 83 + ["t2"] * 117,
                 audited_votes={"t1": np.array([40, 40, 3]), "t2": np.array([70, 30, 10])}, round_sizes=[83, 117],
                 round_tallies=[np.array([40, 40, 3])])
    assert st.risk == pytest.approx(0.006382031505998192) and st.verdict == "confirmed"
    with pytest.raises(ValueError, match="tally of every earlier round"):
        measure("minerva", ids, votes, names, ballots, risk_limit=0.1, sampled_ids=["t1"] * 83 + ["t2"] * 117,
                audited_votes={"t1": np.array([40, 40, 3])}, round_sizes=[83, 117])


def test_threshold_is_refused():
    c = build_contest(np.array([600, 300, 100]), ["a", "b", "c"], 1000, threshold=0.5)
    with pytest.raises(ValueError, match="bravo"):
        minerva.first_round_sizes(0.1, c)
