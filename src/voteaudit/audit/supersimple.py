"""Stark's super-simple comparison audit: Kaplan–Markov with error inflation gamma.

P. B. Stark, "Super-simple simultaneous single-ballot risk-limiting audits", EVT/WOTE 2010, and
"A gentle introduction to risk-limiting audits" (Lindeman & Stark 2012). Reference values: Arlo
(``votingworks/arlo``, ``server/audit_math/supersimple.py``) and N. McBurnett's ``rlacalc``
(``nealmcb/rlacalc``, ``src/rlacalc/__init__.py``).

With diluted margin mu = (W - L) / ballots (smallest over the assertions) and gamma = 1.03905:

    n_min = max(o1 + o2 + u1 + u2,
                ceil(-2 gamma [ln alpha + o1 ln(1 - 1/2gamma) + o2 ln(1 - 1/gamma)
                               + u1 ln(1 + 1/2gamma) + u2 ln(1 + 1/gamma)] / mu))
    P     = (1 - mu/2gamma)^n (1 - 1/2gamma)^-o1 (1 - 1/gamma)^-o2 (1 + 1/2gamma)^-u1 (1 + 1/gamma)^-u2

(o1, o2, u1, u2: one- and two-vote over- and understatements among the n audited ballots). Planning
from expected rates r1, r2, s1, s2 (Arlo's defaults 0.001, 0.0001, 0.001, 0.0001):
n0 = ceil(ln alpha / [ln(1 - mu/2gamma) - r1 ln(1 - 1/2gamma) - r2 ln(1 - 1/gamma) - s1 ln(1 + 1/2gamma)
- s2 ln(1 + 1/gamma)]), then n_min with o1 = ceil(r1 n0), u1 = ceil(s1 n0), o2 = round(r2 n0),
u2 = round(s2 n0).

On tally sheets (tables of b_p ballots) the same test is a batch comparison: a ballot is drawn
uniformly and its whole table hand-counted (PPEB with the per-ballot bound 2 gamma / V, i.e.
u_p = 2 gamma b_p / (mu N), U = 2 gamma / mu), and each draw contributes (1 - 1/U) / (1 - e_p / u_p)
with e_p the table's relative overstatement as in MACRO (:mod:`.macro`). For a table of one ballot
this is exactly the per-ballot factor above.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

GAMMA = 1.03905
O1, O2, U1, U2 = 0.001, 0.0001, 0.001, 0.0001  # Arlo's expected discrepancy rates per ballot


def _check(alpha: float, margin: float, gamma: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"risk limit must be in (0, 1), got {alpha}")
    if gamma <= 1:
        raise ValueError(f"gamma must exceed 1, got {gamma}")
    if not 0 < margin <= 1:
        raise ValueError(f"diluted margin must be in (0, 1], got {margin}")


def nmin(alpha: float, margin: float, o1: float = 0, o2: float = 0, u1: float = 0, u2: float = 0,
         gamma: float = GAMMA) -> int:
    """Ballots to audit to confirm at risk ``alpha`` given counts of discrepancies (formula above)."""
    _check(alpha, margin, gamma)
    s = (math.log(alpha) + o1 * math.log(1 - 1 / (2 * gamma)) + o2 * math.log(1 - 1 / gamma)
         + u1 * math.log(1 + 1 / (2 * gamma)) + u2 * math.log(1 + 1 / gamma))
    return int(max(o1 + o2 + u1 + u2, math.ceil(-2 * gamma * s / margin)))


def _half_up(x: float) -> int:
    return int(Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _denominator(margin: float, r1: float, r2: float, s1: float, s2: float, gamma: float) -> float:
    g1, g2 = 1 / (2 * gamma), 1 / gamma
    return (math.log(1 - margin / (2 * gamma)) - r1 * math.log(1 - g1) - r2 * math.log(1 - g2)
            - s1 * math.log(1 + g1) - s2 * math.log(1 + g2))


def expected_sample_size(alpha: float, margin: float, r1: float = O1, r2: float = O2, s1: float = U1,
                         s2: float = U2, gamma: float = GAMMA) -> float:
    """n0 = ceil(ln alpha / denominator) from rates (rlacalc ``KM_Expected_sample_size``); NaN if none."""
    _check(alpha, margin, gamma)
    d = _denominator(margin, r1, r2, s1, s2, gamma)
    return float(math.ceil(math.log(alpha) / d)) if d < 0 else math.nan


def sample_size(alpha: float, margin: float, ballots: int, *, sampled: int = 0, o1: int = 0, o2: int = 0,
                r1: float = O1, r2: float = O2, s1: float = U1, s2: float = U2, gamma: float = GAMMA) -> int:
    """Further ballots to audit (Arlo ``get_sample_sizes``).

    Before any draw (``sampled`` = 0) uses the expected rates; after ``sampled`` draws with ``o1``
    one-vote and ``o2`` two-vote overstatements it uses the observed rates (understatements are
    ignored, conservatively) and returns the stopping size minus the draws already made.
    Capped at ``ballots`` (a full hand count).
    """
    _check(alpha, margin, gamma)
    if sampled:
        r1, r2, s1, s2 = o1 / sampled, o2 / sampled, 0.0, 0.0
    d = _denominator(margin, r1, r2, s1, s2, gamma)
    if d >= 0:
        stop = ballots
    else:
        n0 = math.ceil(math.log(alpha) / d)
        c_o1, c_u1 = math.ceil(r1 * n0), math.ceil(s1 * n0)
        c_o2, c_u2 = _half_up(r2 * n0), _half_up(s2 * n0)
        stop = min(nmin(alpha, margin, c_o1, c_o2, c_u1, c_u2, gamma), ballots)
    return max(stop - sampled, 0)


def p_value(n: int, margin: float, o1: int = 0, o2: int = 0, u1: int = 0, u2: int = 0,
            gamma: float = GAMMA) -> float:
    """Kaplan–Markov P after n ballots with the given discrepancy counts (rlacalc ``KM_P_value``)."""
    return ((1 - margin / (2 * gamma)) ** n * (1 - 1 / (2 * gamma)) ** (-o1) * (1 - 1 / gamma) ** (-o2)
            * (1 + 1 / (2 * gamma)) ** (-u1) * (1 + 1 / gamma) ** (-u2))


def bounds(ballots: np.ndarray, margin: float, gamma: float = GAMMA) -> tuple[np.ndarray, float]:
    """Per-table error bounds u_p = 2 gamma b_p / (mu N) and their total U = 2 gamma / mu."""
    b = np.asarray(ballots, dtype=float)
    N = float(b.sum())
    if margin <= 0 or N <= 0:
        return np.full(b.shape, np.inf), math.inf
    return 2 * gamma * b / (margin * N), 2 * gamma / margin
