"""The Election Forensics Toolkit's per-area indicator table (Hicken & Mebane; Kalinin & Mebane's R package).

Reference implementation: R package ``EFToolkit`` (github.com/kkalininMI/EFToolkit, version 2.0.0, commit
ca7b585), ``R/BasicElectionForensics.R`` (definitions) and ``R/ColorSignificance.R`` (flag rule); intervals
as R ``boot`` 1.3-31 ``boot.ci(type="basic")``. Per area of aggregation (and nationally), for turnout and
for each candidate, with ``vot`` the count and ``pct`` the percentage of the row:

* turnout row: ``vot`` = ballots, ``pct`` = ballots / registered; candidate row: ``vot`` = the candidate's
  votes, ``pct`` = votes / ballots. Ballots = ballots cast where reported, else valid + null + blank
  (:meth:`~voteaudit.model.SourceMatrix.ballots`).
* **2BL** = mean second digit of ``vot`` over counts >= 10 (Benford reference 4.187);
* **LastC** = mean last digit of ``vot`` over ALL counts, zeros included (reference 4.5);
* **C05s** = share of ALL counts whose last digit is 0 or 5 (reference 0.2);
* **P05s** = share of units with a defined ``pct`` whose ``round(100 pct)`` (half to even, as R) ends in
  0 or 5 (reference 0.2);
* **Skew** = m3 / m2^1.5, **Kurt** = m4 / m2^2 (population central moments, R ``moments``; references 0
  and 3) of ``pct``; for P05s, Skew and Kurt ``pct`` is capped at 1, as the package does;
* **DipT** = p-value of Hartigan's dip test (R ``diptest::dip.test``; PyPI ``diptest``, same table and
  the same sqrt(n) D extrapolation beyond n = 72,000) of the uncapped ``pct``;
* **Sobyanin** (candidates) = slope of the least-squares line share ~ turnout minus the mean share (the
  line over units with both defined, the mean over units with a share; uncapped);
* **Correlation** (candidates) = Pearson r(share, turnout) over units with both defined;
* **Obs** = units (rows) in the area.

Intervals: nonparametric bootstrap over the area's units (R replicates, 1,000 by default), 95 % "basic"
interval [2 t0 - t*(0.975), 2 t0 - t*(0.025)] with the quantiles interpolated on the normal scale between
order statistics (Davison & Hinkley 1997, eq. 5.8; boot's ``norm.inter``); non-finite replicates are
dropped and a bootstrap distribution that is constant gives no interval (as ``boot.ci``). The package
bootstraps the six digit and moment indicators; here Sobyanin and Correlation get intervals too (for
reading; their flags follow the package's fixed thresholds); DipT has none (a p-value).

Flag rule (``ColorSignificance.R``, on the table's 3-decimal figures): a bootstrapped indicator is
flagged when its interval excludes the reference (upper <= ref or lower >= ref; an interval printed as
(0, 0) never flags); DipT when p < 0.05; Sobyanin when |value| > 1.645 (qnorm(0.95)); Correlation when
|r| > 0.4.

Departures from the R code, all at its edges: registered <= 0 or ballots <= 0 leave ``pct`` undefined
(R divides by zero and caps Inf at 1); negative (missing) counts are left out; digits are those of the
integer (R's ``as.character`` writes 100000 as "1e+05"); DipT needs 4 units; a near-constant regressor
(lm's QR tolerance 1e-7) leaves Sobyanin and Correlation undefined. One bootstrap draw of units per area
serves every row of that area (R draws per row); each area's draws come from its own stream, seeded by
(seed, level, area id), so an area's figures do not depend on which other areas are computed.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from voteaudit.model import SourceMatrix, VoteauditError

#: Indicator names in the package's table order (Obs is a row field).
INDICATORS: tuple[str, ...] = ("2BL", "LastC", "P05s", "C05s", "Skew", "Kurt", "DipT", "Sobyanin", "Correlation")
#: Indicators flagged by their bootstrap interval, and the value the interval is compared with.
REFERENCE: dict[str, float] = {"2BL": 4.187, "LastC": 4.5, "P05s": 0.2, "C05s": 0.2, "Skew": 0.0, "Kurt": 3.0}
#: DipT flags below this p (the package writes ``1 - pnorm(qnorm(0.95))``, 0.05 up to rounding).
DIP_ALPHA = float(1.0 - ndtr(ndtri(0.95)))
#: Sobyanin flags when |value| exceeds qnorm(0.95).
SOBYANIN_LIMIT = float(ndtri(0.95))
#: Correlation flags when |r| exceeds this.
CORRELATION_LIMIT = 0.4
#: Units needed for the dip test (PyPI diptest is "not valid for n <= 3").
DIP_MIN_N = 4
REF_EFTOOLKIT = ("Kalinin & Mebane, R package EFToolkit 2.0.0 (github.com/kkalininMI/EFToolkit), "
                 "BasicElectionForensics.R and ColorSignificance.R; Hicken & Mebane, A Guide to Election "
                 "Forensics (USAID/University of Michigan 2015)")
TURNOUT = "turnout"
NATIONAL = "national"

_POW10 = 10 ** np.arange(19, dtype=np.int64)
_REL_TOL = 1e-14  # a variance below this share of the second raw moment counts as zero (lm: QR tol 1e-7)


# ---------------------------------------------------------------------------------------------------------
# results

@dataclass(frozen=True)
class Indicator:
    """One cell of the table: the value, its bootstrap interval (None where there is none) and the flag."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    flagged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high, "flagged": self.flagged}


