"""BRAVO against Arlo and rlacalc.

Arlo values: votingworks/arlo at commit 8d86156c72aad7ab2bdf896fae0357eedbed2b5b.

References: votingworks/arlo, server/tests/audit_math/test_bravo.py (true_asns, round-2 ASNs,
bravo_sample_sizes 1599/6067/2476/5657/409/0/2636, true_sample_sizes quantiles, expected_prob 0.52,
compute_risk expected_Ts; risk limit 10 %); nealmcb/rlacalc, src/rlacalc/__init__.py doctests
(ballot_polling_risk_level, findAsn).
"""

import numpy as np
import pytest

from voteaudit.audit import bravo, build_contest

ALPHA = 0.1
CONTESTS = {  # Arlo bravo_contests: (votes, ballots, winners)
    "test1": ([600, 400], 1000, 1), "test2": ([600, 200, 100], 900, 1), "test5": ([500, 500], 1000, 1),
    "test6": ([300, 200, 200], 1000, 1), "test7": ([300, 200, 100], 700, 2),
    "test8": ([300, 300, 100], 700, 2), "test10": ([600, 300, 100], 1000, 2), "test11": ([1000, 0], 1000, 1),
    "test12": ([600, 400, 0], 1000, 1), "small3": ([10000, 9000, 200], 20000, 1),
    "ga": ([2457924, 2471981, 62058, 457, 0, 0], 4992420, 1),
}
ROUND1 = {"test1": [72, 47], "test2": [25, 18, 5], "test6": [72, 48, 48], "test7": [30, 25, 10],
          "test8": [72, 55, 30], "test10": [60, 30, 10], "test12": [72, 47, 0], "small3": [1200, 1000, 10],
          "ga": [2457924, 2471971, 62058, 457, 0, 0]}


def contest(name):
    votes, ballots, winners = CONTESTS[name]
    return build_contest(np.array(votes), [f"cand{i + 1}" for i in range(len(votes))], ballots,
                         winners=winners)


@pytest.mark.parametrize("name,expected", [("test1", 119), ("test2", 22), ("test5", 1000), ("test6", 238),
                                           ("test7", 101), ("test8", 34), ("test10", 48), ("test11", 4),
                                           ("test12", 119), ("small3", 1769)])
def test_asn_first_round(name, expected):
    # test11 (unanimous, [1000, 0]): Arlo reports ASN 1; one ballot gives T = 2 < 1/alpha, and the exact
    # number that confirms is ceil(log2(10)) = 4 -- the size Arlo's own Minerva gives a landslide
    # (server/tests/audit_math/test_minerva.py, test_get_sample_size_landslide).
    assert bravo.asn(ALPHA, contest(name)) == expected


@pytest.mark.parametrize("name,expected", [("test1", -12), ("test2", 42), ("test6", -2), ("test7", -28),
                                           ("test8", 14), ("test10", -52)])
def test_asn_second_round(name, expected):
    assert bravo.asn(ALPHA, contest(name), np.array(ROUND1[name])) == expected


def test_no_loser_is_rejected():
    with pytest.raises(ValueError):
        build_contest(np.array([100]), ["cand1"], 100)           # Arlo test3/test4: no losers
    with pytest.raises(ValueError):
        build_contest(np.array([300, 200]), ["c1", "c2"], 700, winners=2)   # Arlo test9


@pytest.mark.parametrize("pw,pr,sw,sr,q,expected", [
    (0.4, 0.32, 0, 0, 0.9, 1599), (0.36, 0.32, 0, 0, 0.9, 6067), (0.36, 0.32, 0, 0, 0.6, 2476),
    (0.52, 0.47, 0, 0, 0.9, 5657), (0.4, 0.32, 0, 0, 0.4, 409), (0.52, 0.47, 10000, 0, 0.9, 0),
    (0.52, 0.47, 2923, 2735, 0.9, 2636)])
def test_sample_size_for_probability(pw, pr, sw, sr, q, expected):
    assert bravo.sample_size_for_probability(ALPHA, pw, pr, sw, sr, q) == expected


@pytest.mark.parametrize("name,sizes", [("test1", (184, 244, 351)), ("test2", (32, 41, 57)),
                                        ("test6", (368, 488, 702)), ("small3", (2837, 3760, 5426))])
def test_quantile_sizes(name, sizes):
    pw, pl, _, _ = bravo.binding_shares(contest(name))
    got = tuple(bravo.sample_size_for_probability(ALPHA, pw, pl, 0, 0, q) for q in (0.7, 0.8, 0.9))
    assert got == sizes


def test_expected_prob():
    assert round(bravo.probability_one_round(ALPHA, 0.6, 0.4, 0, 0, 119), 2) == 0.52


