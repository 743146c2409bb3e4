"""Worst-case (Manski) bounds: what the result could be if the missing tables voted *anything*.

No assumption about the uncovered tables beyond the arithmetic of the registry: together they hold
R_U registered voters (universe registered minus covered registered), and each of their voters
may have voted for any candidate, or not at all. With covered valid votes Y = Σ_k Y_k and the
uncovered tables adding u_k ≥ 0 votes with Σ_k u_k ≤ R_U, candidate k's share of valid votes
(Y_k + u_k) / (Y + Σ_j u_j) lies in

    [ Y_k / (Y + R_U) ,  (Y_k + R_U) / (Y + R_U) ]

(low: every uncovered voter votes for someone else; high: every uncovered voter votes for k), and
k's votes in [Y_k, Y_k + R_U]. Margins: leader L beats j whatever the missing tables hold iff
Y_L − Y_j > R_U. These are the identification bounds of Manski (1989, "Anatomy of the selection
problem", J. Human Resources 24:343-360; 2003, *Partial Identification of Probability
Distributions*, ch. 1) for a proportion with missing outcomes, taken here on vote counts with the
registry as the bound on the missing mass. They take the covered sheets at face value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voteaudit.stats.message import msg

MANSKI = (
    "Manski (1989), Anatomy of the selection problem, J. Human Resources 24:343-360; "
    "Manski (2003), Partial Identification of Probability Distributions, ch. 1"
)


@dataclass
class CandidateBounds:
    candidate: str
    low: float
    high: float
    votes_low: int
    votes_high: int

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "votes_low": self.votes_low, "votes_high": self.votes_high}


@dataclass
class BoundsResult:
    """Worst-case shares; ``to_dict()`` gives the ``bounds`` JSON contract."""

    candidates: list[str]
    bounds: list[CandidateBounds]
    uncovered_registered: int
    covered_valid: int
    leader: str
    runner_up: str
    margin_low: int  # leader minus runner-up, votes, in the worst case for the leader
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, candidate: str) -> CandidateBounds:
        return self.bounds[self.candidates.index(candidate)]

    @property
    def decisive(self) -> bool:
        """True when the covered leader wins whatever the missing tables contain."""
        return self.margin_low > 0

    @property
    def statement(self) -> str:
        lead = self[self.leader]
        if self.decisive:
            return (
                f"Even if all {self.uncovered_registered:,} registered voters of the tables without a "
                f"collected sheet had voted for {self.runner_up}, {self.leader} would still lead by "
                f"{self.margin_low:,} votes (at least {100 * lead.low:.1f} % of valid votes)."
            )
        return (
            f"The {self.uncovered_registered:,} registered voters of the tables without a collected sheet "
            f"are enough to change the winner: {self.leader} could get anywhere between "
            f"{100 * lead.low:.1f} % and {100 * lead.high:.1f} % of valid votes."
        )

    @property
    def message(self) -> dict[str, Any]:
        """:attr:`statement` as a catalogue key and its parameters (``report/locales``)."""
        lead = self[self.leader]
        if self.decisive:
            return msg("st_bounds_decisive", registered=self.uncovered_registered, runner_up=self.runner_up,
                       leader=self.leader, margin=self.margin_low, low=lead.low)
        return msg("st_bounds_open", registered=self.uncovered_registered, leader=self.leader, low=lead.low,
                   high=lead.high)

    def to_dict(self) -> dict[str, Any]:
        from voteaudit.result import _clean

        return _clean(
            {
                "bounds": {b.candidate: b.to_dict() for b in self.bounds},
                "uncovered_registered": self.uncovered_registered,
                "covered_valid": self.covered_valid,
                "leader": self.leader,
                "runner_up": self.runner_up,
                "margin_low": self.margin_low,
                "decisive": self.decisive,
                "notes": self.notes,
                "statement": self.statement,
                "message": self.message,
                "reference": MANSKI,
            }
        )


def worst_case_bounds(
    covered_votes: np.ndarray,
    uncovered_registered: int,
    candidates: Sequence[str] | None = None,
) -> BoundsResult:
    """Manski bounds on each candidate's share of valid votes over all tables.

    ``covered_votes``: (n, k) per-table votes of the covered tables, or (k,) totals.
    ``uncovered_registered``: registered voters of the tables not covered (R_U ≥ 0; use the
    universe's total minus the covered tables' registered voters).
    """
    v = np.asarray(covered_votes, dtype=np.int64)
    tot = v.sum(axis=0) if v.ndim == 2 else v
    k = tot.shape[0]
    cands = list(candidates) if candidates is not None else [f"c{j}" for j in range(k)]
    notes = []
    ru = int(uncovered_registered)
    if ru < 0:
        notes.append(f"covered registered voters exceed the universe by {-ru:,}: R_U set to 0")
        ru = 0
    Y = int(tot.sum())
    denom = Y + ru
    out = []
    for j in range(k):
        yk = int(tot[j])
        low = yk / denom if denom else 0.0
        high = (yk + ru) / denom if denom else 1.0
        out.append(CandidateBounds(cands[j], float(low), float(high), yk, yk + ru))
    order = np.argsort(-tot, kind="stable")
    lead, second = int(order[0]), int(order[1]) if k > 1 else int(order[0])
    margin_low = int(tot[lead] - tot[second] - ru) if k > 1 else int(tot[lead])
    return BoundsResult(cands, out, ru, Y, cands[lead], cands[second], margin_low, notes)
