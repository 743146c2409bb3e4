"""Simulated audits: how often an audit confirms the reported outcome, given the true table results.

Used to check the risk limit empirically (with a wrong reported outcome the audit must confirm in at
most a fraction alpha of audits) and the power (with a right one it should confirm). Each replicate
draws with replacement from the method's sampling distribution (numpy's generator stands in for the
SHA-256 sampler: the draws have the same distribution) and applies the method's test after every draw
— at least as many chances to confirm as any schedule of rounds, so the rate bounds every schedule —
up to ``max_draws`` draws, after which the audit would go to a full hand count (which finds the true
outcome: never a wrong confirmation).
"""

from __future__ import annotations

import math

import numpy as np

from . import alpha as alpha_m
from . import bravo as bravo_m
from . import macro as macro_m
from . import minerva as minerva_m
from . import polling as polling_m
from . import supersimple as ss_m
from .contest import build_contest
from .martingale import optimal_comparison
from .plan import check_method, check_replacement, manifest


def confirm_rate(method: str, reported: np.ndarray, true: np.ndarray, ballots: np.ndarray, *,
                 risk_limit: float, reps: int = 1000, max_draws: int = 500, winners: int = 1,
                 threshold: float | None = None, seed: int = 1, chunk: int = 250, votes_allowed: int = 1,
                 replacement: bool = True) -> float:
    """Fraction of ``reps`` simulated audits that confirm the outcome reported in ``reported``.
    ``replacement=False`` (ALPHA): ballots drawn without replacement, tested with the finite-population ALPHA."""
    check_method(method)
    check_replacement(method, replacement)
    reported, true = np.asarray(reported, dtype=np.int64), np.asarray(true, dtype=np.int64)
    ballots = manifest(method, np.maximum(reported, true), np.asarray(ballots, dtype=np.int64), votes_allowed)
    k = reported.shape[1]
    contest = build_contest(reported, [f"c{i}" for i in range(k)], ballots, winners=winners,
                            threshold=threshold, votes_allowed=votes_allowed)
    rng = np.random.default_rng(seed)
    la = math.log(risk_limit)
    confirmed = 0
    b = ballots.astype(float)
    if method == "macro":
        w = macro_m.max_errors(contest, reported, ballots)
        U = float(w.sum())
    else:
        w = b
    cum = np.cumsum(w)
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        if method == "bravo":
            confirmed += _bravo_chunk(contest, true, ballots, r, max_draws, la, rng)
            continue
        if method == "minerva":
            confirmed += _minerva_chunk(contest, true, ballots, r, max_draws, risk_limit, rng)
            continue
        if method == "polling":
            confirmed += _alpha_polling_chunk(contest, true, ballots, r, max_draws, risk_limit, rng, replacement)
            continue
        if replacement:
            idx = np.minimum(np.searchsorted(cum, rng.random((r, max_draws)) * cum[-1], side="right"), w.size - 1)
        else:
            max_draws = min(max_draws, int(cum[-1]))
            picks = np.array([rng.choice(int(cum[-1]), size=max_draws, replace=False) for _ in range(r)])
            idx = np.searchsorted(cum, picks, side="right")
        if method == "alpha":
            v, u = alpha_m.assorter_margins(contest)
            ok = np.ones(r, dtype=bool)
            for j in range(v.size):
                B = alpha_m.comparison_values(contest, reported[idx.ravel()], true[idx.ravel()],
                                              ballots[idx.ravel()])[:, j].reshape(r, max_draws)
                uB = 2 / (2 - v[j] / u[j])
                estim, NN = alpha_m.estimator(None if replacement else contest.ballots)
                hist = alpha_m.alpha_mart(B, t=0.5, u=uB, N=NN, eta=optimal_comparison(uB, alpha_m.P2),
                                          estim=estim)[1]
                ok &= np.min(hist, axis=1) <= risk_limit
            confirmed += int(ok.sum())
            continue
        if method == "supersimple":
            bound, U = ss_m.bounds(b, contest.diluted_margin)
            up = bound[idx]
        else:
            up = w[idx]
        e = macro_m.overstatements(contest, reported[idx.ravel()], true[idx.ravel()]).reshape(r, max_draws)
        with np.errstate(divide="ignore", invalid="ignore"):
            taint = np.where(up > 0, e / up, 0.0)
        step = np.where(taint >= 1, np.inf, math.log1p(-1 / U) - np.log1p(-np.minimum(taint, 1 - 1e-15)))
        logp = np.cumsum(step, axis=1)
        confirmed += int(np.sum(np.min(logp, axis=1) <= la))
    return confirmed / reps


