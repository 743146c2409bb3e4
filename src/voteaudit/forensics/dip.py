"""Hartigan's dip test of unimodality for turnout and leader share.

Hartigan, J. A. & Hartigan, P. M. (1985) The Dip Test of Unimodality, Annals of Statistics 13(1):
70-84. D = sup_x |F_n(x) - G(x)| minimised over unimodal G (D in [1/(2n), 1/4]); p-value from the
tabulated null (uniform) distribution via PyPI ``diptest`` (matches R ``diptest``; its table stops at
n = 72,000, beyond which the p-value uses the largest tabulated n and D is what to read).
A second mode in turnout or in the winner's share (e.g. a cluster near 100 %) is what the Election
Forensics Toolkit's DipT indicator flags.
"""

from __future__ import annotations

import warnings

import numpy as np

from voteaudit.forensics.inputs import Counts
from voteaudit.result import TestResult

REF_DIP = ("Hartigan, J. A. & Hartigan, P. M. (1985) The Dip Test of Unimodality, Annals of Statistics "
           "13(1): 70-84; PyPI diptest (port of R diptest, Maechler)")
TABLE_MAX_N = 72_000


def dip(x: np.ndarray) -> tuple[float, float]:
    """(D, p-value) as R's ``dip.test`` (D = 1/(2n) for a perfectly even sample)."""
    import diptest

    x = np.sort(np.asarray(x, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d, p = diptest.diptest(x, sort_x=False, allow_zero=False)
    return float(d), float(p)


def dip_test(x: np.ndarray, *, target: str, alpha: float = 0.05, level: str = "national") -> TestResult:
    x = np.asarray(x, dtype=float)
    n = int(x.size)
    res = TestResult("dip", target, level, float("nan"), None, False, n=n, alpha=alpha, reference=REF_DIP)
    if n < 10:
        res.interpretation = f"Not tested: only {n} usable tables."
        return res
    d, p = dip(x)
    res.statistic, res.p_value, res.flagged = d, p, p < alpha
    res.effect_size = d
    res.details = {"D": d, "sqrt_n_D": d * np.sqrt(n), "p_value_table_saturated": n > TABLE_MAX_N}
    res.interpretation = (
        f"{target}: the distribution across tables "
        + ("has more than one peak" if res.flagged else "is consistent with a single peak")
        + f" (dip D = {d:.4f}, p = {p:.3g})."
        + (" Two peaks can mean two kinds of places - or a group of tables with manufactured results."
           if res.flagged else "")
    )
    res.caveats = (
        "Unimodality is not a law of honest elections: regions with very different politics give "
        "several peaks. With more than 72,000 tables the p-value table saturates; read D."
    )
    return res


def run_dip(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    b, reg, ok_t = c.turnout_counts()
    w, valid, ok_l = c.leader_counts("valid")
    ok_t &= reg > 0
    return [dip_test(b[ok_t] / reg[ok_t], target="turnout", alpha=alpha, level=level),
            dip_test(w[ok_l] / valid[ok_l], target=f"leader share ({c.leader_name})", alpha=alpha,
                     level=level)]
