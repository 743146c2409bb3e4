"""Estimate the full result from partial coverage: stratified ratio estimator with honest intervals.

Setting. Tables i = 1..N fall in strata h (regions, ``SourceMatrix.path[0]``). A source covers n_h of
the N_h tables of stratum h. For each covered table we know the votes y_ik per candidate k and the
registered voters x_i (the auxiliary variable, known for the whole stratum as the total X_h).

Estimators of the candidate totals Y_k (Cochran, *Sampling Techniques*, 3rd ed., 1977, ch. 6):

* ``separate_ratio`` (X_h known for every stratum; Cochran §6.10):
  Ŷ_k = Σ_h X_h · (Σ_{i∈s_h} y_ik / Σ_{i∈s_h} x_i).
  Assumes that, *within a region*, the missing tables vote like the covered ones with the same
  number of registered voters (missing at random given region and size).
* ``stratified_expansion`` (only the number of tables N_h per stratum known): Ŷ_k = Σ_h N_h ȳ_hk.
* ``combined_ratio`` (fallback: only national totals known, e.g. Venezuela 2024 where only the
  national registry of 21,620,705 voters in 30,026 tables was published): one stratum,
  Ŷ_k = X · Σ_s y_k / Σ_s x. In the shares X cancels, so p̂_k = Σ_s y_k / Σ_s y: this **assumes the
  covered tables are, as a whole, like a simple random sample of all tables** (missing completely at
  random). If coverage is thinner where one candidate is stronger, this estimator is biased and no
  interval can show it: compare with the worst-case bounds (:mod:`voteaudit.stats.bounds`).

Strata without any covered table borrow the national ratio (noted; they add no variance).
Shares are of valid votes (the candidate columns): p̂_k = Ŷ_k / Σ_j Ŷ_j.

Uncertainty (tables missing at random within strata, treated as simple random sampling without
replacement, hence the finite-population correction 1 − f_h, f_h = n_h/N_h):

* analytic (Taylor linearisation; Cochran eqs. 6.9 and 6.38): with z_i = y_ik − p̂_k y_i (y_i = valid
  votes) and e_i = z_i − (Σ_s z / Σ_s x)_h x_i (ratio) or e_i = z_i − z̄_h (expansion),
  V(p̂_k) = Σ_h N_h² (1 − f_h) s²_{e,h} / n_h / Ŷ², Ŷ = Σ_j Ŷ_j; interval p̂ ± z_{1−α/2} √V.
  N_h, when not known, is estimated by X_h / x̄_h.
* bootstrap: stratified with-replacement bootstrap of covered tables, n_h draws per stratum, with
  the Rao–Wu rescaling λ_h = √(n_h (1 − f_h)/(n_h − 1)) of each replicate's stratum sums (Rao & Wu,
  JASA 83, 1988) so that it honours the finite-population correction; percentile interval.
  Vectorised: each chunk of replicates draws one index array, turns it into resampling counts
  (``np.bincount``) and takes stratum sums as matrix products. For very large sources (more than
  ``max_boot_units`` tables) tables are first
  pooled into random groups within strata (Wolter, *Introduction to Variance Estimation*, 2nd ed.,
  2007, ch. 2: random groups) and groups are resampled, with G_h in place of n_h in λ_h: pooling
  keeps the first two moments of the stratum sums, so the interval is unchanged up to Monte Carlo
  error while the cost no longer grows with the number of tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as _st

from voteaudit.stats.message import msg
from voteaudit.stats.universe import Universe

COCHRAN = "Cochran, Sampling Techniques, 3rd ed. (1977), ch. 6 (ratio estimators, eqs. 6.9, 6.38)"
RAO_WU = "Rao & Wu (1988), Resampling inference with complex survey data, JASA 83:231-241"


@dataclass
class CandidateEstimate:
    """One candidate's estimated share of valid votes with its interval."""

    candidate: str
    share: float
    ci_low: float
    ci_high: float
    method: str
    se: float
    votes: float | None = None
    analytic: tuple[float, float] = (math.nan, math.nan)
    bootstrap: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "share": self.share,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
            "se": self.se,
            "votes": self.votes,
            "analytic": {"ci_low": self.analytic[0], "ci_high": self.analytic[1]},
        }
        if self.bootstrap is not None:
            d["bootstrap"] = {"ci_low": self.bootstrap[0], "ci_high": self.bootstrap[1]}
        return d


