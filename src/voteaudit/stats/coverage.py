"""Coverage and representativeness of a source: which tables it holds, and how they differ.

Two situations:

* The full table list is known (``covered`` mask over every table, e.g. the authority's registry
  joined to a party's collected sheets): coverage per region is exact and covered and uncovered
  tables can be compared table by table (registered voters: means, standardised difference,
  two-sample Kolmogorov–Smirnov test; region: index of dissimilarity ½ Σ_h |c_h − u_h| between the
  regional distributions of covered and uncovered tables and Pearson's χ² test of independence).
* Only the covered tables are known plus totals (``Universe``: national and/or per-region tables and
  registered voters): coverage is computed where a total exists, and uncovered tables are described
  in aggregate (their mean registered voters per table is (R − r_c)/(N − n_c)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as _st

from voteaudit.stats.message import msg
from voteaudit.stats.universe import Universe


@dataclass
class RegionCoverage:
    region: str
    tables_covered: int
    tables_total: int | None
    registered_covered: int
    registered_total: int | None

    @property
    def tables_share(self) -> float | None:
        return self.tables_covered / self.tables_total if self.tables_total else None

    @property
    def registered_share(self) -> float | None:
        return self.registered_covered / self.registered_total if self.registered_total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "tables_covered": self.tables_covered,
            "tables_total": self.tables_total,
            "tables_share": self.tables_share,
            "registered_covered": self.registered_covered,
            "registered_total": self.registered_total,
            "registered_share": self.registered_share,
        }


@dataclass
class CoverageResult:
    """Coverage nationally and per region, and how covered and uncovered tables differ."""

    national: RegionCoverage
    regions: list[RegionCoverage]
    comparison: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def uncovered_registered(self) -> int | None:
        n = self.national
        return None if n.registered_total is None else n.registered_total - n.registered_covered

    @property
    def statement(self) -> str:
        n = self.national
        parts = [f"The collected sheets cover {n.tables_covered:,}"]
        if n.tables_total:
            parts[0] += f" of {n.tables_total:,} tables ({100 * n.tables_share:.1f} %)"
        else:
            parts[0] += " tables"
        if n.registered_total:
            parts.append(
                f"{n.registered_covered:,} of {n.registered_total:,} registered voters "
                f"({100 * n.registered_share:.1f} %)"
            )
        s = " and ".join(parts)
        c = self.comparison
        if c.get("mean_registered_uncovered") is not None:
            s += (
                f"; an uncovered table has on average {c['mean_registered_uncovered']:,.0f} registered "
                f"voters against {c['mean_registered_covered']:,.0f} in covered ones"
            )
        low = [r for r in self.regions if r.tables_share is not None]
        if low:
            worst = min(low, key=lambda r: r.tables_share)
            s += f"; coverage is lowest in {worst.region} ({100 * worst.tables_share:.1f} % of tables)"
        return s + "."

    @property
    def message(self) -> dict[str, Any]:
        """:attr:`statement` as a catalogue key and its parameters (``report/locales``)."""
        n, c = self.national, self.comparison
        tables = (msg("st_cov_tables_of", covered=n.tables_covered, total=n.tables_total, share=n.tables_share)
                  if n.tables_total else msg("st_cov_tables", covered=n.tables_covered))
        registered = (msg("st_cov_registered", covered=n.registered_covered, total=n.registered_total,
                          share=n.registered_share) if n.registered_total else "")
        comparison = (msg("st_cov_comparison", uncovered=round(c["mean_registered_uncovered"]),
                          covered=round(c["mean_registered_covered"]))
                      if c.get("mean_registered_uncovered") is not None else "")
        low = [r for r in self.regions if r.tables_share is not None]
        worst = min(low, key=lambda r: r.tables_share) if low else None
        lowest = msg("st_cov_lowest", region=worst.region, share=worst.tables_share) if worst else ""
        return msg("st_cov", tables=tables, registered=registered, comparison=comparison, lowest=lowest)

    def to_dict(self) -> dict[str, Any]:
        from voteaudit.result import _clean

        return _clean(
            {
                "coverage": self.national.to_dict(),
                "regions": [r.to_dict() for r in self.regions],
                "comparison": self.comparison,
                "notes": self.notes,
                "statement": self.statement,
                "message": self.message,
            }
        )


def coverage(
    regions: np.ndarray,
    registered: np.ndarray,
    *,
    covered: np.ndarray | None = None,
    universe: Universe | None = None,
) -> CoverageResult:
    """Coverage of a source by region (tables and registered voters).

    With ``covered`` (bool mask), ``regions``/``registered`` describe *every* table and the
    universe is derived from them (a given ``universe`` then only supplies what the frame lacks).
    Without it, they describe the covered tables only and ``universe`` supplies the totals.
    Registered voters < 0 (missing) count as 0 and are noted.
    """
    regions = np.asarray(regions).astype(str)
    reg = np.asarray(registered, dtype=np.int64)
    notes: list[str] = []
    if (reg < 0).any():
        notes.append(f"{int((reg < 0).sum())} tables without registered voters counted as 0")
    regc = np.clip(reg, 0, None)
    comparison: dict[str, Any] = {}
    if covered is not None:
        mask = np.asarray(covered, dtype=bool)
        frame = Universe.from_frame(regions, regc)
        comparison = _compare_frame(regions, regc, mask)
        regions, regc = regions[mask], regc[mask]
        uni = frame
    else:
        uni = universe or Universe()
    keys, inv = np.unique(regions, return_inverse=True)
    t_cov = np.bincount(inv, minlength=keys.size)
    r_cov = np.bincount(inv, weights=regc, minlength=keys.size)
    all_keys = sorted(set(map(str, keys)) | set(uni.region_tables or {}) | set(uni.region_registered or {}))
    pos = {str(k): i for i, k in enumerate(keys)}
    out = []
    for k in all_keys:
        i = pos.get(k)
        out.append(
            RegionCoverage(
                region=k,
                tables_covered=0 if i is None else int(t_cov[i]),
                tables_total=None if not uni.region_tables else uni.region_tables.get(k),
                registered_covered=0 if i is None else int(round(r_cov[i])),
                registered_total=None if not uni.region_registered else uni.region_registered.get(k),
            )
        )
    national = RegionCoverage(
        "national", int(regions.size), uni.total_tables, int(regc.sum()), uni.total_registered
    )
    if covered is None and national.tables_total and national.registered_total:
        n_unc = national.tables_total - national.tables_covered
        comparison = {
            "mean_registered_covered": national.registered_covered / max(national.tables_covered, 1),
            "mean_registered_uncovered": (national.registered_total - national.registered_covered) / n_unc
            if n_unc > 0
            else None,
            "basis": "aggregate (universe totals minus covered tables)",
        }
    for r in out:
        for what, cov, tot in (("tables", r.tables_covered, r.tables_total),
                               ("registered", r.registered_covered, r.registered_total)):
            if tot is not None and cov > tot:
                notes.append(f"{r.region}: covered {what} ({cov:,}) exceed the stated total ({tot:,})")
    return CoverageResult(national, out, comparison, notes)


def _compare_frame(regions: np.ndarray, reg: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """Covered vs uncovered tables when every table is known."""
    a, b = reg[mask].astype(float), reg[~mask].astype(float)
    out: dict[str, Any] = {"basis": "table list", "tables_uncovered": int(b.size)}
    if a.size and b.size:
        pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if a.size > 1 and b.size > 1 else np.nan
        ks = _st.ks_2samp(a, b)
        out.update(
            mean_registered_covered=float(a.mean()),
            mean_registered_uncovered=float(b.mean()),
            median_registered_covered=float(np.median(a)),
            median_registered_uncovered=float(np.median(b)),
            std_diff_registered=float((a.mean() - b.mean()) / pooled) if pooled > 0 else None,
            ks_statistic=float(ks.statistic),
            ks_p_value=float(ks.pvalue),
        )
        keys, inv = np.unique(regions, return_inverse=True)
        ca = np.bincount(inv[mask], minlength=keys.size)
        cb = np.bincount(inv[~mask], minlength=keys.size)
        out["region_dissimilarity"] = float(0.5 * np.abs(ca / ca.sum() - cb / cb.sum()).sum())
        table = np.vstack([ca, cb])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] > 1:
            chi = _st.chi2_contingency(table, correction=False)
            out.update(region_chi2=float(chi.statistic), region_chi2_p_value=float(chi.pvalue))
    return out
