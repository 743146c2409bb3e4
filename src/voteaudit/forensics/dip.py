"""Hartigan's dip test of unimodality for turnout and leader share, calibrated by honest-noise redraws.

Hartigan, J. A. & Hartigan, P. M. (1985) The Dip Test of Unimodality, Annals of Statistics 13(1):
70-84. D = sup_x |F_n(x) - G(x)| minimised over unimodal G (D in [1/(2n), 1/4]), computed with PyPI
``diptest`` (port of R ``diptest``, Maechler). A second mode in turnout or in the winner's share (e.g. a
cluster near 100 %) is what the Election Forensics Toolkit's DipT indicator flags.

``dip`` is the test as published: ``p_value`` from Hartigan's table of D for a uniform sample (the
"least favourable" unimodal law) as R's ``dip.test`` and PyPI ``diptest`` interpolate it on sqrt(n) D.
Beyond the table's largest n (72,000) the table's last row is used as the asymptotic distribution of
sqrt(n) D (diptest's own rule, :func:`table_p_value`), so the p-value is still the standard one, not a
resolution-limited simulation. Effect: D itself (the largest gap between the distribution function of
the shares and the nearest unimodal one: a share of tables) with a bootstrap 95 % percentile interval
shifted by the bootstrap's median bias (resampling ties
inflate D; :func:`median_shift_interval`).

``dip_calibrated`` is a separate, named alternative. On election shares the table is miscalibrated both
ways: shares k/n are discrete with atoms at simple fractions (1/2, 2/3, ...), which a large sample's dip
sees as extra modes, while for smooth unimodal data it is very conservative. Its p-value is a parametric
bootstrap under honest counting noise (:mod:`voteaudit.forensics.honest`: each table's count redrawn
from its area's mean share, a logit-normal table spread estimated robustly, and binomial counting with
the table's own denominator, so the atoms are in the null too), with as many redraws as the decision
needs (Besag & Clifford sequential p-value, :mod:`voteaudit.forensics.montecarlo`, stopping at h = 5
redraws at least as large as D). Above
``MAX_TEST_N`` tables it runs on a seeded random subsample of ``MAX_TEST_N`` tables (30,000; a cost
choice: at 30,000 tables a cluster of ~1-2 % of tables already stands out); its ``statistic`` is D of
the tested (sub)sample.
"""

from __future__ import annotations

import warnings

import numpy as np

from voteaudit.forensics.honest import honest_model
from voteaudit.forensics.inputs import Counts
from voteaudit.forensics.materiality import effect
from voteaudit.forensics.montecarlo import sequential_p
from voteaudit.result import TestResult

REF_DIP = ("Hartigan, J. A. & Hartigan, P. M. (1985) The Dip Test of Unimodality, Annals of Statistics "
           "13(1): 70-84; PyPI diptest (port of R diptest, Maechler)")
TABLE_MAX_N = 72_000
MAX_TEST_N = 30_000


