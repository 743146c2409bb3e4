"""Turnout x vote-share regressions (Myagkov, Ordeshook & Shakin 2009; Sobyanin).

Myagkov, M., Ordeshook, P. C. & Shakin, D. (2009) The Forensics of Election Fraud: Russia and Ukraine,
Cambridge University Press, ch. 2. For each candidate j, least squares over units

    votes_ij / registered_i = c_j + b_j * turnout_i + e_ij.

Without fraud every slope lies in [0, 1] (a candidate gains between none and all of the extra voters);
a slope above 1 (typically the winner's) or below 0 (typically opponents') means extra turnout came with
votes taken from others - the pattern of ballot stuffing or vote transfers. The test is one-sided
against the nearer bound: z = (b - 1) / se for b > 1, z = -b / se for b < 0, p = P(t_{G-1} > z) with
G clusters (normal without clusters); for 0 <= b <= 1, p = 1. Standard errors are cluster-robust by
area (turnout and shares co-vary by region: the outermost level with at least 5 areas), else
heteroskedasticity-robust (HC0). Pearson r between turnout and each
candidate's share of valid votes is reported too (the Election Forensics Toolkit flags |r| > 0.4).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from voteaudit.forensics.inputs import Counts
from voteaudit.result import TestResult

REF_MYAGKOV = ("Myagkov, M., Ordeshook, P. C. & Shakin, D. (2009) The Forensics of Election Fraud: "
               "Russia and Ukraine, Cambridge University Press")


def slope_tests(turnout: np.ndarray, votes_per_registered: np.ndarray, shares: np.ndarray,
                clusters: np.ndarray | None = None) -> list[dict]:
    """Per column j: slope b_j, robust se, z and one-sided p against [0, 1], Pearson r(turnout, share)."""
    t = np.asarray(turnout, float)
    y = np.asarray(votes_per_registered, float)
    tc = t - t.mean()
    sxx = float((tc**2).sum())
    out = []
    for j in range(y.shape[1]):
        yc = y[:, j] - y[:, j].mean()
        b = float((tc * yc).sum() / sxx) if sxx > 0 else float("nan")
        resid = yc - b * tc
        score = tc * resid
        if clusters is not None:
            g = np.bincount(clusters, weights=score)
            var = float((g**2).sum()) / sxx**2
        else:
            var = float((score**2).sum()) / sxx**2
        se = float(np.sqrt(var)) if var > 0 else float("nan")
        if b > 1:
            z = (b - 1) / se
        elif b < 0:
            z = -b / se
        else:
            z = float("-inf")
        if not np.isfinite(z):
            p = 1.0
        elif clusters is not None:
            p = float(stats.t.sf(z, max(int(clusters.max()), 1)))
        else:
            p = float(stats.norm.sf(z))
        s = shares[:, j]
        r = float(np.corrcoef(t, s)[0, 1]) if t.size > 2 and s.std() > 0 and t.std() > 0 else float("nan")
        out.append({"slope": b, "se": se, "z": z, "p_value": p, "r": r})
    return out


def run_turnout_share(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    clusters = c.cluster
    b, reg, ok = c.turnout_counts()
    ok = ok & c.votes_ok() & (reg > 0) & (c.valid > 0)
    res_list: list[TestResult] = []
    n = int(ok.sum())
    if n < 30:
        return [TestResult("turnout_share_correlation", name, level, float("nan"), None, False, n=n,
                           alpha=alpha, reference=REF_MYAGKOV,
                           interpretation=f"Not tested: only {n} usable tables.")
                for name in c.candidates]
    t = b[ok] / reg[ok]
    y = c.votes[ok] / reg[ok][:, None]
    sh = c.votes[ok] / c.valid[ok][:, None]
    fits = slope_tests(t, y, sh, None if clusters is None else clusters[ok])
    for j, (name, f) in enumerate(zip(c.candidates, fits, strict=True)):
        res = TestResult("turnout_share_correlation", name, level, f["slope"], f["p_value"],
                         f["p_value"] < alpha, n=n, alpha=alpha, reference=REF_MYAGKOV)
        res.effect_size = f["slope"] - 1 if f["slope"] > 1 else (f["slope"] if f["slope"] < 0 else 0.0)
        res.details = {"slope_se": f["se"], "z": f["z"], "pearson_r_turnout_share": f["r"],
                       "efk_correlation_flag": bool(abs(f["r"]) > 0.4), "leader": j == c.leader,
                       "clustered_by": None if clusters is None else f"{int(clusters.max()) + 1} areas"}
        if res.flagged:
            how = ("more than one extra vote per extra voter" if f["slope"] > 1
                   else "fewer votes where turnout is higher")
            res.interpretation = (
                f"{name}: votes per registered voter rise with turnout at slope {f['slope']:.2f} "
                f"({how}; p = {f['p_value']:.3g}). Honest turnout differences give slopes between 0 and 1; "
                "this pattern fits ballot stuffing or votes moved between candidates."
            )
        else:
            res.interpretation = (
                f"{name}: slope of votes per registered voter on turnout is {f['slope']:.2f}, within the "
                f"0-1 range an honest election produces (turnout/share correlation r = {f['r']:.2f})."
            )
        res.caveats = (
            "Ecological regression: different kinds of areas (urban/rural, ethnic regions) can produce "
            "slopes outside [0, 1] without fraud, and stuffing spread evenly can leave slopes inside it."
        )
        res_list.append(res)
    return res_list
