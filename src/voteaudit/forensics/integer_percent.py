"""Integer (and round) percentages of turnout and leader share.

Kobak, Shpilkin & Pshenichnikov (2016) "Integer percentages as electoral falsification fingerprints",
Annals of Applied Statistics 10(1): 54-73; reference code ``dkobak/elections``.

Turnout ``T = B / R`` (ballots issued / registered), leader share ``L = W / B_box`` (leader votes / valid +
invalid ballots, the ballots found in the boxes: NOT ballots issued, even where those are known; the
alternative ``leader_denominator="issued"`` is a documented option, not the default). A value p is *on
the grid* of spacing ``step`` percentage points when
``|100 p - step * round(100 p / step)| <= tol`` (tol = 0.05); step = 1 is Kobak's integer test, step = 5
is this package's ``round_percentage`` test (multiples of 5 %). Inclusion (Kobak, exactly): B_box > 0, R >= 100,
T <= 0.99, L <= 0.99 (and B <= R).

Null (Kobak's binomial Monte Carlo): per unit ``B* ~ Binomial(R, T)`` and ``W* ~ Binomial(B, L)``; count
the units on the grid. Implementation (exact, not simplified): each unit's probability q_i of landing on
the grid is summed exactly from the binomial pmf (log-factorial table, every k in the grid windows within
6 sd); the count of grid units is then a sum of independent Bernoulli(q_i), and the Monte-Carlo
replicates draw it as sums of Binomial(n_b, mean q) over 32 bins of units with nearly equal q (the
variance error of the binning is negligible and conservative). p-value = (1 + #{MC >= obs}) / (R + 1),
with at least 999 replicates and as many more (up to 99,999) as the decision needs (Besag & Clifford
sequential p-value, :mod:`voteaudit.forensics.montecarlo`), so a region can reach p = 1e-5, far below
a many-area adjusted threshold. Effect: excess tables (observed - MC mean) as a share of the included
tables, with observed +/- 1.96 MC SD as its interval; also the 99.9th percentile of the MC counts.
"Either" counts units on the grid for turnout or leader share (q = 1 - (1 - q_T)(1 - q_L)).
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.special import gammaln

from voteaudit.forensics.inputs import Counts, listed
from voteaudit.forensics.materiality import effect
from voteaudit.forensics.montecarlo import sequential_p
from voteaudit.result import TestResult

REF_KOBAK = ("Kobak, D., Shpilkin, S. & Pshenichnikov, M. S. (2016) Integer percentages as electoral "
             "falsification fingerprints, Annals of Applied Statistics 10(1): 54-73")
_TOL_DEN = 10_000  # tol is handled as an integer number of 1/10000 percentage points


def on_grid(k: np.ndarray, n: np.ndarray, *, step: int = 1, tol: float = 0.05) -> np.ndarray:
    """Whether ``100 k / n`` lies within ``tol`` percentage points of a multiple of ``step`` (exact ints)."""
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    tol_i = int(round(tol * _TOL_DEN))
    safe = np.maximum(n, 1)
    m = np.floor(100 * k / (step * safe) + 0.5).astype(np.int64)
    return (np.abs(100 * k - step * m * safe) * _TOL_DEN <= tol_i * safe) & (n > 0)


def grid_probability(n: np.ndarray, p: np.ndarray, *, step: int = 1, tol: float = 0.05,
                     sds: float = 4.5, chunk: int = 65_536, coarse: int | None = None,
                     _dedup: bool = True):
    """P(100 X / n on the grid) for X ~ Binomial(n, p), per unit, summed exactly from the pmf.

    Only grid points within ``sds`` standard deviations of ``n p`` are summed (omitted mass < 1e-5).
    With ``coarse`` (a multiple of ``step``) also returns the probability for the coarser grid, from
    the same pass: ``(q_step, q_coarse)``. Tables with the same (n, p) are computed once.
    """
    n = np.asarray(n, dtype=np.int64)
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    if _dedup and n.size > 20_000:  # many tables share (n, p) (p is itself a ratio of counts): compute each pair once
        order = np.lexsort((p, n))
        ns, ps = n[order], p[order]
        first = np.concatenate([[True], (ns[1:] != ns[:-1]) | (ps[1:] != ps[:-1])])
        if first.sum() < 0.8 * n.size:
            which = np.empty(n.size, dtype=np.int64)
            which[order] = np.cumsum(first) - 1
            got = grid_probability(ns[first], ps[first], step=step, tol=tol, sds=sds, chunk=chunk,
                                   coarse=coarse, _dedup=False)
            return got[which] if coarse is None else (got[0][which], got[1][which])
    out = np.zeros(n.shape, dtype=float)
    out_c = np.zeros(n.shape, dtype=float)
    if n.size == 0:
        return out if coarse is None else (out, out_c)
    lf = gammaln(np.arange(int(n.max()) + 2, dtype=float) + 1.0)  # log k!
    half = sds * np.sqrt(p * (1 - p) / np.maximum(n, 1)) + 1.0 / np.maximum(n, 1)
    m_lo = np.maximum(np.floor(100 * (p - half) / step), 0).astype(np.int64)
    m_hi = np.minimum(np.ceil(100 * (p + half) / step), 100 // step).astype(np.int64)
    width = m_hi - m_lo + 1
    order = np.argsort(width, kind="stable")
    tol_i = int(round(tol * _TOL_DEN))
    scale = 100 * _TOL_DEN
    for s in range(0, n.size, chunk):
        idx = order[s:s + chunk]
        nn = n[idx][:, None]
        mm = m_lo[idx][:, None] + np.arange(int(width[idx].max()))[None, :]
        live = mm <= m_hi[idx][:, None]
        # grid window in integers: (step m - tol) n / 100 <= k <= (step m + tol) n / 100
        centre = step * mm * _TOL_DEN
        k0 = np.maximum(-((-(centre - tol_i) * nn) // scale), 0)
        k1 = np.minimum(((centre + tol_i) * nn) // scale, nn)
        pp = p[idx][:, None]
        lq = np.log1p(-pp)
        c0 = lf[nn] + nn * lq
        d0 = np.log(pp) - lq
        acc = np.zeros(idx.size)
        acc_c = np.zeros(idx.size)
        on_coarse = (step * mm) % coarse == 0 if coarse else None
        for o in range(int((k1 - k0).max(initial=-1)) + 1):
            k = k0 + o
            ok = live & (k <= k1)
            k = np.where(ok, k, 0)
            pmf = np.where(ok, np.exp(c0 - lf[k] - lf[nn - k] + k * d0), 0.0)
            acc += pmf.sum(axis=1)
            if coarse:
                acc_c += np.where(on_coarse, pmf, 0.0).sum(axis=1)
        out[idx] = np.minimum(acc, 1.0)
        out_c[idx] = np.minimum(acc_c, 1.0)
    return out if coarse is None else (out, out_c)


def mc_sampler(q: np.ndarray, *, bins: int = 32):
    """A sampler ``draw(R, rng)`` of R replicates of sum_i Bernoulli(q_i), as binomials over ``bins`` bins
    of units with nearly equal q (sorted q split evenly; the bins are computed once).

    Replacing the Bernoulli(q_i) of a bin by a Binomial(n_b, mean q) keeps the mean exactly and raises the
    variance by n_b Var_b(q) (conservative): with 32 bins of sorted q the excess is below 0.1 % of the
    variance on election-sized inputs (checked in the tests against the exact moments)."""
    if q.size == 0:
        return lambda replicates, rng: np.zeros(replicates, dtype=np.int64)
    parts = np.array_split(np.sort(q), min(bins, q.size))
    size = np.array([len(a) for a in parts])
    mean = np.array([a.mean() for a in parts])

    def draw(replicates: int, rng: np.random.Generator) -> np.ndarray:
        return rng.binomial(size[None, :], mean[None, :], size=(replicates, size.size)).sum(axis=1)

    return draw


def mc_counts(q: np.ndarray, *, replicates: int, rng: np.random.Generator, bins: int = 32) -> np.ndarray:
    """Monte-Carlo replicates of sum_i Bernoulli(q_i), drawn as binomials over bins of similar q."""
    return mc_sampler(q, bins=bins)(replicates, rng)


_CACHE: dict[str, object] = {}


def _probabilities(c: Counts, reg, t, b, share, *, step: int, tol: float):
    """q_T, q_L for ``step``; integer (1) and multiple-of-5 grids come from one pass, cached per input."""
    if step not in (1, 5):
        return (grid_probability(reg, t, step=step, tol=tol), grid_probability(b, share, step=step, tol=tol))
    # keyed by the inputs' content (not object ids, which are reused): a leader share over other ballots is a new key
    key = (c.n, tol, hashlib.blake2b(b"".join(np.ascontiguousarray(a).tobytes() for a in (reg, t, b, share)),
                                     digest_size=16).digest())
    if _CACHE.get("key") != key:
        t1, t5 = grid_probability(reg, t, step=1, tol=tol, coarse=5)
        l1, l5 = grid_probability(b, share, step=1, tol=tol, coarse=5)
        _CACHE.clear()
        _CACHE.update(key=key, q={1: (t1, l1), 5: (t5, l5)}, ref=(c.votes, c.registered))
    return _CACHE["q"][step]


def grid_tests(c: Counts, *, test: str, step: int, alpha: float = 0.05, seed: int = 0,
               replicates: int = 999, max_replicates: int = 99_999, tol: float = 0.05, level: str = "national",
               leader_denominator: str = "boxes") -> list[TestResult]:
    """Turnout, leader share and either on the grid: observed vs binomial Monte-Carlo null."""
    b, reg, ok_t = c.turnout_counts()
    w, box, ok_l = c.leader_counts("boxes" if leader_denominator == "boxes" else "ballots")
    include = ok_t & ok_l & (box > 0) & (reg >= 100)
    safe_reg, safe_b = np.maximum(reg, 1), np.maximum(box, 1)
    t = np.where(include, b / safe_reg, 0.0)
    share = np.where(include, w / safe_b, 0.0)
    include &= (t <= 0.99) & (share <= 0.99)
    reg_i, b_i, w_i = reg[include], box[include], w[include]
    t_i, l_i = t[include], share[include]
    obs_t = on_grid(b_i, reg_i, step=step, tol=tol)
    obs_l = on_grid(w_i, b_i, step=step, tol=tol)
    q_t, q_l = _probabilities(c, reg_i, t_i, b_i, l_i, step=step, tol=tol)
    ids = c.unit_ids[include]
    rng = np.random.default_rng(seed)
    grid_name = "integer percentages" if step == 1 else f"multiples of {step} %"
    out = []
    for target, obs, q in (
        ("turnout", obs_t, q_t),
        ("leader share", obs_l, q_l),
        ("turnout or leader share", obs_t | obs_l, 1 - (1 - q_t) * (1 - q_l)),
    ):
        n = int(include.sum())
        observed = int(obs.sum())
        expected = float(q.sum())
        name = target if target != "leader share" else f"leader share ({c.leader_name})"
        res = TestResult(test, name, level, float(observed), None, False, n=n, alpha=alpha,
                         reference=REF_KOBAK, p_value_method="mc_upper")
        res.details = {"filter": "ballots in boxes > 0, registered >= 100, turnout <= 0.99, leader share <= 0.99",
                       "denominators": {"turnout": "ballots issued / registered",
                                        "leader share": ("leader / (valid + invalid ballots)" if
                                                         leader_denominator == "boxes" else
                                                         "leader / ballots issued (option)")},
                       "null": "binomial Monte Carlo (Kobak et al. 2016)", "step_pp": step, "tolerance_pp": tol,
                       "units_included": n}
        if n == 0 or q.sum() <= 0:
            out.append(res.not_tested("no table meets Kobak's inclusion rules." if n == 0 else
                                      "no table can land on the grid under the null."))
            continue
        sampler = mc_sampler(q)
        band = sampler(replicates, rng)
        first = [band]  # the band's replicates are the sequential procedure's first batch

        def draw(k: int, sampler=sampler, first=first) -> np.ndarray:
            return first.pop() if first and k == first[0].size else sampler(k, rng)

        seq = sequential_p(observed, draw, start=replicates, max_replicates=max_replicates)
        p = seq["p_value"]
        res.p_value = p
        mc_mean, mc_sd = float(band.mean()), float(band.std())
        excess = observed - mc_mean
        # weighted by voters (Kobak also reports it): ballots in the units on the grid
        res.details.update({
            "observed": observed, "expected": expected, "mc_mean": mc_mean, "mc_sd": mc_sd,
            "mc_q999": float(np.quantile(band, 0.999)), "excess": excess,
            **{k: seq[k] for k in ("replicates", "null_at_least", "stopped_early")},
            "ballots_on_grid": int(b_i[obs].sum()),
        })
        if mc_sd <= 0:
            out.append(res.not_tested("the Monte-Carlo null has no spread."))
            continue
        effect(res, excess / n, ((excess - 1.96 * mc_sd) / n, (excess + 1.96 * mc_sd) / n), count=excess)
        on = obs  # the units counted are the units listed ("turnout or leader": either on the grid)
        res.units_flagged_total = int(on.sum()) if res.significant else 0
        if res.significant:
            res.units_flagged = listed(ids, on)
        more = "more" if excess > 0 else "fewer"
        res.describe = lambda res, observed=observed, n=n, target=target, expected=expected, excess=excess, \
                more=more, p=p, seq=seq: (
            f"{observed:,} of {n:,} tables have {target} on {grid_name}; about {expected:,.0f} would by chance "
            f"({abs(excess):,.0f} {more}, {100 * abs(excess) / n:.2f} % of tables; MC p = {p:.3g} from "
            f"{seq['replicates']:,} replicates). "
            + ("An excess suggests some results were written to a target percentage rather than counted."
               if res.flagged else "An excess beyond chance, but below the materiality threshold."
               if res.significant else "No excess beyond chance.")
        )
        res.interpretation = res.describe(res)
        res.caveats = (
            "Tables on round values are expected by chance; only the excess over the binomial null is "
            "evidence, and it does not say which tables were altered. Rules that legitimately produce "
            "round numbers (e.g. fixed-size tables fully voting) also create excesses."
        )
        out.append(res)
    return out


def run_integer_percent(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    return grid_tests(c, test="integer_percent", step=1, alpha=alpha, seed=seed, level=level)


def run_round_percentage(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    return grid_tests(c, test="round_percentage", step=5, alpha=alpha, seed=seed, level=level)
