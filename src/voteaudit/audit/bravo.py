"""BRAVO ballot-polling audit, for contests without trustworthy table-level results.

M. Lindeman, P. B. Stark & V. S. Yates, "BRAVO: Ballot-polling risk-limiting audits to verify
outcomes", EVT/WOTE 2012. Reference values: Arlo (``votingworks/arlo``, ``server/audit_math/bravo.py``)
and ``rlacalc`` (``nealmcb/rlacalc``). Ballots are drawn uniformly with replacement (the table
holding each drawn ballot is located through the ballot manifest: :mod:`.sampler`).

Assertion "share of ``plus`` among plus+minus votes exceeds f" (a pair: f = 1/2) with reported share
s = V_plus / (V_plus + V_minus): the sequential probability ratio against share f is

    T = (s / f)^{n_plus} ((1 - s) / (1 - f))^{n_minus},  P = min(1, 1/T)

(n_plus, n_minus: sampled ballots showing a vote for plus / minus; other ballots are ignored). The
audit confirms when every assertion's P <= alpha.

Average sample number (BRAVO paper section 9.2; Arlo ``get_expected_sample_sizes``), with
p_w = V_plus / N, p_l = V_minus / N, z_w = ln(s/f), z_l = ln((1-s)/(1-f)) and current statistic T:

    ASN = ceil( (ln(1/(alpha T)) + z_w / 2) / (p_w z_w + p_l z_l) )

Size for a chance q of finishing in one round: Mark Lindeman's normal approximation refined with
the binomial quantile (Arlo ``bravo_sample_sizes``); chance of finishing for a given size: its
inverse (Arlo ``expected_prob``).
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
from scipy import stats

from .contest import Assertion, Contest


def _shares(contest: Contest, a: Assertion) -> tuple[float, float, float]:
    """(s, p_w, p_l): reported share of plus among plus+minus, and their shares of ballots."""
    vp = float(contest.totals[list(a.plus)].sum())
    vm = float(contest.totals[list(a.minus)].sum())
    N = max(contest.ballots, 1)
    s = vp / (vp + vm) if vp + vm > 0 else 0.0
    return s, vp / N, vm / N


def log_statistics(contest: Contest, sample: np.ndarray) -> np.ndarray:
    """ln T per assertion from sampled vote counts per candidate (k,)."""
    sample = np.asarray(sample, dtype=float)
    out = []
    for a in contest.assertions:
        s, _, _ = _shares(contest, a)
        n_plus, n_minus = sample[list(a.plus)].sum(), sample[list(a.minus)].sum()
        if s <= a.f:                      # the reported outcome does not even satisfy the assertion
            out.append(0.0 if n_plus + n_minus == 0 else -math.inf)
            continue
        lt = n_plus * math.log(s / a.f)
        if n_minus:
            lt += -math.inf if s >= 1 else n_minus * math.log((1 - s) / (1 - a.f))
        out.append(lt)
    return np.array(out, dtype=float)


def risks(contest: Contest, sample: np.ndarray) -> np.ndarray:
    """P = min(1, 1/T) per assertion."""
    return np.minimum(1.0, np.exp(-log_statistics(contest, sample)))


def asn(alpha: float, contest: Contest, sample: np.ndarray | None = None) -> int:
    """Average sample number still needed: the largest over the assertions (formula above).

    Returns the number of ballots N for a tie, and a non-positive number once the sample already
    confirms (as Arlo does). A pair whose loser has no reported votes (p_l = 0) needs
    ceil((ln(1/(alpha T)) + z_w/2) / (p_w z_w)) ballots; for a unanimous contest that is the
    ceil(log2(1/alpha)) winner ballots that actually confirm (4 at 10 %), where Arlo reports 1
    (``server/tests/audit_math/test_bravo.py``, test11). Once the sample holds a vote for a loser
    reported with no votes, T = 0 for good: no sample can confirm, and N is returned.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"risk limit must be in (0, 1), got {alpha}")
    k = len(contest.candidates)
    sample = np.zeros(k) if sample is None else np.asarray(sample, dtype=float)
    logT = log_statistics(contest, sample)
    worst = -math.inf
    for a, lt in zip(contest.assertions, logT, strict=True):
        s, pw, pl = _shares(contest, a)
        if s <= a.f or lt == -math.inf:
            return contest.ballots
        zw = math.log(s / a.f)
        zl = math.log((1 - s) / (1 - a.f)) if s < 1 else 0.0   # no votes against: p_l = 0
        n = math.ceil((math.log(1 / alpha) - lt + zw / 2) / (pw * zw + pl * zl))
        worst = max(worst, n)
    return -1 if worst == -math.inf else int(worst)


