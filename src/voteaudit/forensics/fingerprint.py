"""Turnout x winner-share fingerprint with fitted incremental / extreme fraud.

Klimek, Yegorov, Hanel & Thurner (2012) "Statistical detection of systematic election irregularities",
PNAS 109(41): 16469-16473.

Data: the 2-D histogram of unit turnout ``a_i = B_i / R_i`` against winner share ``v_i = W_i / valid_i``
(``bins`` x ``bins`` on [0, 1]^2).

Fraud-free model: a_i ~ N(a, s_a), v_i ~ N(v, s_v), truncated to [0, 1]. Here a, v are the medians of
the observed marginals and s_a, s_v = 1.4826 x the median absolute deviation *below* the median (the
side fraud does not reach), so the clean model is estimated from the part of the data fraud leaves.

Fraud model: with probability f_i a unit has incremental fraud, x ~ |N(0, theta)|; with probability
f_e extreme fraud, x = 1 - |N(0, 0.075)|. A fraction x of the non-voters is added to the winner and a
fraction x^alpha of the opponents' votes moves to the winner:

    a' = a + x (1 - a),   v' = (v a + x (1 - a) + x^alpha (1 - v) a) / a'.

Fit: the histogram expected under (f_i, f_e, theta, alpha) is built from one simulated sample of
``sample`` units (common random numbers: unit j is clean, incremental or extreme according to a
uniform u_j, so every grid point reuses the same draws); (f_i, f_e) on a 0.005 grid (f_i <= 0.6,
f_e <= 0.2) and (theta, alpha) on a small grid are chosen by least squares between observed and
expected histograms (the authors' criterion). Uncertainty: multinomial bootstrap of the observed
histogram (200 replicates; 95 % percentile intervals). Test statistic: f_e, the extreme-fraud share (the
part the fit identifies robustly: f_i also
absorbs any departure of a clean election from two truncated normals, e.g. a mixture of regions, so it
is reported but not tested). The fraud-free model's misfit (residual sum of squares relative to the
data's) is reported too.

p-value (departure, documented). Klimek et al. give no test; a parametric bootstrap from the fitted
truncated normals (the previous null here) is miscalibrated: real clean data are a mixture of areas, not
two truncated normals, and their fitted f_e is above 0 more often than the bootstrap's (on clean
simulations p was 1 in 95 % of elections and < 0.025 in the other 5 %: right at alpha = 0.05 only by
accident). With the counts given, the null here is honest counting noise
(:mod:`voteaudit.forensics.honest`, as for the dip test): every table's ballots (out of registered) and
leader votes (out of valid) are redrawn from its area's mean, a robustly estimated logit-normal table
spread and binomial counting; each redraw's histogram is fitted exactly like the observed one (same
clean model and grid) and f_e* recorded, in batches until 10 redraws reach f_e or the cap is hit (Besag &
Clifford 1991 sequential p-value: h / L when stopped after L redraws, else (1 + #{f_e* >= f_e}) / (B + 1);
ties with the grid value count as reaching it, which is conservative). p = 1 when f_e = 0 (no extreme
fraud fitted: nothing to flag). Without counts the truncated-normal bootstrap is used. Effect: f_e (a
share of tables) with its bootstrap interval; flagged only when material.

Measured consequence: on clean simulations of 1,000-2,000 tables f_e = 0 in ~97 % of elections, and where
it is not, the area structure that produced it gives the same f_e in most honest redraws (82-97 % of
them), so the false-positive rate at alpha = 0.05 is well below alpha (0/200 at 1,000 tables, 2/200 at
2,000; ``bench/calibrate_forensics.py``). A valid test cannot fire more often on clean data without
flagging elections with no fitted extreme fraud. Power against extreme fraud is kept (klimek_extreme on
1 % of 1,000 tables: detected in 95 % of simulations).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from voteaudit.forensics.honest import honest_model
from voteaudit.forensics.inputs import Counts, listed
from voteaudit.forensics.materiality import effect
from voteaudit.forensics.montecarlo import sequential_p
from voteaudit.result import TestResult

REF_KLIMEK = ("Klimek, P., Yegorov, Y., Hanel, R. & Thurner, S. (2012) Statistical detection of "
              "systematic election irregularities, PNAS 109(41): 16469-16473")
THETAS = (0.05, 0.1, 0.15, 0.25)
ALPHAS = (1.0, 2.0, 3.0)
GRID_STEP = 0.005
FI_MAX, FE_MAX = 0.6, 0.2
EXTREME_SIGMA = 0.075
#: Fewer usable tables than this: not tested (about 5 tables per histogram cell; below it f_e is noise).
MIN_TABLES = 2000


def _centre_and_low_sd(x: np.ndarray) -> tuple[float, float]:
    """Median and the low-side spread (1.4826 x median absolute deviation below the median)."""
    med = float(np.median(x))
    low = med - x[x <= med]
    sd = 1.4826 * float(np.median(low)) if low.size > 5 else float(np.std(x))
    return med, max(sd, 1e-3)


def _truncnorm(rng: np.random.Generator, mu: float, sd: float, size: int) -> np.ndarray:
    lo, hi = (0.0 - mu) / sd, (1.0 - mu) / sd
    return stats.truncnorm.rvs(lo, hi, loc=mu, scale=sd, size=size, random_state=rng)


def _hist(a: np.ndarray, v: np.ndarray, bins: int) -> np.ndarray:
    ia = np.minimum((a * bins).astype(np.int64), bins - 1)
    iv = np.minimum((v * bins).astype(np.int64), bins - 1)
    return np.bincount(ia * bins + iv, minlength=bins * bins).astype(float)


def _blocked_cumhist(a, v, block, nblocks, bins):
    """Cumulative (over u-blocks) 2-D histograms: row j = units in blocks < j."""
    ia = np.minimum((a * bins).astype(np.int64), bins - 1)
    iv = np.minimum((v * bins).astype(np.int64), bins - 1)
    h = np.bincount(block * bins * bins + ia * bins + iv, minlength=nblocks * bins * bins)
    h = h.reshape(nblocks, bins * bins).astype(float)
    return np.vstack([np.zeros((1, bins * bins)), np.cumsum(h, axis=0)])


def _fraud(a, v, x, alpha):
    a2 = a + x * (1 - a)
    v2 = (v * a + x * (1 - a) + x**alpha * (1 - v) * a) / np.maximum(a2, 1e-12)
    return np.clip(a2, 0, 1), np.clip(v2, 0, 1)


def fingerprint_fit(turnout: np.ndarray, share: np.ndarray, *, bins: int = 20, sample: int | None = None,
                    boot: int = 200, null_boot: int = 10, max_null: int | None = None, seed: int = 0,
                    null_draws: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]] | None = None
                    ) -> dict:
    """Fit (f_i, f_e, theta, alpha) to the turnout/share histogram; bootstrap intervals and null p-value.

    ``boot`` multinomial bootstrap replicates of the histogram give the 95 % percentile intervals
    (reported only from 100 replicates on; fewer say "unavailable"). ``null_draws(rng)`` returns one
    (turnout, share) redraw under the null (honest counting noise); without it the null histograms are
    multinomial draws from the fitted truncated normals. The null is drawn only when f_e > 0, in batches
    from ``null_boot`` redraws until 10 reach f_e or ``max_null`` are drawn (Besag & Clifford sequential
    p-value; 999 for large inputs, 1999 up to 5,000 tables: small enough for many-area adjustment).
    The model sample for the predicted histograms is 10 n units (10,000 to 40,000), unless ``sample``."""
    rng = np.random.default_rng(seed)
    turnout, share = np.asarray(turnout, float), np.asarray(share, float)
    n = turnout.size
    sample = int(np.clip(10 * n, 10_000, 40_000)) if sample is None else int(sample)
    a0, sa = _centre_and_low_sd(turnout)
    v0, sv = _centre_and_low_sd(share)
    a = _truncnorm(rng, a0, sa, sample)
    v = _truncnorm(rng, v0, sv, sample)
    u = rng.random(sample)
    nblocks = int(round(1 / GRID_STEP))
    block = np.minimum((u * nblocks).astype(np.int64), nblocks - 1)
    z_inc = np.abs(rng.standard_normal(sample))
    x_ext = np.clip(1 - np.abs(rng.normal(0, EXTREME_SIGMA, sample)), 0, 1)
    clean_c = _blocked_cumhist(a, v, block, nblocks, bins)
    ia_n, ie_n = int(round(FI_MAX / GRID_STEP)) + 1, int(round(FE_MAX / GRID_STEP)) + 1
    fi_idx = np.repeat(np.arange(ia_n), ie_n)
    fe_idx = np.tile(np.arange(ie_n), ia_n)
    hi_idx = fi_idx + fe_idx
    valid_grid = hi_idx <= nblocks
    hi = np.minimum(hi_idx, nblocks)
    preds = []
    for theta in THETAS:
        x_inc = np.minimum(z_inc * theta, 1.0)
        for alpha in ALPHAS:
            ai, vi = _fraud(a, v, x_inc, alpha)
            ae, ve = _fraud(a, v, x_ext, alpha)
            inc_c = _blocked_cumhist(ai, vi, block, nblocks, bins)
            ext_c = _blocked_cumhist(ae, ve, block, nblocks, bins)
            pred = (inc_c[fi_idx] + ext_c[hi] - ext_c[fi_idx] + clean_c[nblocks] - clean_c[hi]) * (n / sample)
            preds.append((theta, alpha, pred.astype(np.float32), (pred**2).sum(axis=1)))

    def fit(hmat: np.ndarray) -> np.ndarray:
        best_sse = np.full(hmat.shape[1], np.inf)
        best = np.zeros((hmat.shape[1], 4))
        occupied = np.flatnonzero(hmat.any(axis=1))  # pred @ h only needs the cells some histogram fills
        h32 = hmat[occupied].astype(np.float32)
        for theta, alpha, pred, p2 in preds:
            sse = p2[:, None] - 2 * (pred[:, occupied] @ h32).astype(float)
            sse[~valid_grid] = np.inf
            j = np.argmin(sse, axis=0)
            val = sse[j, np.arange(hmat.shape[1])]
            better = val < best_sse
            best_sse[better] = val[better]
            best[better] = np.column_stack([fi_idx[j] * GRID_STEP, fe_idx[j] * GRID_STEP,
                                            np.full(j.size, theta), np.full(j.size, alpha)])[better]
        return best

    observed = _hist(turnout, share, bins)
    p_clean = (clean_c[nblocks] / sample)
    cols = [observed] + [rng.multinomial(n, observed / n).astype(float) for _ in range(boot)]
    best = fit(np.stack(cols, axis=1))
    obs_fit, bs = best[0], best[1:]
    fe = round(float(obs_fit[1]) / GRID_STEP)

    def null_batch(k: int) -> np.ndarray:
        if null_draws is None:
            h = [rng.multinomial(n, p_clean).astype(float) for _ in range(k)]
        else:
            h = [_hist(*null_draws(rng), bins) for _ in range(k)]
        return np.rint(fit(np.stack(h, axis=1))[:, 1] / GRID_STEP)

    cap = (1999 if n <= 5000 else 999) if max_null is None else int(max_null)
    null: dict = {"replicates": 0, "null_at_least": 0, "stopped_early": False}
    if fe == 0:
        p = 1.0  # no extreme fraud fitted: nothing to flag
        null_mean = None
    else:
        seq = sequential_p(fe, null_batch, start=null_boot, max_replicates=cap)
        p = seq["p_value"]
        null = {k: seq[k] for k in ("replicates", "null_at_least", "stopped_early")}
        null_mean = seq["null_mean"] * GRID_STEP
    clean_pred = p_clean * n
    misfit = float(((observed - clean_pred) ** 2).sum() / max((observed**2).sum(), 1.0))
    enough = boot >= 100

    def ci(col: int) -> list[float] | None:
        return [float(np.quantile(bs[:, col], 0.025)), float(np.quantile(bs[:, col], 0.975))] if enough else None

    return {
        "f_i": float(obs_fit[0]), "f_e": float(obs_fit[1]), "theta": float(obs_fit[2]),
        "alpha": float(obs_fit[3]),
        "f_i_se": float(bs[:, 0].std(ddof=1)) if enough else None,
        "f_e_se": float(bs[:, 1].std(ddof=1)) if enough else None,
        "f_i_ci95": ci(0), "f_e_ci95": ci(1), "bootstrap_replicates": boot,
        "p_value": p, **null,
        "null_mean_f_e": null_mean,
        "null": "truncated normals (parametric bootstrap)" if null_draws is None
        else "honest counting noise (parametric redraw of every count)",
        "clean_model": {"turnout_mode": a0, "turnout_sd": sa, "share_mode": v0, "share_sd": sv},
        "clean_misfit": misfit, "bins": bins, "histogram": observed.reshape(bins, bins).astype(int).tolist(),
    }


def fingerprint_test(turnout: np.ndarray, share: np.ndarray, *, target: str, alpha: float = 0.05,
                     seed: int = 0, unit_ids: np.ndarray | None = None, level: str = "national",
                     **kw) -> TestResult:
    n = int(np.asarray(turnout).size)
    res = TestResult("fingerprint", target, level, float("nan"), None, False, n=n, alpha=alpha,
                     reference=REF_KLIMEK, p_value_method="mc_upper")
    res.details = {"filter": "registered > 0, 0 <= ballots <= registered, valid > 0 (100 % turnout kept)",
                   "denominators": {"turnout": "ballots / registered", "share": "leader / valid votes"}}
    if n < MIN_TABLES:
        return res.not_tested(f"only {n} usable tables (the fit of a 20 x 20 histogram needs {MIN_TABLES:,}).")
    fit = fingerprint_fit(turnout, share, seed=seed, **kw)
    res.statistic = fit["f_e"]
    res.p_value = fit["p_value"]
    hist = fit.pop("histogram")
    res.details.update(fit | {"histogram": hist})
    effect(res, fit["f_e"], None if fit["f_e_ci95"] is None else tuple(fit["f_e_ci95"]))
    if res.flagged and unit_ids is not None:
        corner = (np.asarray(turnout) >= 0.95) & (np.asarray(share) >= 0.95)
        res.units_flagged, res.units_flagged_total = listed(unit_ids, corner), int(corner.sum())

    def pm(key: str) -> str:
        c = fit[key + "_ci95"]
        return "interval unavailable" if c is None else f"95 % CI {c[0]:.3f}-{c[1]:.3f}"

    res.describe = lambda res: (
        f"Fitted to the turnout/{target} histogram, the Klimek model puts f_i = {fit['f_i']:.3f} "
        f"({pm('f_i')}) of tables under incremental and f_e = {fit['f_e']:.3f} ({pm('f_e')}) under extreme "
        f"irregularities (p = {res.p_value:.3g} for f_e against honest counting noise in tables like these). "
        + ("Votes rise with turnout towards 100 % / 100 % beyond what a clean election shows."
           if res.flagged else "Beyond chance, but f_e is below the materiality threshold."
           if res.significant else "The fingerprint is consistent with a clean election.")
    )
    res.interpretation = res.describe(res)
    res.caveats = (
        "The fraud-free model is a pair of truncated normals; elections with several distinct regions, "
        "ethnic voting or compulsory voting can smear the fingerprint without fraud (fit per region "
        "with --level). f_i, f_e are model parameters, not a count of falsified tables; f_i is not "
        "tested because it also absorbs the clean model's misfit. Intervals: multinomial bootstrap of the "
        "histogram (200 replicates)."
    )
    return res


def run_fingerprint(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    b, reg, ok_t = c.turnout_counts()
    w, valid, ok_l = c.leader_counts("valid")
    ok = ok_t & ok_l & (reg > 0)
    t = b[ok] / reg[ok]
    v = w[ok] / valid[ok]
    return [fingerprint_test(t, v, target=f"leader share ({c.leader_name})", alpha=alpha, seed=seed,
                             unit_ids=c.unit_ids[ok], level=level,
                             null_draws=honest_null_draws(b[ok], reg[ok], w[ok], valid[ok],
                                                          None if c.parent is None else c.parent[ok]))]


def honest_null_draws(ballots: np.ndarray, registered: np.ndarray, leader: np.ndarray, valid: np.ndarray,
                      groups: np.ndarray | None) -> Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """A sampler of (turnout, share) under honest counting noise (robust spread, as the dip test)."""
    mt = honest_model(ballots, registered, groups, robust=True)
    ml = honest_model(leader, valid, groups, robust=True)
    reg_f = np.asarray(registered, dtype=np.float32)
    val_f = np.asarray(valid, dtype=np.float32)
    small = np.asarray(ballots).size <= 50_000

    def draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if small:
            return mt.draw(rng, exact=True) / registered, ml.draw(rng, exact=True) / valid
        return mt.draw_normal(rng) / reg_f, ml.draw_normal(rng) / val_f

    return draw
