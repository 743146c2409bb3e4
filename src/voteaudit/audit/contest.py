"""The reported outcome of one contest, as a list of assertions an audit must confirm.

Every outcome the audit checks is a conjunction of *assertions* of one shape (SHANGRLA's, Stark 2020,
"Sets of half-average nulls generate risk-limiting audits: SHANGRLA"):

    "among ballots with a vote for a candidate in ``plus`` or in ``minus``, the share for ``plus``
    exceeds ``f``", i.e.  M = (1 - f) * V_plus - f * V_minus > 0   (votes; V_S = votes for set S)

- plurality / multi-winner (Arlo, ``numWinners``): every winner w beats every loser l:
  plus = {w}, minus = {l}, f = 1/2, M = (V_w - V_l) / 2;
- super-majority / no-runoff threshold f (share of valid votes, i.e. of all candidate votes): the
  leader wins outright when plus = {w}, minus = every other candidate, share > f (plus the pairwise
  assertions when f < 1/2, as a plurality is then also required);
- runoff: when ``threshold`` is given and no candidate reaches it, the reported outcome is "the two
  leaders go to a runoff": both finalists beat every other candidate (pairs) and no candidate k
  reaches f (plus = every other candidate, minus = {k}, share > 1 - f).

Each assertion is a linear functional of a table's vote vector, m(v) = c . v with c = 1 - f on
``plus``, -f on ``minus``, 0 elsewhere; its reported margin is M = m(reported totals). The comparison
methods only use ratios of m to M, so the scale (the factor 1/2 for pairs) does not matter and every
quantity reduces to Arlo's for plurality pairs (e.g. MACRO's u_p = (v_wp - v_lp + b_p) / V_wl).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Assertion:
    """Share of ``plus`` among ``plus`` + ``minus`` votes exceeds ``f`` (indices into candidates)."""

    label: str
    plus: tuple[int, ...]
    minus: tuple[int, ...]
    f: float = 0.5

    def coefficients(self, k: int) -> np.ndarray:
        """c with m(v) = c . v = (1 - f) V_plus - f V_minus."""
        c = np.zeros(k)
        c[list(self.plus)] = 1.0 - self.f
        c[list(self.minus)] = -self.f
        return c


@dataclass
class Contest:
    """Reported totals, outcome and the assertions that imply it."""

    candidates: list[str]
    totals: np.ndarray                 # (k,) int64 reported votes per candidate
    ballots: int                       # ballots cast (all tables)
    winners: list[int]                 # indices of reported winners (or runoff finalists)
    outcome: str                       # "plurality" | "threshold" | "runoff"
    assertions: list[Assertion] = field(default_factory=list)
    threshold: float | None = None
    votes_allowed: int = 1             # vote-for-n: each ballot may hold up to n votes (one per candidate)

    @property
    def coef(self) -> np.ndarray:
        """(k, J) matrix: column j holds assertion j's coefficients."""
        k = len(self.candidates)
        return np.column_stack([a.coefficients(k) for a in self.assertions]) if self.assertions \
            else np.zeros((k, 0))

    @property
    def margins(self) -> np.ndarray:
        """(J,) reported margins M_j = c_j . totals (votes, in the assertion's own scale)."""
        return self.totals.astype(float) @ self.coef

    @property
    def f(self) -> np.ndarray:
        return np.array([a.f for a in self.assertions], dtype=float)

    @property
    def diluted_margins(self) -> np.ndarray:
        """mu_j = 2 M_j / N: for a pair, (V_w - V_l) / ballots cast (Arlo's diluted margin)."""
        return 2.0 * self.margins / max(self.ballots, 1)

    @property
    def diluted_margin(self) -> float:
        """Smallest diluted margin over the assertions (0 for a tie)."""
        dm = self.diluted_margins
        return float(dm.min()) if dm.size else 0.0

    def pair_labels(self) -> list[str]:
        return [a.label for a in self.assertions]


