"""Spikes: excess concentration of turnout / leader share on particular values.

After Rozenas (2017) "Detecting Election Fraud from Irregularities in Vote-Share Distributions",
Political Analysis 25(1): 41-56 (R package ``spikes``). **Simplified version** (documented as such):
Rozenas fits beta-binomial mixtures and compares a fine-bandwidth kernel density with a resampled
envelope. Here:

1. shares s_i = k_i / n_i on a fine histogram (``resolution`` = 0.001, i.e. 1000 bins on [0, 1]);
2. spike statistic S = sum_b max(0, O_b - E_b), where O_b is the count in bin b and E_b the mean count
   of the ``window`` bins on each side (the bin itself excluded): mass standing above its neighbourhood;
3. null: jitter every unit's count, k*_i = clip(round(k_i + max(h n_i, 1) Z), 0, n_i), Z ~ N(0, 1),
   h = ``jitter`` = 0.005 (five bins). This keeps each unit's denominator, so the arithmetic spikes that
   small denominators create at simple fractions such as 1/2 or 2/3 are in the null too, while values
   fabricated onto the same share are spread out; the jitter is small against the spread of shares, so
   the overall shape is kept (a full binomial resample would widen it and bias S). R resamples;
4. p-value from a normal fit to the R resampled statistics (S is a sum over ~1000 bins), with the
   rank-based (1 + #{S* >= S}) / (R + 1) reported in ``details``; excess mass (S - mean S*) / N
   estimates the share of units sitting on spikes beyond chance (Rozenas's "share of fabricated units"
   in spirit, not his estimator).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from voteaudit.forensics.inputs import Counts, listed
from voteaudit.forensics.materiality import effect
from voteaudit.result import TestResult

REF_SPIKES = ("Rozenas, A. (2017) Detecting Election Fraud from Irregularities in Vote-Share "
              "Distributions, Political Analysis 25(1): 41-56 (simplified resampling version)")


def _excess(b: np.ndarray, bins: int, window: int) -> np.ndarray:
    counts = np.bincount(b, minlength=bins).astype(float)
    padded = np.pad(counts, window, mode="reflect")
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    i = np.arange(bins) + window
    neigh = (csum[i + window + 1] - csum[i - window]) - counts
    return np.maximum(counts - neigh / (2 * window), 0.0)


def spike_statistic(share: np.ndarray, *, resolution: float = 0.001, window: int = 10
                    ) -> tuple[float, np.ndarray, np.ndarray]:
    """(S, per-bin excess, bin index per unit) for shares in [0, 1]."""
    bins = int(round(1 / resolution))
    b = np.minimum((share * bins).astype(np.int64), bins - 1)
    excess = _excess(b, bins, window)
    return float(excess.sum()), excess, b


def _count_bins(k: np.ndarray, n: np.ndarray, bins: int) -> np.ndarray:
    """Bin floor(bins k / n) of each share k / n, exact for integer counts (same rule for data and null)."""
    return np.minimum((np.asarray(k, dtype=np.int64) * bins) // np.asarray(n, dtype=np.int64), bins - 1)


def spike_test(k: np.ndarray, n: np.ndarray, *, target: str, alpha: float = 0.05, seed: int = 0,
               replicates: int | None = None, resolution: float = 0.001, window: int = 10,
               jitter: float = 0.005, unit_ids: np.ndarray | None = None,
               level: str = "national") -> TestResult:
    """Spike test for the shares k / n (k, n integer arrays of the usable units)."""
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    size = int(k.size)
    res = TestResult("spikes", target, level, float("nan"), None, False, n=size, alpha=alpha,
                     reference=REF_SPIKES, p_value_method="normal_upper")
    res.details = {"filter": ("registered > 0 and 0 <= ballots <= registered" if target == "turnout" else
                              "all candidate counts reported, valid votes > 0"),
                   "denominator": "registered" if target == "turnout" else "valid votes",
                   "null": "jittered counts (normal fit to the resampled statistic)"}
    if size < 200:
        return res.not_tested(f"only {size} usable tables.")
    if replicates is None:  # fewer resamples for very large inputs (p-value from a normal fit)
        replicates = int(np.clip(round(2e7 / size), 15, 99))
    bins = int(round(1 / resolution))
    bin_of = _count_bins(k, n, bins)
    excess = _excess(bin_of, bins, window)
    s_obs = float(excess.sum())
    rng = np.random.default_rng(seed)
    # float32 in place: counts <= 2^24 are exact, and floor(bins k* / n) is then the exact integer bin
    kf, nf = k.astype(np.float32), n.astype(np.float32)
    sd = np.maximum(np.float32(jitter) * nf, np.float32(1.0))
    buf = np.empty(size, dtype=np.float32)
    null = np.empty(replicates)
    exact32 = int(n.max(initial=0)) * bins < 2**24
    for r in range(replicates):
        rng.standard_normal(size, dtype=np.float32, out=buf)
        buf *= sd
        buf += kf
        np.rint(buf, out=buf)
        np.clip(buf, 0, nf, out=buf)
        if exact32:
            buf *= np.float32(bins)
            buf /= nf
            np.floor(buf, out=buf)
            b = np.minimum(buf.astype(np.int64), bins - 1)
        else:
            b = _count_bins(buf.astype(np.int64), n, bins)
        null[r] = _excess(b, bins, window).sum()
    mu, sigma = float(null.mean()), float(null.std(ddof=1))
    res.statistic = s_obs
    res.details.update({"null_mean": mu, "null_sd": sigma, "replicates": replicates})
    if not sigma > 1e-9 * max(abs(mu), 1.0):
        return res.not_tested("the resampled statistic has no spread (zero-variance null).")
    z = (s_obs - mu) / sigma
    p = float(stats.norm.sf(z))
    res.p_value = p
    effect(res, (s_obs - mu) / size, ((s_obs - mu - 1.96 * sigma) / size, (s_obs - mu + 1.96 * sigma) / size),
           count=s_obs - mu)
    top = np.argsort(excess)[::-1][:5]
    res.details.update({
        "z": z,
        "p_rank": float((1 + np.count_nonzero(null >= s_obs)) / (replicates + 1)),
        "resolution": resolution, "window_bins": window,
        "largest_spikes": [{"value": round(float(b) * resolution, 6), "excess_units": float(excess[b])}
                           for b in top if excess[b] > 0],
    })
    if res.flagged and unit_ids is not None:
        spike_bins = top[excess[top] > 3 * np.sqrt(np.maximum(excess[top], 1))]
        on = np.isin(bin_of, spike_bins)
        res.units_flagged, res.units_flagged_total = listed(unit_ids, on), int(on.sum())
    where = ", ".join(f"{d['value']:.3f}" for d in res.details["largest_spikes"][:3])
    res.describe = lambda res: (
        f"{target}: {100 * max(res.effect_size, 0):.2f} % of tables sit on sharp spikes beyond what "
        f"counting noise produces (z = {z:.1f}, p = {p:.3g})"
        + (f"; largest at {where}." if res.flagged and where else ".")
        + (" Spikes suggest results written to a chosen value." if res.flagged else
           " Beyond chance, but below the materiality threshold." if res.significant else "")
    )
    res.interpretation = res.describe(res)
    res.caveats = (
        "Simplified version of Rozenas (2017): binomial resampling of each table around its own share "
        "instead of his fitted beta-binomial mixture. Legitimate causes of spikes (tiny tables, "
        "unanimous small communities, fixed-size tables) must be ruled out before suspecting fraud."
    )
    return res


def run_spikes(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    b, reg, ok_t = c.turnout_counts()
    w, valid, ok_l = c.leader_counts("valid")
    ok_t &= reg > 0
    return [
        spike_test(b[ok_t], reg[ok_t], target="turnout", alpha=alpha, seed=seed,
                   unit_ids=c.unit_ids[ok_t], level=level),
        spike_test(w[ok_l], valid[ok_l], target=f"leader share ({c.leader_name})", alpha=alpha,
                   seed=seed + 1, unit_ids=c.unit_ids[ok_l], level=level),
    ]