@dataclass
class EstimateResult:
    """Estimated full result; ``to_dict()`` gives the ``estimates`` JSON contract."""

    candidates: list[str]
    estimates: list[CandidateEstimate]
    estimator: str
    confidence: float
    n_units: int
    n_excluded: int
    n_strata: int
    tables_total: int | None
    assumption: str
    notes: list[str] = field(default_factory=list)
    n_boot: int = 0
    source_kind: str | None = None  # who produced the covered tables (model.Kind), for the statement

    @property
    def complete(self) -> bool | None:
        """True when every table is covered, None when the election's size is unknown."""
        if not self.tables_total:
            return None
        return self.n_units >= self.tables_total

    def __getitem__(self, candidate: str) -> CandidateEstimate:
        return self.estimates[self.candidates.index(candidate)]

    @property
    def statement(self) -> str:
        order = sorted(range(len(self.estimates)), key=lambda i: -self.estimates[i].share)
        parts = [
            f"{self.estimates[i].candidate} {100 * self.estimates[i].share:.1f} % "
            f"({100 * self.estimates[i].ci_low:.1f}–{100 * self.estimates[i].ci_high:.1f} %)"
            for i in order[:2]
        ]
        label = SOURCE_LABELS.get(self.source_kind or "", "the collected tables")
        if self.complete is None:
            counted = [f"{e.candidate} {100 * e.share:.1f} %" for e in (self.estimates[i] for i in order[:2])]
            return (
                f"Complete count: no projection. The election's size is unknown (no announced registry, no "
                f"official table list), so nothing is projected: {label} of {self.n_units:,} tables give "
                f"{' and '.join(counted)}."
            )
        if self.complete:
            counted = [f"{e.candidate} {100 * e.share:.1f} %" for e in (self.estimates[i] for i in order[:2])]
            return (
                f"Complete count: no projection. {label[0].upper() + label[1:]} cover all {self.tables_total:,} "
                f"tables and give {' and '.join(counted)}."
            )
        return (
            f"Projected from {self.n_units:,} of {self.tables_total:,} tables ({label}), the estimated result is "
            f"{' and '.join(parts)} ({round(100 * self.confidence)} % intervals), assuming {self.assumption}."
        )

    @property
    def message(self) -> dict[str, Any]:
        """:attr:`statement` as a catalogue key and its parameters (``report/locales``), for other languages."""
        order = sorted(range(len(self.estimates)), key=lambda i: -self.estimates[i].share)
        top = [self.estimates[i] for i in order[:2]]
        label = msg(f"kind_label_{self.source_kind}" if self.source_kind in SOURCE_LABELS else "kind_label_none")
        counted = [msg("st_cand_share", candidate=e.candidate, share=e.share) for e in top]
        if self.complete is None:
            return msg("st_est_unknown_size", label=label, units=self.n_units, counted=counted)
        if self.complete:
            return msg("st_est_complete", label=label, total=self.tables_total, counted=counted)
        estimator = next((k for k, v in ASSUMPTIONS.items() if v == self.assumption), None)
        return msg("st_est_projected", units=self.n_units, total=self.tables_total, label=label,
                   parts=[msg("st_cand_ci", candidate=e.candidate, share=e.share, low=e.ci_low, high=e.ci_high)
                          for e in top], confidence=self.confidence,
                   assumption=msg(f"assume_{estimator}") if estimator else self.assumption)

    def to_dict(self) -> dict[str, Any]:
        from voteaudit.result import _clean

        return _clean(
            {
                "estimates": {e.candidate: e.to_dict() for e in self.estimates},
                "estimator": self.estimator,
                "confidence": self.confidence,
                "n_units": self.n_units,
                "n_excluded": self.n_excluded,
                "n_strata": self.n_strata,
                "n_boot": self.n_boot,
                "assumption": self.assumption,
                "notes": self.notes,
                "statement": self.statement,
                "message": self.message,
                "complete_count": self.complete,
                "source_kind": self.source_kind,
                "reference": f"{COCHRAN}; {RAO_WU}",
            }
        )


#: How a statement names the covered tables, by source kind (model.Kind).
SOURCE_LABELS = {
    "official": "the official results",
    "independent": "the independently collected tally sheets",
    "observer": "the observers' reports",
    "audit": "the audited tables",
}

ASSUMPTIONS = {
    "separate_ratio": "the missing tables vote like collected ones of the same region, in proportion "
    "to their registered voters",
    "stratified_expansion": "the missing tables vote like collected ones of the same region",
    "combined_ratio": "the collected tables are, as a whole, like a random sample of all tables "
    "(no per-region totals are known to correct for uneven coverage)",
}


@dataclass
class _Design:
    """Per-stratum quantities fixed across bootstrap replicates."""

    kind: str
    n_h: np.ndarray  # (H,) covered units
    X_h: np.ndarray  # (H,) registered totals (nan if unknown)
    N_h: np.ndarray  # (H,) tables (nan if unknown)