def _polled(true: np.ndarray, ballots: np.ndarray, r: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(r, n) candidate index on ballots drawn uniformly with replacement from the true contents
    (table-major manifest, blanks last; k means blank/invalid)."""
    cum_b = np.cumsum(ballots)
    x = rng.integers(0, cum_b[-1], size=(r, n))
    t = np.searchsorted(cum_b, x, side="right")
    offset = x - np.where(t > 0, cum_b[np.maximum(t - 1, 0)], 0)
    cv = np.cumsum(true, axis=1)[t]                            # (r, n, k)
    return (offset[..., None] >= cv).sum(axis=2)


def _bravo_chunk(contest, true: np.ndarray, ballots: np.ndarray, r: int, n: int, la: float,
                 rng: np.random.Generator) -> int:
    """BRAVO on ballots drawn from the true contents."""
    cand = _polled(true, ballots, r, n, rng)
    ok = np.ones(r, dtype=bool)
    for a in contest.assertions:
        s, _, _ = bravo_m._shares(contest, a)
        if s <= a.f:
            return 0
        plus = np.isin(cand, a.plus)
        minus = np.isin(cand, a.minus)
        lw = math.log(s / a.f)
        ll = math.log((1 - s) / (1 - a.f)) if s < 1 else -math.inf
        with np.errstate(invalid="ignore"):
            step = np.where(plus, lw, 0.0) + np.where(minus, ll, 0.0)
        logt = np.cumsum(step, axis=1)
        ok &= np.max(logt, axis=1) >= -la
    return int(ok.sum())


def _minerva_chunk(contest, true: np.ndarray, ballots: np.ndarray, r: int, n: int, alpha: float,
                   rng: np.random.Generator) -> int:
    """Minerva in rounds: the plan's 90 % first round, then Arlo's int(n1 1.5^j) more, while the
    cumulative draws stay within ``n`` (then a full hand count). A replicate confirms when every pair
    stops in some round (r_j <= alpha)."""
    n1 = minerva_m.first_round_sizes(alpha, contest, (0.9,))["0.9"]
    ends, total, j = [], n1, 1
    while total <= n:
        ends.append(total)
        j += 1
        total += int(n1 * minerva_m.MULTIPLE ** j)
    if not ends:
        return 0
    cand = _polled(true, ballots, r, ends[-1], rng)
    confirmed = 0
    for rep in range(r):
        ok = True
        for a in contest.assertions:
            vw, vl = int(contest.totals[a.plus[0]]), int(contest.totals[a.minus[0]])
            w = np.cumsum(cand[rep] == a.plus[0])[np.array(ends) - 1]
            lo = np.cumsum(cand[rep] == a.minus[0])[np.array(ends) - 1]
            if vl == 0 and lo[-1] > 0:
                ok = False
                break
            rk = minerva_m.pair_risks(vw / (vw + vl), alpha, (w + lo).tolist(), w.tolist())
            if not any(x <= alpha for x in rk):
                ok = False
                break
        confirmed += ok
    return confirmed


def _alpha_polling_chunk(contest, true: np.ndarray, ballots: np.ndarray, r: int, n: int, alpha: float,
                         rng: np.random.Generator, replacement: bool) -> int:
    """ALPHA ballot polling on ballots drawn from the true contents, with or without replacement."""
    k = len(contest.candidates)
    if replacement:
        cand = _polled(true, ballots, r, n, rng)
    else:
        pool = np.concatenate([np.repeat(np.arange(k + 1), np.append(row, max(0, b - row.sum())))
                               for row, b in zip(true, ballots, strict=True)])
        n = min(n, pool.size)
        cand = np.array([rng.permutation(pool)[:n] for _ in range(r)])
    eye = np.vstack([np.eye(k), np.zeros((1, k))])
    vals = polling_m.values(contest, eye[cand.ravel()]).reshape(r, n, -1)
    N = None if replacement else contest.ballots
    ok = np.ones(r, dtype=bool)
    eta0, u = polling_m.reported_means(contest), 1.0 / (2.0 * contest.f)
    for j in range(len(contest.assertions)):
        if eta0[j] <= 0.5:
            return 0
        hist = polling_m.alpha_test(vals[..., j], float(eta0[j]), float(u[j]), math.inf if N is None else float(N))[1]
        ok &= np.min(hist, axis=1) <= alpha
    return int(ok.sum())
