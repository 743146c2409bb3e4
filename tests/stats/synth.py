"""Small synthetic elections for the stats tests and benchmarks (no fraud; known truth).

Kept local so the stats tests do not depend on ``voteaudit.simulate`` (written elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Election:
    votes: np.ndarray  # (n, k) int64
    registered: np.ndarray  # (n,) int64
    regions: np.ndarray  # (n,) str
    truth: np.ndarray  # (k,) true shares of valid votes


def election(n: int = 3000, k: int = 4, regions: int = 10, seed: int = 0) -> Election:
    """Tables in regions of unequal size; region- and table-level variation in preferences/turnout."""
    rng = np.random.default_rng(seed)
    sizes = rng.dirichlet(np.full(regions, 3.0))
    reg_of = rng.choice(regions, size=n, p=sizes)
    base = rng.dirichlet(np.linspace(4.0, 1.0, k))
    region_pref = rng.dirichlet(base * 30, size=regions)  # (R, k)
    registered = rng.integers(150, 900, size=n)
    turnout = np.clip(rng.beta(12, 8, size=n) + 0.05 * rng.standard_normal(regions)[reg_of], 0.05, 0.98)
    g = rng.gamma(region_pref[reg_of] * 60)
    table_pref = g / g.sum(axis=1, keepdims=True)
    voters = rng.binomial(registered, turnout)
    votes = rng.multinomial(voters, table_pref)
    tot = votes.sum(axis=0)
    return Election(votes.astype(np.int64), registered.astype(np.int64),
                    np.array([f"R{r:02d}" for r in reg_of]), tot / tot.sum())


def missing_mask(e: Election, kind: str, rate: float = 0.7, seed: int = 0) -> np.ndarray:
    """Covered-table mask: ``random`` (each table kept with prob. rate) or ``region`` (rate varies by
    region, and is lower where candidate 0 is stronger, so a naive estimate is biased)."""
    rng = np.random.default_rng(seed + 10_007)
    if kind == "random":
        return rng.random(e.votes.shape[0]) < rate
    keys, inv = np.unique(e.regions, return_inverse=True)
    share0 = np.bincount(inv, weights=e.votes[:, 0]) / np.bincount(inv, weights=e.votes.sum(axis=1))
    rank = share0.argsort().argsort() / max(len(keys) - 1, 1)
    p_region = 0.95 - 0.6 * rank  # strongest region of candidate 0 is covered 35 %
    return rng.random(e.votes.shape[0]) < p_region[inv]


def big_election(n: int, k: int = 4, regions: int = 24, seed: int = 0) -> Election:
    """Vectorised generator for benchmark sizes (10^6 tables)."""
    rng = np.random.default_rng(seed)
    reg_of = rng.integers(0, regions, size=n)
    registered = rng.integers(150, 900, size=n)
    pref = rng.dirichlet(np.linspace(4.0, 1.0, k), size=regions)[reg_of]
    pref = pref * rng.gamma(60, 1 / 60, size=(n, k))
    pref /= pref.sum(axis=1, keepdims=True)
    voters = rng.binomial(registered, 0.6)
    votes = np.empty((n, k), dtype=np.int64)
    rest = voters.copy()
    left = np.ones(n)
    for j in range(k - 1):
        q = np.clip(pref[:, j] / left, 0, 1)
        votes[:, j] = rng.binomial(rest, q)
        rest -= votes[:, j]
        left -= pref[:, j]
    votes[:, k - 1] = rest
    tot = votes.sum(axis=0)
    return Election(votes, registered.astype(np.int64), np.array([f"R{r:02d}" for r in reg_of]),
                    tot / tot.sum())
