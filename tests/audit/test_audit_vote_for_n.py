"""Vote-for-n (Arlo's ``votesAllowed``) in MACRO and super-simple.

Arlo (votingworks/arlo 8d86156c, server/audit_math/macro.py ``compute_max_error``) bounds a batch's
error for pair (w, l) by u_p = (v_wp - v_lp + b_p) / V_wl with b_p the batch's *ballots*, whatever the
number of votes a ballot may hold: a ballot holds at most one vote for each candidate. Before, voteaudit
used b_p = max(ballots, votes), over-conservative by up to n in a vote-for-n contest.
"""

import math

import numpy as np
import pytest

from voteaudit import audit
from voteaudit.audit import build_contest, macro, supersimple
from voteaudit.audit.contest import min_ballots
from voteaudit.audit.simulation import confirm_rate

NAMES = ["a", "b", "c", "d"]


def vote_for_two(n=60, seed=3):
    rng = np.random.default_rng(seed)
    b = rng.integers(300, 400, n)
    # every ballot marks two of four candidates, with shares 0.34 / 0.30 / 0.20 / 0.16 of the votes
    votes = np.column_stack([rng.binomial(b, p) for p in (0.68, 0.60, 0.40, 0.32)])
    votes[:, 3] = np.minimum(votes[:, 3], 2 * b - votes[:, :3].sum(axis=1))    # at most two marks a ballot
    assert np.all(votes[:, 3] >= 0)
    return np.array([f"t{i}" for i in range(n)]), votes, b


def test_min_ballots():
    votes = np.array([[3, 2, 1], [1, 0, 0], [5, 5, 0]])
    assert min_ballots(votes, np.array([2, 4, 4]), 2).tolist() == [3, 4, 5]
    assert min_ballots(votes, np.array([2, 4, 4]), 1).tolist() == [6, 4, 10]
    with pytest.raises(ValueError):
        min_ballots(votes, np.array([2, 4, 4]), 0)


def test_macro_bound_is_arlos_formula():
    ids, votes, b = vote_for_two()
    assert np.all(votes.sum(axis=1) > b)               # more votes than ballots: vote-for-two
    c = build_contest(votes, NAMES, b, winners=2, votes_allowed=2)
    u = macro.max_errors(c, votes, b)
    tot = votes.sum(axis=0)
    by_hand = np.max([(votes[:, w] - votes[:, lo] + b) / (tot[w] - tot[lo]) for w in (0, 1) for lo in (2, 3)],
                     axis=0)
    assert u == pytest.approx(by_hand, rel=1e-12)
    p = audit.plan("macro", ids, votes, NAMES, b, risk_limit=0.1, winners=2, votes_allowed=2)
    U = float(by_hand.sum())
    assert p.sample_size == min(len(ids), math.ceil(math.log(0.1) / math.log1p(-1 / U)) + 1)
    # vote-for-1 treatment of the same file (b_p = votes) needs more tables
    old = audit.plan("macro", ids, votes, NAMES, votes.sum(axis=1), risk_limit=0.1, winners=2)
    assert old.sample_size > p.sample_size


def test_supersimple_diluted_margin_is_over_ballots():
    ids, votes, b = vote_for_two()
    p = audit.plan("supersimple", ids, votes, NAMES, b, risk_limit=0.1, winners=2, votes_allowed=2)
    tot = votes.sum(axis=0)
    mu = (tot[1] - tot[2]) / b.sum()                   # smallest winner-loser margin over ballots (Arlo)
    assert p.diluted_margin == pytest.approx(mu)
    assert p.sample_size == supersimple.sample_size(0.1, mu, int(b.sum()))


def test_other_methods_refuse_vote_for_n():
    ids, votes, b = vote_for_two()
    for method in ("alpha", "bravo", "minerva"):
        with pytest.raises(ValueError, match="votes-allowed"):
            audit.plan(method, ids, votes, NAMES, b, risk_limit=0.1, winners=2, votes_allowed=2)
    with pytest.raises(ValueError, match="votes allowed"):
        build_contest(votes, NAMES, b, threshold=0.5, votes_allowed=2)


@pytest.mark.parametrize("method", ["macro", "supersimple"])
def test_wrong_vote_for_two_outcome_is_rarely_confirmed(method):
    # truth: c beats b; the reported results move votes from c to b in a fifth of the tables
    ids, true, b = vote_for_two(n=80, seed=9)
    true[:, [1, 2]] = true[:, [2, 1]]
    rep = true.copy()
    gap = int(true[:, 2].sum() - true[:, 1].sum()) + 20
    moved = np.arange(0, 80, 5)
    shift = np.minimum(true[moved, 2], -(-gap // len(moved)))
    rep[moved, 1] += shift
    rep[moved, 2] -= shift
    rep[moved, 1] = np.minimum(rep[moved, 1], b[moved])
    assert rep[:, 1].sum() > rep[:, 2].sum()
    rate = confirm_rate(method, rep, true, b, risk_limit=0.1, reps=400, max_draws=80, winners=2, votes_allowed=2)
    assert rate <= 0.1 + 3 * math.sqrt(0.1 * 0.9 / 400)
