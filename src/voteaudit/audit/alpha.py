"""Batch-comparison audit with SHANGRLA assorters and the ALPHA supermartingale.

P. B. Stark, "Sets of half-average nulls generate risk-limiting audits: SHANGRLA" (Voting '20) and
"ALPHA: Audit that Learns from Previously Hand-Audited Ballots", Ann. Appl. Stat. 17 (2023); reference
code ``pbstark/SHANGRLA`` (``shangrla/core/NonnegMean.py``; engine in :mod:`.martingale`).

Assertion j (see :mod:`.contest`) has the ballot-level assorter a(b) = 1/2 (1 + m_j(b) / f_j), in
[0, u] with u = 1/(2 f_j) (pair: 1 for the winner, 0 for the loser, 1/2 otherwise; threshold f:
SHANGRLA's super-majority assorter 1/(2f) / 0 / 1/2); the outcome is right iff the mean of a over
the N ballots exceeds 1/2. Reported assorter margin v = 2 mean(a) - 1 = M_j / (f_j N).

Tally sheets: a ballot is drawn uniformly (with replacement) and its whole table p (b_p ballots)
hand-counted; the table's average overstatement per ballot is

    w_p = (m_j(v_p) - m_j(a_p)) / (2 f_j b_p)           (v_p reported, a_p audited)

and the draw's comparison-assorter value is B = (1 - w_p / u) / (2 - v / u), in [0, 2/(2 - v/u)],
whose mean over ballots exceeds 1/2 iff the outcome is right. Each assertion's B values are tested
with ALPHA (null mean t = 1/2, sampling with replacement; without replacement, ``--without-replacement``,
the finite-population ALPHA over the N ballots, SHANGRLA's default) betting with SHANGRLA's fixed
``optimal_comparison`` alternative eta = (1 - u_B(1 - p2))/(2 - 2u_B) + u_B(1 - p2) - 1/2 (p2 = 1e-4,
the expected rate of B = 0, i.e. Arlo's two-vote overstatement rate); the contest's risk is the
largest assertion P-value. An error-free draw has B = B0 = 1/(2 - v/u) and multiplies the martingale
by g = (B0 eta / t + (u_B - B0)(u_B - eta)/(u_B - t)) / u_B, so the error-free sample size is
n = ceil(ln(1/alpha) / ln g).
"""

from __future__ import annotations

import math

import numpy as np

from .contest import Contest
from .martingale import alpha_mart, constant_mean, optimal_comparison

P2 = 1e-4


def assorter_margins(contest: Contest) -> tuple[np.ndarray, np.ndarray]:
    """Per assertion (v, u): reported assorter margin and assorter upper bound."""
    f = contest.f
    N = max(contest.ballots, 1)
    return contest.margins / (f * N), 1.0 / (2.0 * f)


def comparison_values(contest: Contest, reported: np.ndarray, audited: np.ndarray,
                      ballots: np.ndarray) -> np.ndarray:
    """(n, J) comparison-assorter values B for drawn tables (rows in draw order)."""
    v, u = assorter_margins(contest)
    coef, f = contest.coef, contest.f
    b = np.maximum(np.asarray(ballots, dtype=float), 1.0)[:, None]
    delta = (np.asarray(reported, dtype=float) - np.asarray(audited, dtype=float)) @ coef
    w = delta / (2.0 * f * b)
    with np.errstate(divide="ignore", invalid="ignore"):
        B = (1.0 - w / u) / (2.0 - v / u)
    return np.clip(B, 0.0, 2.0 / (2.0 - v / u))


def estimator(N: float | None):
    """(estimator, N) for alpha_mart: SHANGRLA's ``optimal_comparison`` bets a constant eta with or without
    replacement (``NonnegMean.optimal_comparison`` returns a scalar); without (finite N) only the null
    mean is adjusted for the draws made, m_i = (N/2 - S_i) / (N - i + 1)."""
    return constant_mean, (math.inf if N is None else float(N))


def risks(contest: Contest, B: np.ndarray, N: int | None = None) -> np.ndarray:
    """ALPHA P-value per assertion from the (n, J) or (reps, n, J) comparison values.

    ``N``: the number of ballots when they were drawn without replacement (SHANGRLA's finite-population
    ALPHA: null mean m_i = (N/2 - S_i) / (N - i + 1)); None for draws with replacement."""
    estim, NN = estimator(N)
    v, u = assorter_margins(contest)
    B = np.asarray(B, dtype=float)
    out = []
    for j in range(v.size):
        if v[j] <= 0:
            out.append(np.ones(B.shape[:-2]) if B.ndim == 3 else 1.0)
            continue
        uB = 2.0 / (2.0 - v[j] / u[j])
        x = B[..., j]
        if x.shape[-1] == 0:
            out.append(np.ones(x.shape[:-1]) if x.ndim == 2 else 1.0)
            continue
        out.append(alpha_mart(x, t=0.5, u=uB, N=NN, eta=optimal_comparison(uB, P2), estim=estim)[0])
    return np.array(out, dtype=float)


def growth(contest: Contest) -> np.ndarray:
    """Per-assertion factor g by which an error-free draw multiplies the ALPHA martingale."""
    v, u = assorter_margins(contest)
    with np.errstate(divide="ignore", invalid="ignore"):
        b0 = 1.0 / (2.0 - v / u)
        uB = 2.0 * b0
        eta = optimal_comparison(uB, P2)
        g = (b0 * eta / 0.5 + (uB - b0) * (uB - eta) / (uB - 0.5)) / uB
    return np.where(v > 0, g, 1.0)


def sample_size(contest: Contest, alpha: float, n_cap: int, N: int | None = None) -> int:
    """Draws needed if no table shows an error: max_j ceil(ln(1/alpha) / ln g_j), capped. Without
    replacement (``N`` ballots) the error-free sequence B0, B0, ... is run through the finite-population
    martingale instead (never more draws than with replacement)."""
    if not 0 < alpha < 1:
        raise ValueError(f"risk limit must be in (0, 1), got {alpha}")
    g = growth(contest)
    if g.size == 0 or np.any(g <= 1):
        return n_cap
    need = [math.ceil(math.log(1 / alpha) / math.log(gj)) for gj in g]
    if N is not None:
        v, u = assorter_margins(contest)
        for j, nj in enumerate(need):
            b0 = 1.0 / (2.0 - v[j] / u[j])
            uB = 2.0 * b0
            x = np.full(min(nj, int(N)), b0)
            hist = alpha_mart(x, t=0.5, u=uB, N=float(N), eta=optimal_comparison(uB, P2),
                              estim=constant_mean)[1]
            hit = np.flatnonzero(hist <= alpha)
            need[j] = int(hit[0] + 1) if hit.size else nj
    return int(min(n_cap, max(need)))


def next_round_size(contest: Contest, alpha: float, p: np.ndarray, n_cap: int) -> int:
    """Further error-free draws for every assertion's P to reach alpha (0 when all have)."""
    g = growth(contest)
    p = np.atleast_1d(np.asarray(p, dtype=float))
    need = 0
    for gj, pj in zip(g, p, strict=True):
        if pj <= alpha:
            continue
        if gj <= 1:
            return n_cap
        need = max(need, math.ceil(math.log(pj / alpha) / math.log(gj)))
    return int(min(need, n_cap))