def dip(x: np.ndarray, *, presorted: bool = False) -> tuple[float, float]:
    """(D, p-value) as R's ``dip.test`` (D = 1/(2n) for a perfectly even sample; uniform-null p)."""
    import diptest

    x = np.asarray(x, dtype=float) if presorted else np.sort(np.asarray(x, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d, p = diptest.diptest(x, sort_x=False, allow_zero=False)
    return float(d), float(p)


def dip_statistic(x: np.ndarray) -> float:
    """D only (no p-value look-up)."""
    import diptest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(diptest.dipstat(np.sort(np.asarray(x, dtype=float)), sort_x=False, allow_zero=False))


def table_p_value(d: float, n: int) -> float:
    """Hartigan's tabulated p-value of D for n observations (diptest's interpolation on sqrt(n) D;
    beyond n = 72,000 its last row as the asymptotic law)."""
    from diptest.diptest import Consts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(Consts.compute_pval_interpolation(int(n), float(d)))


def median_shift_interval(value: float, boots: np.ndarray) -> tuple[float, float]:
    """95 % bootstrap percentile interval shifted by the bootstrap's median bias (median - value).

    Resampling creates ties, which inflate D (and a distance from uniform) in every replicate, so the
    plain percentile interval can miss the estimate itself; removing the median bias keeps the spread."""
    shift = float(np.median(boots)) - value
    return float(np.quantile(boots, 0.025)) - shift, float(np.quantile(boots, 0.975)) - shift


def _filter(target: str) -> dict:
    if target == "turnout":
        return {"filter": "registered > 0 and 0 <= ballots <= registered (100 % turnout kept, as the EFToolkit)",
                "denominator": "registered"}
    return {"filter": "all candidate counts reported, valid votes > 0", "denominator": "valid votes"}


def dip_test(x: np.ndarray, *, target: str, alpha: float = 0.05, level: str = "national", seed: int = 0,
             boot: int | None = None) -> TestResult:
    """Hartigan's dip test of the values ``x`` as published (tabulated p-value), effect D with interval."""
    x = np.sort(np.asarray(x, dtype=float))
    size = int(x.size)
    res = TestResult("dip", target, level, float("nan"), None, False, n=size, alpha=alpha, reference=REF_DIP,
                     p_value_method="dip_table")
    res.details = {"null": "uniform (Hartigan's table; sqrt(n) D)", **_filter(target)}
    if size < 10:
        return res.not_tested(f"only {size} usable tables.")
    d = dip_statistic(x)
    p = table_p_value(d, size)
    rng = np.random.default_rng(seed)
    B = (100 if size <= 30_000 else 50) if boot is None else int(boot)
    bs = np.array([dip_statistic(x[rng.integers(0, size, size)]) for _ in range(B)])
    res.statistic, res.p_value = d, p
    res.details.update({"D": d, "sqrt_n_D": d * np.sqrt(size), "beyond_table": size > TABLE_MAX_N,
                        "bootstrap_replicates": B})
    effect(res, d, median_shift_interval(d, bs))
    res.describe = lambda res: (
        f"{target}: dip D = {d:.4f} (95 % CI {res.effect['ci95'][0]:.4f}-{res.effect['ci95'][1]:.4f}), "
        f"Hartigan's p = {p:.3g} (n = {size}): "
        + ("more than one peak, and a material one." if res.flagged else
           "more than one peak by the textbook test, but the gap is below the materiality threshold."
           if res.significant else "consistent with one peak.")
        + " Shares of small tables pile up at simple fractions, which the textbook test can read as extra "
          "peaks: dip_calibrated compares with honest counting noise instead."
    )
    res.interpretation = res.describe(res)
    res.caveats = ("Unimodality is not a law of honest elections: regions with very different politics "
                   "give several peaks. Two peaks can mean two kinds of places - or a group of tables with "
                   "manufactured results.")
    return res


def dip_calibrated_test(k: np.ndarray, n: np.ndarray, *, target: str, alpha: float = 0.05,
                        level: str = "national", groups: np.ndarray | None = None, seed: int = 0,
                        max_replicates: int | None = None) -> TestResult:
    """Dip of the shares k / n against honest counting noise (sequential parametric bootstrap)."""
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    size = int(k.size)
    res = TestResult("dip_calibrated", target, level, float("nan"), None, False, n=size, alpha=alpha,
                     reference=REF_DIP, p_value_method="mc_upper")
    res.details = {"null": "honest counting noise (parametric bootstrap)", **_filter(target)}
    if size < 10:
        return res.not_tested(f"only {size} usable tables.")
    rng = np.random.default_rng(seed)
    if size > MAX_TEST_N:
        idx = np.sort(rng.choice(size, MAX_TEST_N, replace=False))
        k, n = k[idx], n[idx]
        groups = None if groups is None else np.asarray(groups)[idx]
    d = dip_statistic(k / n)
    model = honest_model(k, n, groups, robust=True)
    cap = (9999 if k.size <= 5000 else 999) if max_replicates is None else int(max_replicates)
    out = sequential_p(d, lambda b: np.array([dip_statistic(model.draw(rng) / n) for _ in range(b)]),
                       start=10, max_replicates=cap, h=5)
    res.n = int(k.size)
    res.statistic, res.p_value = d, out["p_value"]
    res.details.update({"subsample": None if size <= MAX_TEST_N else MAX_TEST_N, "tau_logit": model.tau,
                        **{key: out[key] for key in ("replicates", "null_at_least", "stopped_early",
                                                     "null_mean", "null_sd")}})
    if out["null_sd"] <= 1e-12 * max(out["null_mean"], 1e-12):
        return res.not_tested("the honest-noise null has no spread (every redraw gives the same dip).")
    excess = d - out["null_mean"]
    half = 1.96 * out["null_sd"]
    effect(res, excess, (excess - half, excess + half))
    res.describe = lambda res: (
        f"{target}: the distribution across tables "
        + ("has materially more peaks than honest counting noise produces" if res.flagged
           else "has more peaks than honest counting noise, but not materially" if res.significant
           else "is consistent with honest counting noise around each area's level")
        + f" (D = {d:.4f} vs {out['null_mean']:.4f} expected, p = {res.p_value:.3g} from "
        f"{out['replicates']} redraws). This is the dip result to believe for election shares."
    )
    res.interpretation = res.describe(res)
    res.caveats = ("The null keeps each area's level, so differences between areas are not flagged, but a "
                   "whole area manufactured at one value is not either. Above 30,000 tables the test uses "
                   "a random subsample of 30,000.")
    return res


def run_dip(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    b, reg, ok_t = c.turnout_counts()
    w, valid, ok_l = c.leader_counts("valid")
    return [dip_test(b[ok_t] / reg[ok_t], target="turnout", alpha=alpha, level=level, seed=seed),
            dip_test(w[ok_l] / valid[ok_l], target=f"leader share ({c.leader_name})", alpha=alpha,
                     level=level, seed=seed + 1)]


def run_dip_calibrated(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    b, reg, ok_t = c.turnout_counts()
    w, valid, ok_l = c.leader_counts("valid")
    par = c.parent
    return [dip_calibrated_test(b[ok_t], reg[ok_t], target="turnout", alpha=alpha, level=level,
                                groups=None if par is None else par[ok_t], seed=seed),
            dip_calibrated_test(w[ok_l], valid[ok_l], target=f"leader share ({c.leader_name})", alpha=alpha,
                                level=level, groups=None if par is None else par[ok_l], seed=seed + 1)]
