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
histogram. Test statistic: f_e, the extreme-fraud share (the part the fit identifies robustly: f_i also
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
spread and binomial counting, B0 = ``null_boot`` times; each redraw's histogram is fitted exactly like the
observed one (same clean model and grid) and f_e* recorded. f_e has an atom at 0, so ties are broken at
random: p = (#{f_e* > f_e} + U (#{f_e* = f_e} + 1)) / (B0 + 1), U ~ U(0, 1] (exactly uniform under the
null), except p = 1 when f_e = 0 (no extreme fraud fitted: nothing to flag; this only makes the test
conservative at that atom). Without counts the truncated-normal bootstrap is used.

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
from voteaudit.result import TestResult

REF_KLIMEK = ("Klimek, P., Yegorov, Y., Hanel, R. & Thurner, S. (2012) Statistical detection of "
              "systematic election irregularities, PNAS 109(41): 16469-16473")
THETAS = (0.05, 0.1, 0.15, 0.25)
ALPHAS = (1.0, 2.0, 3.0)
GRID_STEP = 0.005
FI_MAX, FE_MAX = 0.6, 0.2
EXTREME_SIGMA = 0.075


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


def fingerprint_fit(turnout: np.ndarray, share: np.ndarray, *, bins: int = 20, sample: int = 40_000,
                    boot: int = 20, null_boot: int = 39, seed: int = 0,
                    null_draws: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]] | None = None
                    ) -> dict:
    """Fit (f_i, f_e, theta, alpha) to the turnout/share histogram; bootstrap SEs and null p-value.

    ``null_draws(rng)`` returns one (turnout, share) redraw under the null (honest counting noise); without
    it the null histograms are multinomial draws from the fitted truncated normals."""
    rng = np.random.default_rng(seed)
    turnout, share = np.asarray(turnout, float), np.asarray(share, float)
    n = turnout.size
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

    observed = _hist(turnout, share, bins)
    p_clean = (clean_c[nblocks] / sample)
    cols = [observed]
    cols += [rng.multinomial(n, observed / n).astype(float) for _ in range(boot)]
    if null_draws is None:
        cols += [rng.multinomial(n, p_clean).astype(float) for _ in range(null_boot)]
    else:
        cols += [_hist(*null_draws(rng), bins) for _ in range(null_boot)]
    hmat = np.stack(cols, axis=1)                      # (bins^2, 1 + boot + null)
    best_sse = np.full(hmat.shape[1], np.inf)
    best = np.zeros((hmat.shape[1], 4))
    for theta in THETAS:
        x_inc = np.minimum(z_inc * theta, 1.0)
        for alpha in ALPHAS:
            ai, vi = _fraud(a, v, x_inc, alpha)
            ae, ve = _fraud(a, v, x_ext, alpha)
            inc_c = _blocked_cumhist(ai, vi, block, nblocks, bins)
            ext_c = _blocked_cumhist(ae, ve, block, nblocks, bins)
            hi = np.minimum(hi_idx, nblocks)
            pred = (inc_c[fi_idx] + ext_c[hi] - ext_c[fi_idx] + clean_c[nblocks] - clean_c[hi]) * (n / sample)
            sse = (pred**2).sum(axis=1)[:, None] - 2 * pred @ hmat
            sse[~valid_grid] = np.inf
            j = np.argmin(sse, axis=0)
            val = sse[j, np.arange(hmat.shape[1])]
            better = val < best_sse
            best_sse[better] = val[better]
            best[better] = np.column_stack([fi_idx[j] * GRID_STEP, fe_idx[j] * GRID_STEP,
                                            np.full(j.size, theta), np.full(j.size, alpha)])[better]
    obs_fit = best[0]
    bs = best[1:1 + boot]
    nul = best[1 + boot:]
    fe, fe_null = round(float(obs_fit[1]) / GRID_STEP), np.rint(nul[:, 1] / GRID_STEP)
    if fe == 0:
        p = 1.0
    else:  # randomised ties (f_e is on a grid): exactly uniform under the null
        u = 1.0 - rng.random()
        p = float((np.count_nonzero(fe_null > fe) + u * (np.count_nonzero(fe_null == fe) + 1)) / (null_boot + 1))
    clean_pred = p_clean * n
    misfit = float(((observed - clean_pred) ** 2).sum() / max((observed**2).sum(), 1.0))
    return {
        "f_i": float(obs_fit[0]), "f_e": float(obs_fit[1]), "theta": float(obs_fit[2]),
        "alpha": float(obs_fit[3]),
        "f_i_se": float(bs[:, 0].std(ddof=1)) if boot > 1 else float("nan"),
        "f_e_se": float(bs[:, 1].std(ddof=1)) if boot > 1 else float("nan"),
        "f_i_ci95": [float(np.quantile(bs[:, 0], 0.025)), float(np.quantile(bs[:, 0], 0.975))]
        if boot > 1 else None,
        "f_e_ci95": [float(np.quantile(bs[:, 1], 0.025)), float(np.quantile(bs[:, 1], 0.975))]
        if boot > 1 else None,
        "p_value": p, "null_mean_f_e": float(nul[:, 1].mean()), "null_boot": null_boot,
        "null_share_f_e_positive": float(np.mean(fe_null > 0)),
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
                     reference=REF_KLIMEK)
    if n < 500:
        res.interpretation = f"Not tested: only {n} usable tables (the fit needs a few hundred)."
        return res
    fit = fingerprint_fit(turnout, share, seed=seed, **kw)
    res.statistic = fit["f_e"]
    res.p_value = fit["p_value"]
    res.flagged = res.p_value < alpha
    res.effect_size = res.statistic
    hist = fit.pop("histogram")
    res.details = fit | {"histogram": hist}
    if res.flagged and unit_ids is not None:
        res.units_flagged = listed(unit_ids, (np.asarray(turnout) >= 0.95) & (np.asarray(share) >= 0.95))
    res.interpretation = (
        f"Fitted to the turnout/{target} histogram, the Klimek model puts f_i = {fit['f_i']:.3f} "
        f"(+/- {fit['f_i_se']:.3f}) of tables under incremental and f_e = {fit['f_e']:.3f} "
        f"(+/- {fit['f_e_se']:.3f}) under extreme irregularities (p = {res.p_value:.3g} for f_e against "
        "a clean election of the same shape). "
        + ("Votes rise with turnout towards 100 % / 100 % beyond what a clean election shows."
           if res.flagged else "The fingerprint is consistent with a clean election.")
    )
    res.caveats = (
        "The fraud-free model is a pair of truncated normals; elections with several distinct regions, "
        "ethnic voting or compulsory voting can smear the fingerprint without fraud (fit per region "
        "with --level). f_i, f_e are model parameters, not a count of falsified tables; f_i is not "
        "tested because it also absorbs the clean model's misfit."
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
