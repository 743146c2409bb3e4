"""Minerva ballot polling: BRAVO's test decided once per round, on the round's tail probabilities.

F. Zagórski, G. McClearn, S. Morin, N. McBurnett & P. L. Vora, "Minerva: The Most Efficient
Ballot-Polling Risk-Limiting Audit" (arXiv 2008.02315; Voting '21). Reference values: VotingWorks
Arlo (``server/audit_math/minerva.py``, which calls Athena, ``filipzz/athena``). The math is
implemented here with scipy's binomial distribution; nothing is copied.

For a pair (winner w, loser l) with reported two-way share p = V_w / (V_w + V_l) > 1/2, only ballots
with a vote for w or l count ("relevant"). Round j ends with n_j relevant ballots drawn in all (a
cumulative schedule n_1 < n_2 < ...) and k_j of them for w. Let f_j^a(k) be the chance, under
winner share a, that K_{n_j} = k and the audit did not stop in an earlier round:

    f_1^a = Binomial(n_1, a),   f_j^a = (f_{j-1}^a with mass at k >= kmin_{j-1} removed) * Binomial(n_j - n_{j-1}, a)

(* = convolution), with tails S_j^a(k) = sum_{i >= k} f_j^a(i). The audit stops in round j when

    S_j^{1/2}(k_j) <= alpha S_j^p(k_j),

i.e. k_j >= kmin_j, the smallest such k. Its risk measure after round j is
r_j = S_j^{1/2}(k_j) / S_j^p(k_j) (Athena's ``audit_ratio``; Arlo reports the last round's, capped
at 1), and the contest's risk is the largest over its pairs. The chance of stopping in round 1 with
n relevant ballots is S_1^p(kmin_1(n)); the first-round size for a chance q is the n found by
doubling from 10,000 and bisecting on that chance (Athena's search, so the figures agree with
Arlo's), rescaled to all ballots, ceil(n N / (V_w + V_l)), and the largest over the pairs.

Later rounds: the risk limit holds for a round schedule fixed in advance; as Arlo does
(``MINERVA_MULTIPLE`` = 1.5), round j >= 2 draws int(n_1 1.5^j) ballots, n_1 the first round's size.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import signal, stats

from .contest import Assertion, Contest

MULTIPLE = 1.5
_DIRECT = 20_000_000    # direct convolution up to this many products, FFT beyond


def check_plurality(contest: Contest) -> None:
    """Minerva here covers plurality and multi-winner plurality (pairs); thresholds go to BRAVO."""
    bad = [a.label for a in contest.assertions if a.f != 0.5 or len(a.plus) != 1 or len(a.minus) != 1]
    if bad:
        raise ValueError(f"minerva audits winner-loser pairs only, not {', '.join(bad)}: use --method bravo "
                         "for a threshold or runoff")


def _pair(contest: Contest, a: Assertion) -> tuple[int, int]:
    return int(contest.totals[a.plus[0]]), int(contest.totals[a.minus[0]])


def _log_tails(n: int, k: np.ndarray | int, p: float) -> np.ndarray:
    """ln P(Binomial(n, p) >= k)."""
    return np.asarray(stats.binom.logsf(np.asarray(k) - 1, n, p), dtype=float)


def first_kmin(n: int, p: float, alpha: float) -> int | None:
    """Smallest k with P_{1/2}(K >= k) <= alpha P_p(K >= k) for n relevant ballots (None if none).

    The tail ratio falls as k grows (the likelihood ratio is monotone), so a bisection finds it."""
    la = math.log(alpha)

    def ok(k: int) -> bool:   # a winner tail below float range lies beyond kmin (the ratio only falls)
        l1 = float(_log_tails(n, k, p))
        return l1 == -math.inf or float(_log_tails(n, k, 0.5)) - l1 <= la

    if n <= 0 or not ok(n):
        return None
    lo, hi = n // 2, n          # ok(hi); the smallest k is above n/2 for alpha < 1
    if ok(lo):
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def first_round_stop(n: int, p: float, alpha: float) -> float:
    """Chance, if the reported share p is right, that n relevant ballots stop the audit in round 1."""
    k = first_kmin(n, p, alpha)
    return 0.0 if k is None else float(np.exp(_log_tails(n, k, p)))


def _search(stop: Callable[[int], float], q: float, start: int = 10_000) -> int:
    """Athena's search: double from ``start`` until stop(n) >= q, then bisect keeping stop(lo) <= q < stop(hi)."""
    hi = start
    while stop(hi) < q:
        hi *= 2
    lo = 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if stop(mid) <= q else (lo, mid)
    return hi


