"""Hartigan's dip test of unimodality for turnout and leader share, calibrated by honest-noise redraws.

Hartigan, J. A. & Hartigan, P. M. (1985) The Dip Test of Unimodality, Annals of Statistics 13(1):
70-84. D = sup_x |F_n(x) - G(x)| minimised over unimodal G (D in [1/(2n), 1/4]), computed with PyPI
``diptest`` (port of R ``diptest``, Maechler). A second mode in turnout or in the winner's share (e.g. a
cluster near 100 %) is what the Election Forensics Toolkit's DipT indicator flags.

p-value (departure, documented). The textbook p-value compares D with its distribution for a uniform
sample (tabulated up to n = 72,000, the "least favourable" unimodal law). On election shares that is
miscalibrated both ways: shares k/n are discrete with atoms at simple fractions (1/2, 2/3, ...), which a
large sample's dip sees as extra modes (p = 0 on clean simulations of 1,000,000 tables), while for
smooth unimodal data it is very conservative. Here, when the counts are given, the p-value is a
parametric bootstrap under honest counting noise (:mod:`voteaudit.forensics.honest`: each table's count
redrawn from its area's mean share, a logit-normal table spread estimated robustly, and binomial
counting with the table's own denominator, so the atoms are in the null too):
p = (1 + #{D* >= D}) / (B + 1). Above ``MAX_TEST_N`` tables the test (observed and redrawn)
runs on a seeded random subsample of ``MAX_TEST_N`` tables (30,000; the bootstrap, unlike the table,
needs no size limit, so this is a cost choice: at 30,000 tables a cluster of ~1-2 % of tables already
stands out), so its cost and calibration do not depend on n; D on the full data is the reported
statistic. The tabulated (uniform-null) p-value is kept in
``details["p_uniform_table"]``.
"""

from __future__ import annotations

import warnings

import numpy as np

from voteaudit.forensics.honest import honest_model
from voteaudit.forensics.inputs import Counts
from voteaudit.result import TestResult

REF_DIP = ("Hartigan, J. A. & Hartigan, P. M. (1985) The Dip Test of Unimodality, Annals of Statistics "
           "13(1): 70-84; PyPI diptest (port of R diptest, Maechler); p-value by honest-noise bootstrap")
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


def bootstrap_replicates(n: int) -> int:
    """B for the honest-noise bootstrap: 199 for small inputs, down to 39 (p resolution 0.025) from
    ~30,000 tables (B * n ~ 1.2 million redrawn values)."""
    return int(np.clip(round(1_200_000 / max(n, 1)), 39, 199))


def dip_test(x: np.ndarray, *, target: str, alpha: float = 0.05, level: str = "national",
             k: np.ndarray | None = None, n: np.ndarray | None = None, groups: np.ndarray | None = None,
             seed: int = 0, replicates: int | None = None) -> TestResult:
    """Dip test of the values ``x``; with counts ``k`` out of ``n`` (x = k / n) the calibrated p-value."""
    x = np.asarray(x, dtype=float)
    size = int(x.size)
    res = TestResult("dip", target, level, float("nan"), None, False, n=size, alpha=alpha, reference=REF_DIP)
    if size < 10:
        res.interpretation = f"Not tested: only {size} usable tables."
        return res
    d, p_table = dip(x)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(size, MAX_TEST_N, replace=False)) if size > MAX_TEST_N else None
    res.details = {"D": d, "sqrt_n_D": d * np.sqrt(size), "p_uniform_table": p_table,
                   "p_value_table_saturated": size > TABLE_MAX_N}
    if k is not None and n is not None:
        k = np.asarray(k, dtype=np.int64)
        n = np.asarray(n, dtype=np.int64)
        if idx is not None:
            k, n, x = k[idx], n[idx], x[idx]
            groups = None if groups is None else np.asarray(groups)[idx]
        d_test = d if idx is None else dip_statistic(x)
        model = honest_model(k, n, groups, robust=True)
        B = bootstrap_replicates(int(k.size)) if replicates is None else int(replicates)
        null = np.array([dip_statistic(model.draw(rng) / n) for _ in range(B)])
        p = float((1 + np.count_nonzero(null >= d_test - 1e-12)) / (B + 1))
        res.details.update({
            "null": "honest counting noise (parametric bootstrap)", "replicates": B,
            "D_tested": d_test, "null_mean_D": float(null.mean()),
            "null_q95_D": float(np.quantile(null, 0.95)), "tau_logit": model.tau,
            "subsample": None if idx is None else MAX_TEST_N,
        })
    else:
        if idx is not None:
            p = dip(x[idx])[1]
            res.details["subsample"] = MAX_TEST_N
        else:
            p = p_table
        res.details["null"] = "uniform (Hartigan's table)"
    res.statistic, res.p_value, res.flagged = d, p, p < alpha
    res.effect_size = d
    res.interpretation = (
        f"{target}: the distribution across tables "
        + ("has more peaks than honest counting noise produces" if res.flagged
           else "is consistent with honest counting noise around each area's level")
        + f" (dip D = {d:.4f}, p = {p:.3g})."
        + (" Two peaks can mean two kinds of places - or a group of tables with manufactured results."
           if res.flagged else "")
    )
    res.caveats = (
        "Unimodality is not a law of honest elections: regions with very different politics give "
        "several peaks (the null keeps each area's level, so differences between areas are not "
        "flagged, but a whole area manufactured at one value is not either). Above 30,000 tables the "
        "p-value comes from a random subsample of 30,000; D is for all tables."
    )
    return res


def run_dip(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    b, reg, ok_t = c.turnout_counts()
    w, valid, ok_l = c.leader_counts("valid")
    ok_t = ok_t & (reg > 0)
    par = c.parent
    return [dip_test(b[ok_t] / reg[ok_t], target="turnout", alpha=alpha, level=level, k=b[ok_t],
                     n=reg[ok_t], groups=None if par is None else par[ok_t], seed=seed),
            dip_test(w[ok_l] / valid[ok_l], target=f"leader share ({c.leader_name})", alpha=alpha,
                     level=level, k=w[ok_l], n=valid[ok_l], groups=None if par is None else par[ok_l],
                     seed=seed + 1)]
