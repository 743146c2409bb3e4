"""Batch-comparison audit with MACRO bounds, PPEB sampling and the Kaplan–Markov P-value.

P. B. Stark, "Efficient post-election audits of multiple contests: 2009 California tests" (MACRO, the
maximum across-contest relative overstatement; SSRN 1443314, 2009) and "Auditing a collection of races
simultaneously" (2008); PPEB sampling from Aslam, Popa & Rivest (2008). As in VotingWorks Arlo
(``votingworks/arlo``, ``server/audit_math/macro.py``), each contest is audited on its own, with the
maximum over its assertions (winner–loser pairs, thresholds: see :mod:`.contest`).

For table (batch) p with reported votes v_p, b_p ballots (at least what the votes imply: the largest
candidate's votes, and ceil(votes / n) in a vote-for-n contest, :func:`.contest.min_ballots`), and
assertion j with coefficient vector c_j
(m_j(v) = c_j . v), reported margin M_j and smallest coefficient -f_j:

    u_p = max_j (m_j(v_p) + f_j b_p) / M_j          (pair: (v_wp - v_lp + b_p) / V_wl)
    U   = sum_p u_p
    e_p = max(0, max_j (m_j(v_p) - m_j(a_p)) / M_j) (a_p: hand count; understatements count as 0)

Tables are drawn with replacement with probability u_p / U; after draws p_1..p_n

    P = prod_i (1 - 1/U) / (1 - e_{p_i} / u_{p_i})       (taint e/u = 1 gives P = 1)

First-round sample size (Arlo, including its "+1 per a recommendation from Mark Lindeman"):
n = ceil(ln alpha / ln(1 - 1/U)) + 1, at most the number of tables; a later round after measured
risk P needs ceil(ln(alpha/P) / ln(1 - 1/U)) + 1 more draws (0 once P <= alpha).
"""

from __future__ import annotations

import math

import numpy as np

from .contest import Contest, min_ballots


def _units(contest: Contest, votes: np.ndarray) -> np.ndarray:
    """(n, J) m_j(v_p)."""
    return np.asarray(votes, dtype=float) @ contest.coef


def max_errors(contest: Contest, votes: np.ndarray, ballots: np.ndarray) -> np.ndarray:
    """u_p per table (inf everywhere when some reported margin is not positive: a tie)."""
    votes = np.asarray(votes)
    M = contest.margins
    if M.size == 0 or np.any(M <= 0):
        return np.full(votes.shape[0], np.inf)
    b = min_ballots(votes, ballots, contest.votes_allowed).astype(float)   # never fewer than the votes imply
    u = (_units(contest, votes) + np.outer(b, contest.f)) / M
    return np.clip(u.max(axis=1), 0.0, None)


def overstatements(contest: Contest, reported: np.ndarray, audited: np.ndarray) -> np.ndarray:
    """e_p per table: largest relative overstatement of any reported margin, 0 if none."""
    M = contest.margins
    if M.size == 0 or np.any(M <= 0):
        diff = np.asarray(reported) - np.asarray(audited)
        return np.where(np.any(diff != 0, axis=1), np.inf, 0.0)
    e = (_units(contest, reported) - _units(contest, audited)) / M
    return np.clip(e.max(axis=1), 0.0, None)


def risk(u_drawn: np.ndarray, e_drawn: np.ndarray, U: float) -> float:
    """Kaplan–Markov P over the draws (repeats counted each time), capped at 1."""
    u_drawn, e_drawn = np.asarray(u_drawn, dtype=float), np.asarray(e_drawn, dtype=float)
    if not math.isfinite(U) or np.any(~np.isfinite(u_drawn)) or np.any(~np.isfinite(e_drawn)):
        return 1.0
    if U <= 1:
        return 0.0 if u_drawn.size else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        taint = np.where(u_drawn > 0, e_drawn / u_drawn, 0.0)
    if np.any(taint >= 1):
        return 1.0
    logp = u_drawn.size * math.log1p(-1.0 / U) - float(np.sum(np.log1p(-taint)))
    return min(1.0, math.exp(logp))


def first_round_size(alpha: float, U: float, n_units: int) -> int:
    """ceil(ln alpha / ln(1 - 1/U)) + 1, capped at the number of tables (all of them for a tie)."""
    return next_round_size(alpha, 1.0, U, n_units)


def next_round_size(alpha: float, p: float, U: float, n_units: int) -> int:
    """Further draws needed if they show no error, given measured risk ``p``; 0 once p <= alpha."""
    if not 0 < alpha < 1:
        raise ValueError(f"risk limit must be in (0, 1), got {alpha}")
    if p <= alpha:
        return 0
    if not math.isfinite(U):
        return n_units
    if U <= 1:
        return 1
    n = math.ceil(math.log(alpha / p) / math.log1p(-1.0 / U)) + 1
    return min(n, n_units)
