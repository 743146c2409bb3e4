"""Ballot polling with SHANGRLA assorters and ALPHA, with or without replacement (``--method polling``).

P. B. Stark, "Sets of half-average nulls generate risk-limiting audits: SHANGRLA" (2020) and "ALPHA"
(Ann. Appl. Stat. 17, 2023); reference code ``pbstark/SHANGRLA`` (``shangrla/core/NonnegMean.py``: the
``alpha_mart`` test with the ``shrink_trunc`` estimator, SHANGRLA's default for polling). Unlike BRAVO
it also runs *without replacement* (SHANGRLA's default), the finite-population ALPHA over the N ballots,
which needs fewer ballots on small contests.

Assertion j (see :mod:`.contest`) has the ballot assorter a(b) = (1 + m_j(b) / f_j) / 2 in [0, u],
u = 1/(2 f_j) (pair: 1 for the winner, 0 for the loser, 1/2 for any other ballot); the outcome is right
iff the mean of a over the N ballots exceeds 1/2. The drawn ballots' values, in draw order, are tested
with ALPHA (null mean 1/2) betting with shrink-truncate from eta_0 = the reported mean of a (SHANGRLA's
``shrink_trunc`` with d = 100, c = (eta_0 - 1/2)/2). The contest's risk is the largest assertion P.

Planning: the first-round size is the median, over ``reps`` simulated samples drawn from the reported
results (fixed seed), of the draws ALPHA needs (SHANGRLA's ``find_sample_size`` with quantile 0.5),
and the sizes for a 70/80/90 % chance are the matching quantiles.
"""

from __future__ import annotations

import math

import numpy as np

from .contest import Contest
from .martingale import alpha_mart, shrink_trunc


def values(contest: Contest, marks: np.ndarray) -> np.ndarray:
    """(n, J) assorter values of ballots with the given 0/1 marks (n, k), in draw order."""
    m = np.asarray(marks, dtype=float) @ contest.coef
    return (1.0 + m / contest.f) / 2.0


def reported_means(contest: Contest) -> np.ndarray:
    """Reported mean of each assertion's assorter over the N ballots."""
    return 0.5 + contest.margins / (2.0 * contest.f * max(contest.ballots, 1))


def alpha_test(x: np.ndarray, eta0: float, u: float, N: float) -> tuple[np.ndarray, np.ndarray]:
    c = (eta0 - 0.5) / 2
    return alpha_mart(x, t=0.5, u=u, N=N, eta=eta0, estim=shrink_trunc, d=100.0, c=c)


def risks(contest: Contest, vals: np.ndarray, N: int | None = None) -> np.ndarray:
    """ALPHA P-value per assertion from the (n, J) values; ``N``: ballots, when drawn without replacement."""
    vals = np.asarray(vals, dtype=float)
    eta0, u = reported_means(contest), 1.0 / (2.0 * contest.f)
    NN = math.inf if N is None else float(N)
    out = []
    for j in range(len(contest.assertions)):
        if eta0[j] <= 0.5 or vals.shape[0] == 0:
            out.append(1.0)
            continue
        out.append(float(alpha_test(vals[:, j], float(eta0[j]), float(u[j]), NN)[0]))
    return np.array(out)


def simulated_sizes(contest: Contest, alpha: float, *, replacement: bool = True, reps: int = 200,
                    n_max: int = 20_000, quantiles: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9),
                    seed: int = 20240728) -> dict[str, int]:
    """Quantiles over simulated samples (reported shares are the truth) of the draws ALPHA needs to reach
    ``alpha`` on every assertion; the ballots cast when it would not within ``n_max``."""
    N = contest.ballots
    k = len(contest.candidates)
    rng = np.random.default_rng(seed)
    p = np.append(contest.totals / max(N, 1), max(0.0, 1 - contest.totals.sum() / max(N, 1)))
    p = p / p.sum()
    n_max = int(min(n_max, N))
    eye = np.vstack([np.eye(k, dtype=np.int64), np.zeros((1, k), dtype=np.int64)])
    need = np.full(reps, N, dtype=np.int64)
    eta0, u = reported_means(contest), 1.0 / (2.0 * contest.f)
    NN = math.inf if replacement else float(N)
    for r in range(reps):
        if replacement or N > 200_000:   # a large contest: with and without replacement agree closely
            draw = rng.choice(k + 1, size=n_max, p=p)
        else:   # a random order of the reported ballots (blanks as the last category)
            counts = np.append(contest.totals, max(0, N - int(contest.totals.sum())))
            draw = rng.permutation(np.repeat(np.arange(k + 1), counts))[:n_max]
        v = values(contest, eye[draw])
        worst = 0
        for j in range(len(contest.assertions)):
            if eta0[j] <= 0.5:
                worst = N
                break
            hist = alpha_test(v[:, j], float(eta0[j]), float(u[j]), NN)[1]
            hit = np.flatnonzero(hist <= alpha)
            worst = max(worst, int(hit[0] + 1) if hit.size else N)
        need[r] = worst
    return {str(q): int(min(N, np.quantile(need, q, method="higher"))) for q in quantiles}