def impossible(contest: Contest, sample: np.ndarray) -> list[str]:
    """Labels of the assertions whose statistic is 0 for good: the sample holds a vote for a loser
    whose reported share leaves no room for it (s = 1), so BRAVO can never confirm them."""
    return [a.label for a, lt in zip(contest.assertions, log_statistics(contest, sample), strict=True)
            if lt == -math.inf]


def _sprt(alpha: float, p_w: float, p_r: float, sample_w: int,
          sample_r: int) -> tuple[float, float, float, float, float, float]:
    """Wald's SPRT for one pair: (p_w + p_r, winner's and loser's two-way shares, log-likelihood steps for a
    winner and a loser ballot, log(1/alpha) still to climb after the ballots already drawn)."""
    p_wr = p_w + p_r
    p_w2 = p_w / p_wr
    p_r2 = 1 - p_w2
    plus, minus = math.log(p_w2 / 0.5), math.log(p_r2 / 0.5)
    return p_wr, p_w2, p_r2, plus, minus, math.log(1 / alpha) - (sample_w * plus + sample_r * minus)


def sample_size_for_probability(alpha: float, p_w: float, p_r: float, sample_w: int, sample_r: int,
                                p_completion: float, ballots: int | None = None) -> int:
    """Ballots to draw for chance ``p_completion`` of confirming in this round (Arlo/Lindeman).

    ``ballots`` caps the search (Arlo's ``total_ballots``), for pairs that practically never confirm."""
    _, p_w2, p_r2, plus, minus, threshold = _sprt(alpha, p_w, p_r, sample_w, sample_r)
    if threshold <= 0:
        return 0
    z = -stats.norm.ppf(p_completion)
    d = p_w2 * p_r2
    f = threshold / (plus - minus)
    g = minus / (plus - minus) + p_w2
    q_a, q_b, q_c = g**2, -(z**2 * d + 2 * f * g), f**2
    radical = math.sqrt(max(0.0, q_b**2 - 4 * q_a * q_c))
    size = math.floor((-q_b + radical) / (2 * q_a) if p_completion > 0.5 else (-q_b - radical) / (2 * q_a))
    while ballots is None or size < ballots:
        x_c = float(stats.binom.ppf(1.0 - p_completion, size, p_w2))
        if x_c * plus + (size - x_c) * minus > threshold:
            break
        size += 1
    # the "other votes" adjustment, in exact decimal arithmetic on the given shares (as Arlo does)
    return math.ceil(Decimal(size) / (Decimal(p_w) + Decimal(p_r)))


def probability_one_round(alpha: float, p_w: float, p_r: float, sample_w: int, sample_r: int,
                          n: int) -> float:
    """Approximate chance that ``n`` more ballots confirm in one round (Arlo ``expected_prob``)."""
    p_wr, p_w2, p_r2, plus, minus, threshold = _sprt(alpha, p_w, p_r, sample_w, sample_r)
    if threshold <= 0:
        return 1.0
    if n <= 0:
        return 0.0
    m = n * p_wr
    r_x = (threshold - minus * m) / (plus - minus)
    z = (r_x - m * p_w2) / math.sqrt(m * p_w2 * p_r2)
    return float(stats.norm.cdf(-z))


