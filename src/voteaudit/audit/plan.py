"""Planning: first-round sample size, chance of finishing in one round, sizes for given chances.

The headline ``sample_size`` is each method's reference formula (Arlo's for MACRO, super-simple and
BRAVO; ALPHA's error-free growth), so it equals the reference implementations' values. The chance of
finishing in one round is estimated by simulating the audit (``reps`` replicates, a fixed seed so the
plan is reproducible) under an error model of expected discrepancies: each ballot reported for the
winning side of the hardest assertion is, independently, a one-vote overstatement with probability
``o1_rate`` (really blank/invalid) and a two-vote overstatement with probability ``o2_rate`` (really
for the other side); understatements, which only help, are ignored. BRAVO uses Arlo's analytic
approximation instead (the sample is of ballots, and its outcome is binomial).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..result import _clean
from . import alpha as alpha_m
from . import bravo as bravo_m
from . import macro as macro_m
from . import minerva as minerva_m
from . import polling as polling_m
from . import supersimple as ss_m
from .contest import Contest, build_contest, min_ballots
from .martingale import constant_mean, optimal_comparison

METHODS = ("macro", "supersimple", "alpha", "bravo", "minerva", "polling")
SAMPLING = {"macro": "ppeb", "supersimple": "ballots", "alpha": "ballots", "bravo": "ballots", "minerva": "ballots",
            "polling": "ballots"}
POLLING = ("bravo", "minerva", "polling")   # ballot polling: draws and sizes count ballots, not tables
PROBABILITIES = (0.7, 0.8, 0.9)


@dataclass
class AuditPlan:
    """What a first round needs. ``sample_size`` counts draws (tables for comparison methods,
    ballots for BRAVO), repeats included; ``full_hand_count`` when the audit cannot beat counting
    everything."""

    method: str
    risk_limit: float
    sample_size: int
    sampling: str
    n_units: int
    ballots: int
    outcome: str
    winners: list[str]
    diluted_margin: float
    assertions: list[dict[str, Any]]
    prob_one_round: float | None
    sizes_for_probability: dict[str, int | None]
    full_hand_count: bool
    total_error_bound: float | None = None
    error_model: dict[str, float] = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _clean(dict(self.__dict__))


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown audit method {method!r}; expected one of {', '.join(METHODS)}")
    return method


VOTE_FOR_N = ("macro", "supersimple")   # methods whose bounds here are derived for vote-for-n


def manifest(method: str, votes: np.ndarray, ballots: np.ndarray, votes_allowed: int = 1) -> np.ndarray:
    """Ballots per table the audit uses (:func:`.contest.min_ballots`); vote-for-n only where derived."""
    if votes_allowed != 1 and method not in VOTE_FOR_N:
        raise ValueError(f"--votes-allowed {votes_allowed} is supported for {' and '.join(VOTE_FOR_N)}, not {method}")
    return min_ballots(votes, ballots, votes_allowed)


WITHOUT_REPLACEMENT = ("alpha", "polling")   # methods with a finite-population (without-replacement) test here


def check_replacement(method: str, replacement: bool) -> None:
    if not replacement and method not in WITHOUT_REPLACEMENT:
        raise ValueError(f"--without-replacement is supported for {', '.join(WITHOUT_REPLACEMENT)}, not {method} "
                         "(its test assumes draws with replacement)")


def check_risk_limit(risk_limit: float) -> float:
    if not 0 < risk_limit < 1:
        raise ValueError(f"risk limit is a fraction in (0, 1) (e.g. 0.05 for 5 %), got {risk_limit}")
    return float(risk_limit)


def weights(method: str, contest: Contest, votes: np.ndarray, ballots: np.ndarray) -> np.ndarray:
    """Sampling weights per table: MACRO's u_p (PPEB) or ballots (uniform over ballots)."""
    if SAMPLING[method] == "ppeb":
        return macro_m.max_errors(contest, votes, ballots)
    return np.asarray(ballots, dtype=float)