def min_ballots(votes: np.ndarray, ballots: np.ndarray, votes_allowed: int = 1) -> np.ndarray:
    """Per table, the fewest ballots consistent with the reported votes: at least the ballots given, the
    largest candidate's votes (one vote per candidate per ballot) and ceil(votes / n) for vote-for-n.
    Vote-for-1 gives max(ballots, votes); a vote-for-n table may hold up to n x ballots votes."""
    if votes_allowed < 1:
        raise ValueError(f"votes allowed must be at least 1, got {votes_allowed}")
    votes = np.asarray(votes, dtype=np.int64)
    b = np.asarray(ballots, dtype=np.int64)
    if votes.ndim != 2:
        return np.maximum(b, votes.sum())
    need = np.maximum(votes.max(axis=1, initial=0), -(-votes.sum(axis=1) // votes_allowed))
    return np.maximum(b, need)


def rank(totals: np.ndarray) -> np.ndarray:
    """Candidate indices by reported votes, descending; ties keep candidate order (stable)."""
    return np.argsort(-np.asarray(totals), kind="stable")


def build_contest(votes: np.ndarray, candidates: list[str], ballots: np.ndarray | int, *,
                  winners: int = 1, threshold: float | None = None, votes_allowed: int = 1) -> Contest:
    """Reported outcome and assertions from per-table reported votes (n x k) or totals (k,).

    ``ballots``: per-table ballots cast (n,) or the total. ``threshold``: share of valid votes a
    single winner needs to avoid a runoff (e.g. 0.5, or 0.4 in a 40 % rule); ``winners`` > 1 is a
    multi-winner plurality contest (every winner beats every loser). ``votes_allowed`` n > 1: a
    vote-for-n contest (Arlo's ``votesAllowed``; plurality only, usually with ``winners`` = n).
    """
    if votes_allowed < 1 or (votes_allowed > 1 and threshold is not None):
        raise ValueError(f"votes allowed must be 1, or above 1 for a plurality contest without a threshold; "
                         f"got {votes_allowed}")
    votes = np.asarray(votes)
    totals = votes.sum(axis=0) if votes.ndim == 2 else votes
    totals = np.asarray(totals, dtype=np.int64)
    k = totals.shape[0]
    if len(candidates) != k:
        raise ValueError(f"{len(candidates)} candidate names for {k} vote columns")
    if not 1 <= winners < k:
        raise ValueError(f"winners must be between 1 and {k - 1}, got {winners}")
    n_ballots = int(np.sum(ballots))
    order = [int(i) for i in rank(totals)]
    name = candidates

    def pairs(ws: list[int]) -> list[Assertion]:
        return [Assertion(f"{name[w]} > {name[lo]}", (w,), (lo,), 0.5)
                for w in ws for lo in order if lo not in ws]

    if threshold is None:
        ws = order[:winners]
        return Contest(list(candidates), totals, n_ballots, ws, "plurality", pairs(ws), votes_allowed=votes_allowed)
    if winners != 1:
        raise ValueError("threshold applies to single-winner contests")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be a share in (0, 1), got {threshold}")
    valid = int(totals.sum())
    lead = order[0]
    if valid and totals[lead] / valid > threshold:
        others = tuple(i for i in order if i != lead)
        asserts = [Assertion(f"{name[lead]} share > {threshold:g}", (lead,), others, threshold)]
        if threshold < 0.5:
            asserts += pairs([lead])
        return Contest(list(candidates), totals, n_ballots, [lead], "threshold", asserts, threshold)
    finalists = order[:2]
    asserts = pairs(finalists)
    for c in order:
        rest = tuple(i for i in order if i != c)
        asserts.append(Assertion(f"{name[c]} share < {threshold:g}", rest, (c,), 1.0 - threshold))
    return Contest(list(candidates), totals, n_ballots, finalists, "runoff", asserts, threshold)


def outcome_of(totals: np.ndarray, contest: Contest) -> list[int]:
    """The outcome (winner / finalist indices, sorted) that ``totals`` give under the same rules."""
    totals = np.asarray(totals)
    order = [int(i) for i in rank(totals)]
    if contest.outcome == "plurality":
        return sorted(order[: len(contest.winners)])
    valid = totals.sum()
    if valid and contest.threshold is not None and totals[order[0]] / valid > contest.threshold:
        return [order[0]]
    return sorted(order[:2])