def first_round_sizes(alpha: float, contest: Contest, quantiles: tuple[float, ...] = (0.7, 0.8, 0.9), *,
                      cap: bool = True) -> dict[str, int]:
    """Ballots for a chance q of stopping in round 1: the largest over the pairs (module docstring).
    A tie needs every ballot. ``cap``: at most the ballots cast (a full hand count; Arlo does not cap)."""
    if not 0 < alpha < 1:
        raise ValueError(f"risk limit must be in (0, 1), got {alpha}")
    check_plurality(contest)
    out = {str(q): 0 for q in quantiles}
    for a in contest.assertions:
        vw, vl = _pair(contest, a)
        if vw <= vl:
            return {str(q): contest.ballots for q in quantiles}
        p = vw / (vw + vl)
        scale = contest.ballots / (vw + vl)
        for q in quantiles:
            n = _search(lambda m, p=p: first_round_stop(m, p, alpha), q)
            size = max(out[str(q)], math.ceil(n * scale))
            out[str(q)] = min(contest.ballots, size) if cap else size
    return out


def prob_first_round(alpha: float, contest: Contest, ballots: int) -> float:
    """Chance that ``ballots`` draws confirm in round 1, taking each pair's expected relevant count
    round(ballots (V_w + V_l) / N); the smallest over the pairs."""
    check_plurality(contest)
    p_all = 1.0
    for a in contest.assertions:
        vw, vl = _pair(contest, a)
        if vw <= vl:
            return 0.0
        n = round(ballots * (vw + vl) / contest.ballots)
        p_all = min(p_all, first_round_stop(n, vw / (vw + vl), alpha))
    return p_all


def _convolve(dist: np.ndarray, step: np.ndarray) -> np.ndarray:
    if dist.size * step.size <= _DIRECT:
        return np.convolve(dist, step)
    return np.clip(signal.fftconvolve(dist, step), 0.0, None)


def pair_risks(p: float, alpha: float, relevant: list[int], winner: list[int]) -> list[float]:
    """Risk measure r_j after each round for one pair (module docstring).

    ``relevant``: cumulative relevant ballots n_j at the end of each round; ``winner``: cumulative
    ballots for the winner k_j. Rounds after one that stopped are measured all the same."""
    if len(relevant) != len(winner):
        raise ValueError("one relevant count and one winner count per round")
    d1, d0 = np.ones(1), np.ones(1)
    prev, out = 0, []
    for n, k in zip(relevant, winner, strict=True):
        if n < prev or k < 0 or k > n:
            raise ValueError(f"round counts must be cumulative with 0 <= winner <= relevant, got {k} of {n}")
        m = n - prev
        grid = np.arange(m + 1)
        d1 = _convolve(d1, stats.binom.pmf(grid, m, p))
        d0 = _convolve(d0, stats.binom.pmf(grid, m, 0.5))
        t1, t0 = np.cumsum(d1[::-1])[::-1], np.cumsum(d0[::-1])[::-1]
        ok = (t1 > 0) & (t0 <= alpha * t1)
        kmin = int(np.argmax(ok)) if ok.any() else None
        if t1[k] > 0:
            out.append(float(min(1.0, t0[k] / t1[k])))
        else:   # the winner tail underflowed: beyond kmin the risk is below alpha, else above
            out.append(0.0 if kmin is not None and k >= kmin else 1.0)
        if kmin is not None:
            d1[kmin:] = 0.0
            d0[kmin:] = 0.0
        prev = n
    return out


def risks(alpha: float, contest: Contest, tallies: list[np.ndarray]) -> np.ndarray:
    """Risk per assertion (pair), from the cumulative sampled-vote tallies (k,) at the end of each round:
    the risk of the round in which the pair stopped (r_j <= alpha; Athena then stops auditing it), else
    the last round's. A pair whose loser has no reported votes but shows some in the sample can never
    be confirmed (risk 1), as in BRAVO."""
    check_plurality(contest)
    out = []
    for a in contest.assertions:
        vw, vl = _pair(contest, a)
        w = [int(np.asarray(t)[a.plus[0]]) for t in tallies]
        lo = [int(np.asarray(t)[a.minus[0]]) for t in tallies]
        if vw <= vl or not tallies:
            out.append(1.0)
        elif vl == 0 and lo[-1] > 0:
            out.append(1.0)
        else:
            r = pair_risks(vw / (vw + vl), alpha, [x + y for x, y in zip(w, lo, strict=True)], w)
            out.append(next((x for x in r if x <= alpha), r[-1]))
    return np.array(out, dtype=float)


def next_round_size(first_round: int, rounds_drawn: int, ballots: int) -> int:
    """Draws in the next round: int(first_round * 1.5 ** (rounds_drawn + 1)) (Arlo's schedule), capped."""
    return int(min(ballots, int(first_round * MULTIPLE ** (rounds_drawn + 1))))