def _simulated_risk(method: str, contest: Contest, votes: np.ndarray, ballots: np.ndarray, n_max: int,
                    reps: int, o1: float, o2: float, seed: int) -> np.ndarray:
    """(reps, n_max) risk after each draw, under the error model of the module docstring."""
    rng = np.random.default_rng(seed)
    b = np.asarray(ballots, dtype=float)
    w = weights(method, contest, votes, b)
    cum = np.cumsum(w)
    idx = np.minimum(np.searchsorted(cum, rng.random((reps, n_max)) * cum[-1], side="right"), w.size - 1)
    j = int(np.argmin(contest.diluted_margins))
    a = contest.assertions[j]
    vplus = np.asarray(votes)[:, list(a.plus)].sum(axis=1)[idx]
    x1, x2 = rng.binomial(vplus, o1), rng.binomial(vplus, o2)
    delta = np.minimum((1 - a.f) * x1 + x2, vplus)           # overstatement of m_j, in votes
    M = contest.margins[j]
    if method == "alpha":
        v, u = alpha_m.assorter_margins(contest)
        wbar = delta / (2 * a.f * np.maximum(b[idx], 1))
        B = np.clip((1 - wbar / u[j]) / (2 - v[j] / u[j]), 0, None)
        uB = 2 / (2 - v[j] / u[j])
        hist = alpha_m.alpha_mart(B, t=0.5, u=uB, eta=optimal_comparison(uB, alpha_m.P2),
                                  estim=constant_mean)[1]
        return np.minimum.accumulate(hist, axis=1)
    if method == "macro":
        up, U = w[idx], float(w.sum())
    else:
        bound, U = ss_m.bounds(b, contest.diluted_margin)
        up = bound[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        taint = np.clip(np.where(up > 0, (delta / M) / up, 0.0), 0.0, 1 - 1e-12)
    logp = np.cumsum(math.log1p(-1 / U) - np.log1p(-taint), axis=1)
    return np.minimum(1.0, np.exp(logp))


def plan(method: str, unit_ids: np.ndarray, votes: np.ndarray, candidates: list[str], ballots: np.ndarray, *,
         risk_limit: float, winners: int = 1, threshold: float | None = None, o1_rate: float = ss_m.O1,
         o2_rate: float = ss_m.O2, reps: int = 400, seed: int = 20240728, votes_allowed: int = 1,
         replacement: bool = True) -> AuditPlan:
    """Plan a first round (see the package docstring for the argument conventions)."""
    check_method(method)
    check_replacement(method, replacement)
    alpha = check_risk_limit(risk_limit)
    votes = np.asarray(votes, dtype=np.int64)
    ballots = np.asarray(ballots, dtype=np.int64)
    n = int(votes.shape[0])
    if len(unit_ids) != n or ballots.shape[0] != n:
        raise ValueError("unit_ids, votes and ballots must have one row per table")
    ballots = manifest(method, votes, ballots, votes_allowed)
    contest = build_contest(votes, candidates, ballots, winners=winners, threshold=threshold,
                            votes_allowed=votes_allowed)
    mu = contest.diluted_margin
    assertions = [{"assertion": a.label, "diluted_margin": float(dm)}
                  for a, dm in zip(contest.assertions, contest.diluted_margins, strict=True)]
    total_bound = None
    notes = ""
    if method == "macro":
        u = macro_m.max_errors(contest, votes, ballots)
        total_bound = float(u.sum())
        size = macro_m.first_round_size(alpha, total_bound, n)
        full = size >= n
    elif method == "supersimple":
        size = ss_m.sample_size(alpha, mu, contest.ballots) if mu > 0 else contest.ballots
        total_bound = 2 * ss_m.GAMMA / mu if mu > 0 else math.inf
        full = mu <= 0 or size >= n
    elif method == "alpha":
        size = alpha_m.sample_size(contest, alpha, n, None if replacement else contest.ballots)
        full = mu <= 0 or size >= n
    elif method == "polling":
        quant = polling_m.simulated_sizes(contest, alpha, replacement=replacement) if mu > 0 else {}
        size = quant.get("0.5", contest.ballots)
        full = mu <= 0 or size >= contest.ballots
        notes = ("sample_size is the median draws ALPHA ballot polling needs (simulated from the reported "
                 f"results, {'with' if replacement else 'without'} replacement), in ballots")
    elif method == "minerva":
        minerva_m.check_plurality(contest)
        size = contest.ballots if mu <= 0 else minerva_m.first_round_sizes(alpha, contest, (0.9,))["0.9"]
        full = mu <= 0 or size >= contest.ballots
        notes = ("sample_size is Minerva's first round for a 90 % chance of stopping, in ballots; later rounds "
                 f"draw int(first round x {minerva_m.MULTIPLE:g}^round) (Arlo's schedule)")
    else:
        size = bravo_m.asn(alpha, contest)
        size = contest.ballots if size < 0 and mu <= 0 else max(size, 1)
        full = mu <= 0 or size >= contest.ballots
        notes = "sample_size is BRAVO's average sample number (ASN), in ballots"
    prob: float | None = None
    sizes: dict[str, int | None] = {str(q): None for q in PROBABILITIES}
    if not full and method == "polling":
        sizes = {**sizes, **{q: v for q, v in quant.items() if q != "0.5"}}
        prob = 0.5
    elif not full and method == "minerva":
        sizes = {**sizes, **minerva_m.first_round_sizes(alpha, contest, PROBABILITIES)}
        prob = minerva_m.prob_first_round(alpha, contest, size)
    elif not full and method == "bravo":
        prob = bravo_m.prob_one_round(alpha, contest, size)
        sizes = {**sizes, **bravo_m.quantile_sizes(alpha, contest, PROBABILITIES)}
    elif not full:
        n_max = int(min(max(3 * size, size + 30), 6000))
        p = _simulated_risk(method, contest, votes, ballots, n_max, reps, o1_rate, o2_rate, seed)
        ok = (p <= alpha).mean(axis=0)
        prob = float(ok[size - 1]) if size <= n_max else None
        for q in PROBABILITIES:
            hit = np.flatnonzero(ok >= q)
            sizes[str(q)] = int(hit[0] + 1) if hit.size else None
        notes = (f"prob_one_round and sizes_for_probability simulated ({reps} replicates) with "
                 f"o1_rate={o1_rate:g}, o2_rate={o2_rate:g} per ballot")
    return AuditPlan(
        method=method, risk_limit=alpha, sample_size=int(min(size, n if method not in POLLING else size)),
        sampling=SAMPLING[method], n_units=n, ballots=contest.ballots, outcome=contest.outcome,
        winners=[contest.candidates[i] for i in contest.winners], diluted_margin=mu, assertions=assertions,
        prob_one_round=prob, sizes_for_probability=sizes, full_hand_count=bool(full),
        total_error_bound=total_bound, error_model={"o1_rate": o1_rate, "o2_rate": o2_rate}, notes=notes)