def _totals_from_sums(sy: np.ndarray, sx: np.ndarray, d: _Design) -> np.ndarray:
    """Estimated candidate totals (…, k) from stratum sums sy (…, H, k) and sx (…, H)."""
    present = d.n_h > 0
    if d.kind == "combined_ratio":
        return sy.sum(axis=-2)
    if d.kind == "separate_ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(present, d.X_h / sx, 0.0)  # (…, H)
        t = (w[..., None] * sy).sum(axis=-2)
        if not present.all():  # uncovered strata: national ratio
            nat = sy.sum(axis=-2) / sx.sum(axis=-1)[..., None]
            t = t + d.X_h[~present].sum() * nat
        return t
    # stratified_expansion
    w = np.where(present, d.N_h / np.maximum(d.n_h, 1), 0.0)
    t = (w[:, None] * sy).sum(axis=-2)
    if not present.all():
        nat = sy.sum(axis=-2) / d.n_h.sum()
        t = t + d.N_h[~present].sum() * nat
    return t


def _shares(t: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return t / t.sum(axis=-1, keepdims=True)


def estimate_shares(
    votes: np.ndarray,
    registered: np.ndarray | None = None,
    strata: np.ndarray | None = None,
    *,
    candidates: Sequence[str] | None = None,
    universe: Universe | None = None,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    max_boot_units: int = 20_000,
    estimator: str = "auto",
) -> EstimateResult:
    """Estimate each candidate's share of valid votes over all tables, from the covered ones.

    ``votes``: (n, k) counts of the covered tables; ``registered``: (n,) registered voters (-1 =
    missing; such tables are left out of ratio estimation and counted in ``n_excluded``);
    ``strata``: (n,) region ids (default: one stratum). ``universe``: totals over all tables.
    ``estimator``: "auto" picks ``separate_ratio`` if the universe has registered voters for every
    region, else ``stratified_expansion`` if it has tables per region, else ``combined_ratio``.
    ``n_boot`` = 0 skips the bootstrap (the analytic interval is then the reported one).
    """
    y = np.asarray(votes, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError("votes must be a 2-D (units x candidates) array")
    n, k = y.shape
    cands = list(candidates) if candidates is not None else [f"c{j}" for j in range(k)]
    if len(cands) != k:
        raise ValueError("candidates must match the columns of votes")
    x = np.full(n, np.nan) if registered is None else np.asarray(registered, dtype=np.float64)
    regions = np.full(n, "all") if strata is None else np.asarray(strata).astype(str)
    uni = universe or Universe()
    notes: list[str] = []

    def covers(mapping: Any) -> bool:
        return bool(mapping) and set(np.unique(regions)) <= set(map(str, mapping))

    if estimator == "auto":
        if covers(uni.region_registered) and registered is not None:
            estimator = "separate_ratio"
        elif covers(uni.region_tables):
            estimator = "stratified_expansion"
        else:
            estimator = "combined_ratio"
    if estimator not in ASSUMPTIONS:
        raise ValueError(f"unknown estimator {estimator!r}")

    keep = np.ones(n, bool)
    if estimator == "separate_ratio":
        keep = x >= 0
        if registered is None:
            raise ValueError("separate_ratio needs registered voters per table")
    n_excluded = int((~keep).sum())
    if n_excluded:
        notes.append(f"{n_excluded} covered tables without registered voters left out of the estimate")
    y, x, regions = y[keep], x[keep], regions[keep]

    # strata
    if estimator == "combined_ratio":
        keys = np.array(["all"])
        codes = np.zeros(y.shape[0], dtype=np.int64)
        tables_total = uni.total_tables
        N_h = np.array([np.nan if tables_total is None else float(tables_total)])
        X_tot = uni.total_registered
        X_h = np.array([np.nan if X_tot is None else float(X_tot)])
        if uni.region_registered or uni.region_tables:
            notes.append("per-region universe totals do not cover every region of the source: not used")
    else:
        mapping = uni.region_registered if estimator == "separate_ratio" else uni.region_tables
        if not covers(mapping):
            raise ValueError(f"{estimator} needs universe totals for every region of the source")
        assert mapping is not None
        keys = np.array(sorted(map(str, mapping)))
        codes = np.searchsorted(keys, regions)
        X_h = np.array(
            [float(uni.region_registered[kk]) if uni.region_registered and kk in uni.region_registered
             else np.nan for kk in keys]
        )
        N_h = np.array(
            [float(uni.region_tables[kk]) if uni.region_tables and kk in uni.region_tables else np.nan
             for kk in keys]
        )
        tables_total = uni.total_tables
    H = keys.size
    n_h = np.bincount(codes, minlength=H).astype(np.int64)
    if (n_h == 0).any():
        notes.append(
            f"{int((n_h == 0).sum())} region(s) without any covered table use the national ratio "
            "(their uncertainty is not reflected in the interval)"
        )
    design = _Design(estimator, n_h, X_h, N_h)

    sy = np.stack([np.bincount(codes, weights=y[:, j], minlength=H) for j in range(k)], axis=1)
    xs = np.where(np.isnan(x), 0.0, x)
    sx = np.bincount(codes, weights=xs, minlength=H)
    t = _totals_from_sums(sy, sx, design)
    p = _shares(t)
    T = t.sum()

    # finite-population correction and N_h used in the variance
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimator == "combined_ratio":
            if np.isfinite(N_h[0]):
                f_h = n_h / N_h
            elif np.isfinite(X_h[0]) and sx[0] > 0:
                f_h = np.array([sx[0] / X_h[0]])
                notes.append("sampling fraction taken as covered / total registered voters")
            else:
                f_h = np.zeros(1)
                notes.append("universe unknown: no finite-population correction (wider intervals)")
            Nv = n_h.astype(float)  # scale cancels for shares; use expansion with N = n/f
            Nv = np.where(f_h > 0, n_h / f_h, n_h.astype(float))
        else:
            Nv = np.where(np.isfinite(N_h), N_h, X_h / (sx / np.maximum(n_h, 1)))
            f_h = np.where(Nv > 0, n_h / Nv, 0.0)
    f_h = np.clip(np.nan_to_num(f_h), 0.0, 1.0)
    if estimator == "combined_ratio":
        T_lin = Nv[0] * sy.sum() / max(n_h[0], 1)  # expansion total of valid votes
    else:
        T_lin = T

    # analytic (linearisation) variance
    yv = y.sum(axis=1)
    z = y - p[None, :] * yv[:, None]  # (n, k)
    if estimator == "separate_ratio":
        zs = np.stack([np.bincount(codes, weights=z[:, j], minlength=H) for j in range(k)], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(sx[:, None] > 0, zs / sx[:, None], 0.0)
        e = z - b[codes] * xs[:, None]
    else:
        zs = np.stack([np.bincount(codes, weights=z[:, j], minlength=H) for j in range(k)], axis=1)
        e = z - (zs / np.maximum(n_h, 1)[:, None])[codes]
    ss = np.stack([np.bincount(codes, weights=e[:, j] ** 2, minlength=H) for j in range(k)], axis=1)
    df = n_h - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.where(df[:, None] > 0, ss / np.maximum(df, 1)[:, None], np.nan)
    if (n_h == 1).any():
        pooled = ss[df > 0].sum(axis=0) / max(df[df > 0].sum(), 1)
        s2[n_h == 1] = pooled
        notes.append(f"{int((n_h == 1).sum())} region(s) with a single covered table use a pooled variance")
    s2 = np.nan_to_num(s2)
    with np.errstate(divide="ignore", invalid="ignore"):
        vh = np.where(n_h[:, None] > 0, (Nv**2 * (1 - f_h) / np.maximum(n_h, 1))[:, None] * s2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):  # no votes at all (T_lin = 0): no interval
        var = np.nan_to_num(vh).sum(axis=0) / T_lin**2
    se = np.sqrt(var)
    zq = float(_st.norm.ppf(0.5 + confidence / 2))
    a_low, a_high = p - zq * se, p + zq * se

    # bootstrap
    boot = None
    if n_boot > 0 and y.shape[0] > 1:
        reps = _bootstrap(y, xs, codes, H, design, f_h, n_boot, seed, max_boot_units, notes)
        alpha = 1 - confidence
        boot = np.nanquantile(reps, [alpha / 2, 1 - alpha / 2], axis=0)

    # estimated vote totals
    if estimator == "combined_ratio":
        if np.isfinite(X_h[0]) and sx[0] > 0:
            votes_hat = X_h[0] * sy.sum(axis=0) / sx[0]
        elif np.isfinite(N_h[0]):
            votes_hat = N_h[0] * sy.sum(axis=0) / max(n_h[0], 1)
        else:
            votes_hat = np.full(k, np.nan)
    else:
        votes_hat = t
    method_base = estimator
    out = []
    for j in range(k):
        if boot is not None:
            lo, hi, m = float(boot[0, j]), float(boot[1, j]), f"{method_base}/bootstrap"
        else:
            lo, hi, m = float(a_low[j]), float(a_high[j]), f"{method_base}/analytic"
        out.append(
            CandidateEstimate(
                candidate=cands[j],
                share=float(p[j]),
                ci_low=max(lo, 0.0),
                ci_high=min(hi, 1.0),
                method=m,
                se=float(se[j]),
                votes=None if not np.isfinite(votes_hat[j]) else float(votes_hat[j]),
                analytic=(float(max(a_low[j], 0.0)), float(min(a_high[j], 1.0))),
                bootstrap=None if boot is None else (float(boot[0, j]), float(boot[1, j])),
            )
        )
    return EstimateResult(
        candidates=cands,
        estimates=out,
        estimator=estimator,
        confidence=confidence,
        n_units=int(y.shape[0]),
        n_excluded=n_excluded,
        n_strata=int(H),
        tables_total=tables_total,
        assumption=ASSUMPTIONS[estimator],
        notes=notes,
        n_boot=int(n_boot if boot is not None else 0),
    )


def _bootstrap(
    y: np.ndarray,
    x: np.ndarray,
    codes: np.ndarray,
    H: int,
    design: _Design,
    f_h: np.ndarray,
    n_boot: int,
    seed: int,
    max_units: int,
    notes: list[str],
) -> np.ndarray:
    """(n_boot, k) replicate shares of the rescaled stratified bootstrap."""
    rng = np.random.default_rng(seed)
    n, k = y.shape
    data = np.column_stack([y, x])  # (n, k+1)
    order = np.argsort(codes, kind="stable")
    codes_s = codes[order]
    data = data[order]
    n_h = np.bincount(codes_s, minlength=H)
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    if n > max_units:  # pool into random groups within strata
        perm = np.lexsort((rng.random(n), codes_s))
        data = data[perm]
        g_h = np.where(n_h > 0, np.minimum(n_h, np.maximum(2, np.rint(n_h * max_units / n))), 0)
        g_h = g_h.astype(np.int64)
        g_start = np.concatenate([[0], np.cumsum(g_h)[:-1]])
        pos = np.arange(n) - start[codes_s]
        gid = g_start[codes_s] + pos * g_h[codes_s] // np.maximum(n_h[codes_s], 1)
        G = int(g_h.sum())
        data = np.stack([np.bincount(gid, weights=data[:, j], minlength=G) for j in range(k + 1)], axis=1)
        notes.append(f"bootstrap on {G:,} random groups of tables within regions (Wolter 2007, ch. 2)")
        m_h, m_start = g_h, g_start
    else:
        m_h, m_start = n_h, start
    M = int(m_h.sum())
    pos_stratum = np.repeat(np.arange(H), m_h)
    base = m_start[pos_stratum]
    size = m_h[pos_stratum].astype(np.float64)
    full = np.stack([np.bincount(pos_stratum, weights=data[:, j], minlength=H) for j in range(k + 1)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(m_h > 1, np.sqrt(m_h * (1 - f_h) / np.maximum(m_h - 1, 1)), 0.0)
    slices = [(h, int(m_start[h]), int(m_start[h] + m_h[h])) for h in range(H) if m_h[h] > 0]
    chunk = max(1, min(n_boot, int(2e6 // max(M, 1))))
    reps = np.empty((n_boot, k))
    for b0 in range(0, n_boot, chunk):
        bc = min(chunk, n_boot - b0)
        # resampling counts of every unit in every replicate (multinomial within strata)
        idx = base + (rng.random((bc, M)) * size).astype(np.int64)
        idx += (np.arange(bc, dtype=np.int64) * M)[:, None]
        counts = np.bincount(idx.ravel(), minlength=bc * M).reshape(bc, M).astype(np.float64)
        s = np.zeros((bc, H, k + 1))
        for h, a, z in slices:
            s[:, h, :] = counts[:, a:z] @ data[a:z]
        s = full[None] + lam[None, :, None] * (s - full[None])
        t = _totals_from_sums(s[..., :k], s[..., k], design)
        reps[b0 : b0 + bc] = _shares(t)
    return reps


def estimate_matrix(matrix: Any, universe: Universe | None = None, **kwargs: Any) -> EstimateResult:
    """:func:`estimate_shares` on a :class:`voteaudit.model.SourceMatrix` (strata = ``path[0]``)."""
    strata = matrix.path[0] if matrix.path else None
    res = estimate_shares(
        matrix.votes, matrix.registered, strata, candidates=matrix.candidates, universe=universe, **kwargs
    )
    res.source_kind = str(getattr(matrix, "kind", "") or "") or None
    return res
