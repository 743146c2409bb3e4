"""Tests that the mean of a non-negative population is at most t (SHANGRLA's ``NonnegMean``).

The engines under the audit methods, following P. B. Stark, "ALPHA: Audit that Learns from Previously
Hand-Audited Ballots", Ann. Appl. Stat. 17 (2023) and the SHANGRLA reference code
(``pbstark/SHANGRLA``, ``shangrla/core/NonnegMean.py``); values checked against its tests.

ALPHA supermartingale, draws x_1, x_2, ... in [0, u] (random order), null mean t:

    T_j = prod_{i<=j} ( x_i eta_i / m_i + (u - x_i)(u - eta_i)/(u - m_i) ) / u,   p = min(1, 1 / max_j T_j)

with m_i = t (with replacement) or (N t - S_i)/(N - i + 1) (without; S_i = x_1 + ... + x_{i-1}) and
eta_i the predictable estimate of the mean, e.g. shrink-truncate:

    eta_i = min( u(1-eps) - c/sqrt(d+i-1),  max( (d eta_0 + S_i)/(d+i-1),  m_i(1+eps) + c/sqrt(d+i-1) ) )

Kaplan–Markov (Stark 2009, "Risk-limiting post-election audits: P-values from common probability
inequalities"): p = min(1, min_j prod_{i<=j} (t + g)/(x_i + g)) for draws in random order, else the
product over all draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

EPS = float(np.finfo(float).eps)


def null_means(x: np.ndarray, t: float, N: float = math.inf) -> np.ndarray:
    """m_i: population mean after i-1 draws if the null (mean t) is true."""
    x = np.asarray(x, dtype=float)
    j = np.arange(1, x.shape[-1] + 1)
    if math.isinf(N):
        return np.full(x.shape, t)
    if j[-1] > N:
        raise ValueError("sample larger than the population")
    s = np.cumsum(x, axis=-1) - x
    return (N * t - s) / (N - j + 1)


def fixed_alternative_mean(x: np.ndarray, *, eta: float, N: float = math.inf, **_: float) -> np.ndarray:
    """eta_i for a fixed alternative population mean eta (adjusted for draws made, without replacement)."""
    return null_means(x, eta, N)


def shrink_trunc(x: np.ndarray, *, t: float, u: float, eta: float, N: float = math.inf,
                 d: float = 100.0, c: float | None = None) -> np.ndarray:
    """SHANGRLA's shrink-truncate estimator with f = 0 (no shrinkage towards u).

    Works on the last axis, so a (reps, n) array of simulated samples is processed at once.
    """
    x = np.asarray(x, dtype=float)
    if c is None:
        c = (eta - t) / 2 - EPS
    j = np.arange(1, x.shape[-1] + 1)
    s = np.cumsum(x, axis=-1) - x
    m = null_means(x, t, N)
    tol = c / np.sqrt(d + j - 1)
    est = (d * eta + s) / (d + j - 1)
    return np.minimum(u * (1 - EPS) - tol, np.maximum(est, m * (1 + EPS) + tol))


def alpha_mart(x: np.ndarray, *, t: float = 0.5, u: float = 1.0, N: float = math.inf,
               estim: Callable[..., np.ndarray] | None = None, **kw: float) -> tuple[np.ndarray, np.ndarray]:
    """ALPHA p-value and its sample-by-sample history (last axis = draw order).

    Returns (p, p_history) with p = min(1, 1/max_j T_j); for a (reps, n) input both are per row.
    ``estim`` defaults to :func:`shrink_trunc` (with ``eta`` = kw["eta"], default t + (u - t)/2).
    """
    x = np.asarray(x, dtype=float)
    eta0 = kw.pop("eta", t + (u - t) / 2)
    m = null_means(x, t, N)
    if estim is None:
        etaj = shrink_trunc(x, t=t, u=u, eta=eta0, N=N, **kw)
    else:
        etaj = estim(x, t=t, u=u, eta=eta0, N=N, **kw)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        terms = np.cumprod((x * etaj / m + (u - x) * (u - etaj) / (u - m)) / u, axis=-1)
    terms = np.where(m > u, 0.0, terms)
    terms = np.where(np.isclose(0, m, atol=2 * EPS) | np.isclose(u, m, atol=2 * EPS, rtol=1e-6), 1.0, terms)
    terms = np.where(np.isclose(0, terms, atol=2 * EPS), 1.0, terms)
    terms = np.where(m < 0, np.inf, terms)
    if not math.isinf(N):
        total = x.sum(axis=-1)
        last = terms[..., -1]
        terms[..., -1] = np.where(total > N * t, np.inf, last)
    with np.errstate(divide="ignore"):
        hist = np.minimum(1.0, 1.0 / terms)
    return np.minimum(1.0, 1.0 / np.max(terms, axis=-1)), hist


def kaplan_markov(x: np.ndarray, *, t: float = 0.5, g: float = 0.0,
                  random_order: bool = True) -> tuple[float, np.ndarray]:
    """Kaplan–Markov p-value: min over prefixes (random order) or the full product of (t+g)/(x_i+g)."""
    x = np.asarray(x, dtype=float)
    if np.any(x < 0):
        raise ValueError("negative value in a sample from a non-negative population")
    with np.errstate(divide="ignore"):
        hist = np.cumprod((t + g) / (x + g))
    p = float(np.min(hist)) if random_order else float(hist[-1])
    return min(1.0, p), np.minimum(hist, 1.0)


def optimal_comparison(u: float, p2: float = 1e-4) -> float:
    """SHANGRLA's ``optimal_comparison`` alternative mean for comparison assorters bounded by u:

    eta = (1 - u (1 - p2)) / (2 - 2u) + u (1 - p2) - 1/2, with p2 the expected rate of values 0
    (two-vote overstatements). Near u: an error-free comparison audit bets almost everything.
    """
    return (1 - u * (1 - p2)) / (2 - 2 * u) + u * (1 - p2) - 0.5


def constant_mean(x: np.ndarray, *, eta: float, **_: float) -> np.ndarray:
    """eta_i = eta for every draw (a fixed alternative, sampling with replacement)."""
    return np.full(np.shape(x), float(eta))


Test = Callable[..., tuple[np.ndarray, np.ndarray]]


def sample_size(x: np.ndarray, *, alpha: float, test: Test = alpha_mart, N: int, **kw: object) -> int:
    """Deterministic sample size: draws of the tiled pilot ``x`` until the p-value first reaches alpha.

    SHANGRLA's ``NonnegMean.sample_size`` with ``reps=None``: the population is ``x`` repeated to
    length N; returns N if the test never rejects.
    """
    pop = np.resize(np.asarray(x, dtype=float), int(N))
    hist = test(pop, N=N, **kw)[1]
    crossed = hist <= alpha
    return int(N if not crossed.any() else np.argmax(crossed) + 1)
