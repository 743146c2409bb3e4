"""MACRO batch comparison against Arlo's published test values.

Reference: votingworks/arlo, server/tests/audit_math/test_macro.py (fixture of 400 batches, contests
A/B/C at risk limit 25 %, first-round sizes 30/16/11 and "test2" 4; later rounds 26/12/7, then C -5,
then 0; p-values (20/21)^30, (10/11)^30, (20/23)^36 and ^39; max errors 0.07/0.035/0.0733/...).
"""

import math

import numpy as np
import pytest

from voteaudit.audit import build_contest, macro

ALPHA = 0.25


def arlo_batches():
    """Per contest: (names, votes (n,2), ballots (n,)) over the 400 Arlo batches, 0 where absent."""
    names = [f"Batch {i}" for i in range(200)] + [f"Batch {i} AV" for i in range(200)]
    n = len(names)
    out = {}
    for contest, lo, hi_sets in (
        ("Contest A", (200, 180, 400), [range(200)]),
        ("Contest B", (200, 160, 400), [range(100)]),
        ("Contest C", (200, 140, 400), [range(30), range(100, 130)]),
    ):
        votes = np.zeros((n, 2), dtype=np.int64)
        ballots = np.zeros(n, dtype=np.int64)
        for rng_ in hi_sets:
            for i in rng_:
                votes[i] = lo[:2]
                ballots[i] = lo[2]
                votes[200 + i] = (lo[0] // 2, lo[1] // 2)
                ballots[200 + i] = lo[2] // 2
        out[contest] = (names, votes, ballots)
    return out


@pytest.fixture(scope="module")
def batches():
    return arlo_batches()


def test_max_error(batches):
    expected = {"Contest A": (0.07, 0.035), "Contest B": (0.0733, 0.0367), "Contest C": (0.0852, 0.0426)}
    for name, (_, votes, ballots) in batches.items():
        contest = build_contest(votes, ["winner", "loser"], ballots)
        u = macro.max_errors(contest, votes, ballots)
        present = ballots > 0
        assert np.all(u[~present] == 0)
        full, av = expected[name]
        assert np.allclose(u[:200][present[:200]], full, atol=1e-3)
        assert np.allclose(u[200:][present[200:]], av, atol=1e-3)


def test_first_round_sizes(batches):
    expected = {"Contest A": 30, "Contest B": 16, "Contest C": 11}
    for name, (names, votes, ballots) in batches.items():
        contest = build_contest(votes, ["winner", "loser"], ballots)
        U = macro.max_errors(contest, votes, ballots).sum()
        assert macro.first_round_size(ALPHA, U, len(names)) == expected[name]
    # "test2": cand1 400, cand2 100 in batches 0-9 only, each (40, 10, 50 ballots) -> 4
    votes = np.zeros((400, 2), dtype=np.int64)
    ballots = np.zeros(400, dtype=np.int64)
    votes[:10] = (40, 10)
    ballots[:10] = 50
    contest = build_contest(votes, ["cand1", "cand2"], ballots)
    assert macro.first_round_size(ALPHA, macro.max_errors(contest, votes, ballots).sum(), 400) == 4


def _risk(votes, ballots, drawn, audited):
    contest = build_contest(votes, ["winner", "loser"], ballots)
    u = macro.max_errors(contest, votes, ballots)
    e = macro.overstatements(contest, votes[drawn], audited)
    return macro.risk(u[drawn], e, u.sum()), u.sum()


def test_later_rounds_and_p_values(batches):
    # round 2 after 4 clean batches: 26 / 12 / 7
    second = {"Contest A": 26, "Contest B": 12, "Contest C": 7}
    for name, (names, votes, ballots) in batches.items():
        drawn = np.arange(4)
        p, U = _risk(votes, ballots, drawn, votes[drawn])
        assert macro.next_round_size(ALPHA, p, U, len(names)) == second[name]
    # round 3: batches 4-8 with A audited 190/190 (taint 1/21: p unchanged), C clean: C needs 2
    names, votes, ballots = batches["Contest A"]
    drawn = np.arange(9)
    aud = votes[drawn].copy()
    aud[4:9] = (190, 190)
    p, U = _risk(votes, ballots, drawn, aud)
    assert macro.next_round_size(ALPHA, p, U, len(names)) == 26
    names, votes, ballots = batches["Contest C"]
    p, U = _risk(votes, ballots, drawn, votes[drawn])
    assert macro.next_round_size(ALPHA, p, U, len(names)) == 2
    drawn = np.arange(10)
    p, U = _risk(votes, ballots, drawn, votes[drawn])
    assert macro.next_round_size(ALPHA, p, U, len(names)) == 0


def test_compute_risk(batches):
    # 30 clean draws (batches 0-29) + 6 draws of batches 100-105: A audited 190/190, C clean
    expected = {"Contest A": (20 / 21) ** 30, "Contest B": (10 / 11) ** 30, "Contest C": (20 / 23) ** 36}
    dup = {"Contest A": (20 / 21) ** 30, "Contest B": (10 / 11) ** 30, "Contest C": (20 / 23) ** 39}
    for name, (_, votes, ballots) in batches.items():
        drawn = list(range(30)) + ([] if name == "Contest B" else list(range(100, 106)))
        aud = votes[drawn].copy()
        if name == "Contest A":
            aud[30:] = (190, 190)
        p, _ = _risk(votes, ballots, np.array(drawn), aud)
        assert p == pytest.approx(expected[name], abs=1e-4)
        assert p <= ALPHA
        extra = [] if name == "Contest B" else [100, 101, 102]
        drawn2 = np.array(drawn + extra)
        aud2 = np.vstack([aud, aud[30:33]]) if extra else aud
        p2, _ = _risk(votes, ballots, drawn2, aud2)
        assert p2 == pytest.approx(dup[name], abs=1e-4)


def test_worst_case_and_ties():
    # Arlo test_worst_case: winner 1000-0 in 2 batches of 500; batch 1 audited 0-500 -> p = 1
    votes = np.array([[500, 0], [500, 0]])
    ballots = np.array([500, 500])
    p, _ = _risk(votes, ballots, np.array([0]), np.array([[0, 500]]))
    assert p == 1.0
    # Arlo test_tied_contest: 100 batches 500-500 -> full hand count; p stays above alpha
    votes = np.tile([500, 500], (100, 1))
    ballots = np.full(100, 1000)
    contest = build_contest(votes, ["w", "l"], ballots)
    u = macro.max_errors(contest, votes, ballots)
    assert macro.first_round_size(ALPHA, u.sum(), 100) == 100
    assert macro.risk(u[:1], np.zeros(1), u.sum()) > ALPHA
    # Arlo test_close_contest: 200-198 over 4 batches -> every batch
    votes = np.array([[100, 0], [100, 0], [0, 100], [0, 98]])
    ballots = np.full(4, 100)
    contest = build_contest(votes, ["w", "l"], ballots)
    u = macro.max_errors(contest, votes, ballots)
    assert macro.first_round_size(ALPHA, u.sum(), 4) == 4
    assert macro.risk(u[:1], np.zeros(1), u.sum()) > ALPHA


def test_formula_matches_methods_md():
    U = 21.0
    assert macro.first_round_size(0.1, U, 10**6) == math.ceil(math.log(0.1) / math.log(1 - 1 / U)) + 1