def test_compute_risk():
    expected = {"test1": [0.07], "test2": [1.0, 0.0], "test6": [0.08, 0.08], "test7": [0.01, 0.04],
                "test8": [0.0, 0.22], "test10": [0.0, 0.01], "test12": [0.07, 0.0], "small3": [0.000561, 0.0]}
    for name, ps in expected.items():
        c = contest(name)
        got = dict(zip(c.pair_labels(), bravo.risks(c, np.array(ROUND1[name])), strict=True))
        two_winners = ["cand1 > cand3", "cand2 > cand3"]
        want = two_winners if name in ("test7", "test8", "test10") else ["cand1 > cand2", "cand1 > cand3"]
        for label, p in zip(want, ps, strict=False):
            assert got[label] == pytest.approx(p, abs=0.01), (name, label)
    c = contest("ga")  # candidate 2 (Biden) leads
    got = dict(zip(c.pair_labels(), bravo.risks(c, np.array(ROUND1["ga"])), strict=True))
    assert got["cand2 > cand1"] == pytest.approx(2.035688053599178e-09, rel=1e-6)
    assert got["cand2 > cand3"] == 0.0


def test_rlacalc_values():
    for (w, lo, sw, sl), p in [((1410, 1132, 170, 135), 0.1342382069344729),
                               ((2894, 1695, 45, 32), 0.47002027242290234)]:
        c = build_contest(np.array([w, lo]), ["w", "l"], w + lo)
        assert bravo.risks(c, np.array([sw, sl]))[0] == pytest.approx(p, rel=1e-12)
    for m, asn in [(0.01, 46151), (0.04, 2902), (0.2, 119)]:
        N = 100000
        c = build_contest(np.array([round(N * (0.5 + m / 2)), round(N * (0.5 - m / 2))]), ["w", "l"], N)
        assert bravo.asn(ALPHA, c) == asn


ARLO = "votingworks/arlo 8d86156c, server/tests/audit_math/test_bravo.py"


def test_quantile_sizes_take_every_pair():
    # issue 17: Arlo's get_sample_size on [16087, 1049, 997], N = 20,000, 10 %: 11 / 11 / 16 (the hardest
    # pair alone gives 10 / 10 / 16)
    c = build_contest(np.array([16087, 1049, 997]), ["a", "b", "c"], 20000)
    assert bravo.quantile_sizes(ALPHA, c) == {"0.7": 11, "0.8": 11, "0.9": 16}
    # ARLO test_bravo_sample_size_considers_all_candidate_pairs: a second round after 200/120/200
    c = build_contest(np.array([200_000, 120_000, 100_000]), ["a", "b", "c"], 500_000)
    s = np.array([200, 120, 200])
    assert bravo.asn(ALPHA, c, s) == 766
    assert bravo.quantile_sizes(ALPHA, c, sample=s) == {"0.7": 877, "0.8": 954, "0.9": 1075}
    # ARLO true_sample_sizes["test_cause_NaN_in_expected_prob"]: asn 6 (prob 0.67), 7 / 8 / 11
    c = build_contest(np.array([400, 10, 1]), ["a", "b", "c"], 500)
    assert bravo.asn(ALPHA, c) == 6
    assert round(bravo.prob_one_round(ALPHA, c, 6), 2) == 0.67
    assert bravo.quantile_sizes(ALPHA, c) == {"0.7": 7, "0.8": 8, "0.9": 11}


def test_plan_unanimous_contest():
    # was "math domain error"; Arlo test11 reports ASN 1 with prob 1 -- 4 ballots are what confirm
    from voteaudit.audit import measure, plan

    ids = np.array(["t1", "t2"])
    votes = np.array([[600, 0], [400, 0]])
    p = plan("bravo", ids, votes, ["a", "b"], np.array([600, 400]), risk_limit=ALPHA)
    assert p.sample_size == 4 and not p.full_hand_count
    assert p.prob_one_round == 1.0
    assert p.sizes_for_probability == {"0.7": 4, "0.8": 4, "0.9": 4}
    for n_a, verdict in [(3, "escalate"), (4, "confirmed")]:
        st = measure("bravo", ids, votes, ["a", "b"], np.array([600, 400]), risk_limit=ALPHA,
                     sampled_ids=["t1"] * n_a, audited_votes={"t1": np.array([n_a, 0])})
        assert st.verdict == verdict
        assert st.risk == pytest.approx(0.5 ** n_a)


def test_vote_for_loser_reported_with_none():
    # ARLO test_compute_risk_zero_test_statistic: [700, 200, 1, 0, 10], sample 7/0/0/12/3 at 5 %:
    # the cand1-cand4 risk is 1.0 and the audit is not finished (was an OverflowError in asn)
    from voteaudit.audit import measure

    names = ["cand1", "cand2", "cand3", "cand4", "cand5"]
    c = build_contest(np.array([700, 200, 1, 0, 10]), names, 1000)
    sample = np.array([7, 0, 0, 12, 3])
    got = dict(zip(c.pair_labels(), bravo.risks(c, sample), strict=True))
    assert got["cand1 > cand4"] == 1.0
    assert bravo.asn(0.05, c, sample) == 1000
    ids = np.array(["t1"])
    st = measure("bravo", ids, np.array([[700, 200, 1, 0, 10]]), names, np.array([1000]), risk_limit=0.05,
                 sampled_ids=["t1"] * 22, audited_votes={"t1": sample})
    assert st.risk == 1.0 and st.verdict == "full_hand_count"
    assert "cand1 > cand4" in st.notes