def pair_shares(contest: Contest, a: Assertion) -> tuple[float, float]:
    """(p_w, p_l) of assertion ``a`` as pair-equivalent shares for the planners: "share > f" maps onto
    the pair with the same likelihood ratio, s' = (s/f) / (s/f + (1-s)/(1-f)), tested against 1/2."""
    s, pw, pl = _shares(contest, a)
    if a.f != 0.5:
        tot = pw + pl
        lo = 0.5 / a.f * s / (0.5 / a.f * s + 0.5 / (1 - a.f) * (1 - s))
        pw, pl = lo * tot, (1 - lo) * tot
    return pw, pl


def _counts(contest: Contest, a: Assertion, sample: np.ndarray | None) -> tuple[int, int]:
    if sample is None:
        return 0, 0
    sample = np.asarray(sample)
    return int(sample[list(a.plus)].sum()), int(sample[list(a.minus)].sum())


def _winner_ballots_needed(alpha: float, contest: Contest, a: Assertion, sample: np.ndarray | None) -> int:
    """With no reported votes against (s = 1) each ballot for ``plus`` multiplies T by 1/f and nothing
    lowers it: the number of such ballots still needed, ceil((ln(1/alpha) - ln T) / ln(1/f))."""
    n_plus, _ = _counts(contest, a, sample)
    return max(0, math.ceil(math.log(1 / alpha) / math.log(1 / a.f) - n_plus - 1e-12))


def quantile_sizes(alpha: float, contest: Contest, quantiles: tuple[float, ...] = (0.7, 0.8, 0.9),
                   sample: np.ndarray | None = None) -> dict[str, int]:
    """Ballots for a chance q of confirming in this round: the largest over every assertion, as Arlo's
    ``get_sample_size`` loops over all winner-loser pairs. A pair whose loser has no reported votes
    (Arlo skips it) needs k more ballots for the winner: exactly k + NegBinom(k, p_w).ppf(q) draws.
    Capped at the ballots cast."""
    out: dict[str, int] = {}
    for q in quantiles:
        best = 0
        for a in contest.assertions:
            pw, pl = pair_shares(contest, a)
            if pl <= 0:
                k = _winner_ballots_needed(alpha, contest, a, sample)
                n = 0 if k == 0 else k + int(stats.nbinom.ppf(q, k, pw))
            else:
                n = sample_size_for_probability(alpha, pw, pl, *_counts(contest, a, sample), q, contest.ballots)
            best = max(best, n)
        out[str(q)] = min(best, contest.ballots)
    return out


def binding(contest: Contest) -> int:
    """Index of the assertion with the smallest reported share excess (the hardest to confirm)."""
    best, arg = math.inf, 0
    for j, a in enumerate(contest.assertions):
        s, pw, pl = _shares(contest, a)
        excess = (s - a.f) * (pw + pl)
        if excess < best:
            best, arg = excess, j
    return arg


def binding_shares(contest: Contest, sample: np.ndarray | None = None) -> tuple[float, float, int, int]:
    """(p_w, p_l, n_w, n_l) of the binding assertion, as pair-equivalent shares for the planners."""
    a = contest.assertions[binding(contest)]
    return (*pair_shares(contest, a), *_counts(contest, a, sample))


def prob_one_round(alpha: float, contest: Contest, n: int, sample: np.ndarray | None = None) -> float:
    """Chance ``n`` more ballots confirm every assertion: the smallest over the assertions of Arlo's
    ``expected_prob``; a pair with no reported votes against: P(Binomial(n, p_w) >= ballots needed)."""
    p = 1.0
    for a in contest.assertions:
        pw, pl = pair_shares(contest, a)
        if pl <= 0:
            k = _winner_ballots_needed(alpha, contest, a, sample)
            p = min(p, 1.0 if k == 0 else float(stats.binom.sf(k - 1, n, pw)))
            continue
        p = min(p, probability_one_round(alpha, pw, pl, *_counts(contest, a, sample), n))
    return p