@dataclass(frozen=True)
class IndicatorRow:
    """One row: an area (id None = national) and a target (``"turnout"`` or a candidate)."""

    area_id: str | None
    area_name: str
    level: str
    target: str
    obs: int
    indicators: dict[str, Indicator]

    @property
    def flagged(self) -> list[str]:
        """Names of the flagged indicators."""
        return [k for k, v in self.indicators.items() if v.flagged]

    def to_dict(self) -> dict[str, Any]:
        return {"area": {"id": self.area_id, "name": self.area_name}, "level": self.level, "target": self.target,
                "obs": self.obs, "indicators": {k: v.to_dict() for k, v in self.indicators.items()}}


@dataclass(frozen=True)
class IndicatorTable:
    """The whole table plus what a reader needs: replicates, seed, confidence and the stated assumptions."""

    rows: list[IndicatorRow]
    level: str
    replicates: int
    seed: int
    conf: float = 0.95
    notes: list[str] = field(default_factory=list)
    reference: str = REF_EFTOOLKIT

    def to_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.rows]


# ---------------------------------------------------------------------------------------------------------
# digits, interval, flag rule

def digit_counts(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(last digit, second digit, has a second digit) of non-negative integer counts (digits of -1 are 0)."""
    v = np.asarray(v, dtype=np.int64)
    ok = v >= 0
    last = np.where(ok, v % 10, 0)
    ndig = np.searchsorted(_POW10, np.where(ok, v, 0), side="right")  # digits of v (0 for v = 0)
    two = ok & (ndig >= 2)
    second = np.where(two, (np.where(ok, v, 0) // _POW10[np.maximum(ndig - 2, 0)]) % 10, 0)
    return last, second, two


def basic_interval(t0: np.ndarray | float, t: np.ndarray, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """R ``boot.ci(type="basic")`` for each column of the replicates ``t`` (shape (R,) or (R, m)).

    lower = 2 t0 - q(1+conf)/2, upper = 2 t0 - q(1-conf)/2, where q(a) is the (R+1)a-th order statistic of
    the finite replicates, interpolated on the normal quantile scale when (R+1)a is not an integer (boot's
    ``norm.inter``; the extreme order statistic where (R+1)a < 1 or >= R). NaN where t0 is not finite,
    where no replicate is, or where the finite replicates are all equal (boot.ci: "Cannot calculate"; boot
    tests |t - mean| < min(1e-8, mean / 1e6), which lets an all-zero column through as "(0, 0)": here
    identical replicates never give an interval, and |mean| sets the tolerance).
    """
    t = np.asarray(t, dtype=float)
    one = t.ndim == 1
    t = t[:, None] if one else t
    t0 = np.broadcast_to(np.asarray(t0, dtype=float), (t.shape[1],))
    fin = np.isfinite(t)
    n = fin.sum(axis=0)
    srt = np.sort(np.where(fin, t, np.inf), axis=0)  # finite first, ascending
    cols = np.arange(t.shape[1])
    mean = np.where(n > 0, np.where(fin, t, 0).sum(axis=0) / np.maximum(n, 1), np.nan)
    lo_f = srt[0] if t.shape[0] else np.full(t.shape[1], np.nan)
    hi_f = srt[np.maximum(n - 1, 0), cols] if t.shape[0] else np.full(t.shape[1], np.nan)
    eps = np.minimum(1e-8, np.abs(mean) / 1e6)
    constant = (n == 0) | (hi_f == lo_f) | (np.maximum(np.abs(hi_f - mean), np.abs(lo_f - mean)) < eps)
    alphas = (1.0 + np.array([conf, -conf])) / 2.0
    q = np.empty((2, t.shape[1]))
    for i, a in enumerate(alphas):
        rk = (n + 1) * a
        k = np.trunc(rk).astype(np.int64)
        kk = np.clip(k, 1, np.maximum(n, 1))  # 1-based order statistic
        tk = srt[kk - 1, cols]
        tk1 = srt[np.minimum(kk, np.maximum(n - 1, 0)), cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = ndtri(a)
            z0 = ndtri(k / (n + 1))
            z1 = ndtri((k + 1) / (n + 1))
            interp = tk + (z - z0) / (z1 - z0) * (tk1 - tk)
        q[i] = np.where(k <= 0, srt[0], np.where(k >= n, hi_f, np.where(k == rk, tk, interp)))
    bad = constant | ~np.isfinite(t0)
    low = np.where(bad, np.nan, 2 * t0 - q[0])
    high = np.where(bad, np.nan, 2 * t0 - q[1])
    return (low[0], high[0]) if one else (low, high)


def _r3(x: float) -> float:
    return float(np.round(x, 3))


def flag(name: str, value: float | None, ci_low: float | None = None, ci_high: float | None = None) -> bool:
    """EFToolkit's flag (``ColorSignificance.R``), applied to the 3-decimal figures the package prints."""
    if name in REFERENCE:
        if ci_low is None or ci_high is None:
            return False
        lo, hi = _r3(ci_low), _r3(ci_high)
        if lo == 0 and hi == 0:
            return False
        ref = REFERENCE[name]
        return hi <= ref or lo >= ref
    if value is None:
        return False
    if name == "DipT":
        return _r3(value) < DIP_ALPHA
    if name == "Sobyanin":
        return abs(_r3(value)) > SOBYANIN_LIMIT
    if name == "Correlation":
        return abs(_r3(value)) > CORRELATION_LIMIT
    raise ValueError(f"unknown indicator {name!r}")


def dip_p(x: np.ndarray) -> float:
    """Hartigan's dip test p-value as R ``diptest::dip.test`` (table interpolation; NaN below 4 values)."""
    import diptest

    x = np.sort(np.asarray(x, dtype=float))
    if x.size < DIP_MIN_N:
        return float("nan")
    with warnings.catch_warnings():  # beyond n = 72,000 the table's last row is used, as R does
        warnings.simplefilter("ignore")
        return float(diptest.diptest(x, sort_x=False, allow_zero=False)[1])


# ---------------------------------------------------------------------------------------------------------
# per-target features: every bootstrapped indicator is a function of weighted sums over units

class _Target:
    """A row's per-unit feature columns (sums over a resample give every bootstrapped indicator)."""

    def __init__(self, vot: np.ndarray, pct: np.ndarray, turnout: np.ndarray | None) -> None:
        vot = np.asarray(vot, dtype=np.int64)
        has = vot >= 0
        last, second, two = digit_counts(vot)
        pdef = np.isfinite(pct)
        capped = np.where(pdef, np.minimum(pct, 1.0), 0.0)
        r100 = np.rint(capped * 100.0)  # R round(): half to even
        p05 = pdef & np.isin(r100 % 10, (0.0, 5.0))
        self.center = float(capped[pdef].mean()) if pdef.any() else 0.0
        y = np.where(pdef, capped - self.center, 0.0)
        cols = [has, last, has & np.isin(last, (0, 5)), two, second, pdef, p05, y, y * y, y ** 3, y ** 4]
        self.regress = turnout is not None
        if turnout is not None:
            both = pdef & np.isfinite(turnout)
            self.ct = float(turnout[both].mean()) if both.any() else 0.0
            self.cs = float(pct[both].mean()) if both.any() else 0.0
            tc = np.where(both, turnout - self.ct, 0.0)
            sc = np.where(both, pct - self.cs, 0.0)
            cols += [np.where(pdef, pct, 0.0), both, tc, sc, tc * tc, sc * sc, tc * sc]
        self.features = np.column_stack([np.asarray(c, dtype=float) for c in cols])
        self.dip_values = pct[pdef]

    @property
    def width(self) -> int:
        return self.features.shape[1]

    def stats(self, s: np.ndarray) -> dict[str, np.ndarray]:
        """Indicators from the sums ``s`` (rows: resamples; columns: this target's features)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            out = {"2BL": s[:, 4] / s[:, 3], "LastC": s[:, 1] / s[:, 0], "P05s": s[:, 6] / s[:, 5],
                   "C05s": s[:, 2] / s[:, 0]}
            n = s[:, 5]
            mu, e2, e3, e4 = s[:, 7] / n, s[:, 8] / n, s[:, 9] / n, s[:, 10] / n
            m2 = e2 - mu * mu
            m3 = e3 - 3 * mu * e2 + 2 * mu ** 3
            m4 = e4 - 4 * mu * e3 + 6 * mu * mu * e2 - 3 * mu ** 4
            flat = ~(m2 > _REL_TOL * (m2 + (mu + self.center) ** 2))
            out["Skew"] = np.where(flat, np.nan, m3 / np.abs(m2) ** 1.5)
            out["Kurt"] = np.where(flat, np.nan, m4 / (m2 * m2))
            if self.regress:
                nb = s[:, 12]
                mt, ms = s[:, 13] / nb, s[:, 14] / nb
                vt, vs = s[:, 15] / nb - mt * mt, s[:, 16] / nb - ms * ms
                cts = s[:, 17] / nb - mt * ms
                flat_t = ~(vt > _REL_TOL * (vt + (mt + self.ct) ** 2))
                flat_s = ~(vs > _REL_TOL * (vs + (ms + self.cs) ** 2))
                out["Sobyanin"] = np.where(flat_t, np.nan, cts / vt - s[:, 11] / n)
                out["Correlation"] = np.where(flat_t | flat_s, np.nan, cts / np.sqrt(vt * vs))
        return out


def _stream(seed: int, level: str, area: str | None) -> np.random.Generator:
    digest = hashlib.blake2b(f"eftoolkit\0{level}\0{'' if area is None else area}".encode(), digest_size=16).digest()
    return np.random.default_rng(np.random.SeedSequence([int(seed) & (2**63 - 1),
                                                         int.from_bytes(digest, "little")]))


def _bootstrap_sums(features: np.ndarray, replicates: int, rng: np.random.Generator, block: int) -> np.ndarray:
    """Sums of the feature columns over ``replicates`` resamples of the rows (with replacement).

    Each block of b resamples draws b x n row indices, counts them into a (b, n) weight matrix and
    multiplies it by the (n, p) features: one BLAS product per block, b x n <= ``block``. BLAS runs on
    one thread: these products are small, and a threaded BLAS on a busy machine is ~15x slower (measured).
    """
    from threadpoolctl import threadpool_limits

    n = features.shape[0]
    out = np.empty((replicates, features.shape[1]))
    b = max(1, min(replicates, block // max(n, 1)))
    with threadpool_limits(1, user_api="blas"):
        for start in range(0, replicates, b):
            m = min(b, replicates - start)
            idx = rng.integers(0, n, size=(m, n), dtype=np.int64)
            idx += (np.arange(m, dtype=np.int64) * n)[:, None]
            w = np.bincount(idx.ravel(), minlength=m * n).reshape(m, n).astype(float)
            out[start:start + m] = w @ features
    return out


def _clean(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def area_rows(targets: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]], *, area_id: str | None,
              area_name: str, level: str, replicates: int = 1000, seed: int = 0, conf: float = 0.95,
              block: int = 2_000_000) -> list[IndicatorRow]:
    """The rows of one area: ``targets`` = (name, vot, pct, turnout or None for the turnout row)."""
    built = [(name, _Target(vot, pct, turnout)) for name, vot, pct, turnout in targets]
    if not built:
        return []
    n = built[0][1].features.shape[0]
    feats = np.hstack([t.features for _, t in built])
    point = feats.sum(axis=0)[None, :]
    boot = _bootstrap_sums(feats, replicates, _stream(seed, level, area_id), block) if replicates > 0 and n else None
    stats0, statsb, keys = [], [], []
    col = 0
    for name, tgt in built:
        sl = slice(col, col + tgt.width)
        col += tgt.width
        t0 = tgt.stats(point[:, sl])
        tb = tgt.stats(boot[:, sl]) if boot is not None else {}
        for ind, v in t0.items():
            keys.append((name, ind))
            stats0.append(v[0])
            if boot is not None:
                statsb.append(tb[ind])
    if statsb:  # one vectorised interval computation for every cell of the area
        low, high = basic_interval(np.array(stats0), np.column_stack(statsb), conf)
    else:
        low = high = np.full(len(stats0), np.nan)
    cell = {k: (stats0[i], low[i], high[i]) for i, k in enumerate(keys)}
    rows = []
    for name, tgt in built:
        cells: dict[str, Indicator] = {}
        for ind in INDICATORS:
            if ind == "DipT":
                v = _clean(dip_p(tgt.dip_values))
                cells[ind] = Indicator(v, None, None, flag(ind, v))
            elif (name, ind) in cell:
                v0, lo0, hi0 = cell[(name, ind)]
                v, lo, hi = _clean(v0), _clean(lo0), _clean(hi0)
                if v is None:
                    lo = hi = None
                cells[ind] = Indicator(v, lo, hi, flag(ind, v, lo, hi))
            else:
                cells[ind] = Indicator(None)
        rows.append(IndicatorRow(area_id, area_name, level, name, int(n), cells))
    return rows


# ---------------------------------------------------------------------------------------------------------
# the table for a source

def _targets(m: SourceMatrix, cand_idx: list[int], rows: np.ndarray | slice,
             with_turnout: bool) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    ballots = m.ballots()[rows]
    reg = m.registered[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        turnout = np.where((reg > 0) & (ballots >= 0), ballots / np.where(reg > 0, reg, 1), np.nan)
    out: list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]] = []
    if with_turnout:
        out.append((TURNOUT, ballots, turnout, None))
    for j in cand_idx:
        v = m.votes[rows, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where((ballots > 0) & (v >= 0), v / np.where(ballots > 0, ballots, 1), np.nan)
        out.append((m.candidates[j], v, share, turnout))
    return out


def indicator_table(matrix: SourceMatrix, *, level: str | None = None, names: Mapping[str, str] | None = None,
                    candidates: Sequence[str] | None = None, replicates: int = 1000, seed: int = 0,
                    conf: float = 0.95, national_name: str = "National", block: int = 2_000_000) -> IndicatorTable:
    """EFToolkit indicators nationally and, with ``level`` (a name in ``matrix.levels`` above the unit),
    per area of that level; ``names`` maps area ids to display names, ``candidates`` selects rows."""
    if replicates < 0:
        raise VoteauditError(f"replicates must be >= 0, not {replicates}")
    if not 0 < conf < 1:
        raise VoteauditError(f"conf must lie in (0, 1), not {conf}")
    if candidates is None:
        cand_idx = list(range(len(matrix.candidates)))
    else:
        unknown = [c for c in candidates if c not in matrix.candidates]
        if unknown:
            raise VoteauditError(f"unknown candidate(s) {', '.join(map(repr, unknown))}; "
                                 f"candidates: {', '.join(matrix.candidates)}")
        cand_idx = [matrix.candidates.index(c) for c in candidates]
    notes = ["Ballots = ballots cast where reported, else valid + null + blank; turnout = ballots / registered; "
             "a candidate's share = votes / ballots."]
    with_turnout = bool((matrix.registered > 0).any())
    if not with_turnout:
        notes.append("No registered voters reported: no turnout row (as EFToolkit without TotalReg).")
    elif (matrix.registered <= 0).any():
        notes.append(f"{int((matrix.registered <= 0).sum()):,} units without registered voters: left out of the "
                     "turnout percentages, Sobyanin and Correlation (their ballots still count in 2BL, LastC, C05s).")
    over = (matrix.registered > 0) & (matrix.ballots() > matrix.registered)
    if over.any():
        notes.append(f"{int(over.sum()):,} units with turnout above 100 %: capped at 1 for P05s, Skew and Kurt, "
                     "not for DipT, Sobyanin and Correlation (as EFToolkit).")
    names = names or {}
    kw = {"replicates": replicates, "seed": seed, "conf": conf, "block": block}
    rows = area_rows(_targets(matrix, cand_idx, slice(None), with_turnout), area_id=None, area_name=national_name,
                     level=NATIONAL, **kw)
    lvl = NATIONAL
    if level is not None and level != NATIONAL:
        if level not in matrix.levels[:-1]:
            raise VoteauditError(f"unknown level {level!r}; levels above the unit: "
                                 f"{', '.join(matrix.levels[:-1]) or 'none'}")
        lvl = level
        ids = np.asarray(matrix.path[matrix.levels.index(level)]).astype(str)
        areas, inverse = np.unique(ids, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(areas.size + 1))
        for a, area in enumerate(areas.tolist()):
            sel = order[bounds[a]:bounds[a + 1]]
            rows += area_rows(_targets(matrix, cand_idx, sel, with_turnout), area_id=area,
                              area_name=names.get(area, area), level=level, **kw)
    return IndicatorTable(rows, lvl, replicates, seed, conf, notes)
