"""Risk-limiting audits of table (precinct) results against paper tally sheets: pure math and sampling.

One module per method, in the manner of VotingWorks Arlo's ``server/audit_math/``:

- :mod:`.macro` — batch comparison, MACRO error bounds, PPEB sampling, Kaplan–Markov (Stark 2008/2009);
- :mod:`.supersimple` — Stark's super-simple comparison, Kaplan–Markov with gamma = 1.03905 (Stark 2010);
- :mod:`.alpha` — batch comparison with SHANGRLA assorters and the ALPHA supermartingale (Stark 2023),
  on the engine :mod:`.martingale`;
- :mod:`.bravo` — BRAVO ballot polling for contests without table data (Lindeman, Stark & Yates 2012);
- :mod:`.minerva` — Minerva ballot polling, BRAVO decided once per round (Zagórski et al. 2021);
- :mod:`.commitment` — SHA-256 of the ballot manifest and reported results, fixed before the seed;
- :mod:`.contest` — the reported outcome as assertions: every winner–loser pair, multi-winner,
  super-majority / no-runoff thresholds and runoffs;
- :mod:`.sampler` — SHA-256 sampling from a public seed (Rivest), reproducible in a few lines;
- :mod:`.plan`, :mod:`.measure` — planning a round, and recording hand counts into a verdict.

Facade (pure functions over arrays; no I/O, no store). Common arguments: ``unit_ids`` (n,) table ids;
``votes`` (n, k) int reported votes per table and candidate; ``candidates`` the k names; ``ballots``
(n,) ballots cast per table (the ballot manifest); ``risk_limit`` a fraction (0.05 = 5 %);
``winners`` the number of seats (every winner must beat every loser); ``threshold`` the share of
valid votes a single winner needs to avoid a runoff (e.g. 0.5). Vote counts that are missing (-1)
must be resolved by the caller first.

``votes_allowed`` n > 1 (vote-for-n; MACRO and super-simple): a ballot may hold up to n votes, one per
candidate, so a table's ballots are at least ceil(votes / n) and its largest candidate's votes.

``plan(method, unit_ids, votes, candidates, ballots, *, risk_limit, winners=1, threshold=None,
o1_rate=0.001, o2_rate=0.0001, reps=400, seed=...) -> AuditPlan``
    first-round ``sample_size`` (draws; tables for comparison methods, ballots for BRAVO), diluted
    margins per assertion, ``prob_one_round`` (chance the first round confirms under the expected
    error rates), ``sizes_for_probability`` (draws for a 70/80/90 % chance), ``full_hand_count``.
``sample(method, unit_ids, votes, candidates, ballots, *, seed, size, start=0, winners=1,
threshold=None) -> list[str]``
    drawn table ids in draw order, repeats included (with replacement); ``start`` = draws made in
    earlier rounds, so round two continues the same sequence. MACRO draws PPEB (weights u_p), the
    others draw ballots uniformly. ``sample_ballots`` also gives the ballot number within each table.
``measure(method, unit_ids, votes, candidates, ballots, *, risk_limit, sampled_ids, audited_votes,
winners=1, threshold=None) -> AuditStatus``
    ``sampled_ids`` every draw so far in order; ``audited_votes[id]`` the hand count per candidate
    (BRAVO: the votes on the ballots drawn from that table). Gives the measured ``risk``, the
    ``verdict`` (confirmed / escalate / full_hand_count / pending / overturned), ``next_round_size``
    and a per-table ``discrepancies`` report (reported first, then audited, difference, overstatement).

Reproducing a sample by hand: see :mod:`.sampler` (SHA-256 of ``f"{seed},{i}"`` for draw i).
"""

from __future__ import annotations

import numpy as np

from . import sampler
from .contest import Assertion, Contest, build_contest
from .measure import VERDICTS, AuditStatus, measure
from .plan import METHODS, SAMPLING, AuditPlan, check_method, check_replacement, manifest, plan, weights

__all__ = ["METHODS", "VERDICTS", "Assertion", "AuditPlan", "AuditStatus", "Contest", "build_contest",
           "measure", "plan", "sample", "sample_ballots"]


def _prepare(method: str, unit_ids: np.ndarray, votes: np.ndarray, candidates: list[str],
             ballots: np.ndarray, winners: int, threshold: float | None,
             votes_allowed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    check_method(method)
    votes = np.asarray(votes, dtype=np.int64)
    ballots = np.asarray(ballots, dtype=np.int64)
    if len(unit_ids) != votes.shape[0] or ballots.shape[0] != votes.shape[0]:
        raise ValueError("unit_ids, votes and ballots must have one row per table")
    ballots = manifest(method, votes, ballots, votes_allowed)
    if SAMPLING[method] == "ppeb":
        contest = build_contest(votes, candidates, ballots, winners=winners, threshold=threshold,
                                votes_allowed=votes_allowed)
        return weights(method, contest, votes, ballots), ballots
    return ballots.astype(float), ballots


def sample(method: str, unit_ids: np.ndarray, votes: np.ndarray, candidates: list[str],
           ballots: np.ndarray, *, seed: str, size: int, start: int = 0, winners: int = 1,
           threshold: float | None = None, votes_allowed: int = 1, replacement: bool = True) -> list[str]:
    """Drawn table ids in draw order (repeats included); see :mod:`.sampler` for the algorithm.
    ``replacement=False`` (ALPHA): distinct ballots, whose tables may still repeat."""
    check_replacement(method, replacement)
    w, _ = _prepare(method, unit_ids, votes, candidates, ballots, winners, threshold, votes_allowed)
    if not np.all(np.isfinite(w)):
        raise ValueError("the reported result is a tie: no sample can confirm it; count every table")
    idx = sampler.draw(SAMPLING[method], str(seed), w, int(size), int(start), replacement)
    ids = np.asarray(unit_ids)
    return [str(ids[i]) for i in idx.tolist()]


def sample_ballots(unit_ids: np.ndarray, ballots: np.ndarray, *, seed: str, size: int,
                   start: int = 0, replacement: bool = True) -> list[tuple[str, int]]:
    """Uniform ballot draws: (table id, 1-based ballot position in the table), in draw order."""
    fn = sampler.draw_ballots if replacement else sampler.draw_ballots_distinct
    idx, pos = fn(str(seed), np.asarray(ballots), int(size), int(start))
    ids = np.asarray(unit_ids)
    return [(str(ids[i]), int(p)) for i, p in zip(idx.tolist(), pos.tolist(), strict=True)]
