"""Multiple-comparison adjustment across areas: Holm (FWER) and Benjamini-Hochberg (FDR).

Holm, S. (1979) A Simple Sequentially Rejective Multiple Test Procedure, Scand. J. Statistics 6: 65-70.
Sorted p_(1) <= ... <= p_(m): adjusted p_(i) = max_{k <= i} min(1, (m - k + 1) p_(k)).

Benjamini, Y. & Hochberg, Y. (1995) Controlling the False Discovery Rate, J. R. Statist. Soc. B 57:
289-300. Adjusted p_(i) = min_{k >= i} min(1, m p_(k) / k) (R ``p.adjust(method = "BH")``); rejecting
adjusted p < alpha keeps the expected share of false discoveries at most alpha (independent or
positively dependent tests). The usual choice for dozens of regions (METHODS.md).
"""

from __future__ import annotations

import numpy as np

METHODS = ("holm", "bh")
#: With at least this many areas the default correction is Benjamini-Hochberg, else Holm.
BH_FROM_AREAS = 20


def _finite(p_values: list[float | None]) -> tuple[list[int], np.ndarray]:
    idx = [i for i, p in enumerate(p_values) if p is not None and np.isfinite(p)]
    return idx, np.array([p_values[i] for i in idx], dtype=float)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (None entries are left out of the family and stay None)."""
    idx, p = _finite(p_values)
    out: list[float | None] = [None] * len(p_values)
    if not idx:
        return out
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    for rank, j in enumerate(order):
        out[idx[j]] = float(adj[rank])
    return out


def bh(p_values: list[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (None entries left out and kept None)."""
    idx, p = _finite(p_values)
    out: list[float | None] = [None] * len(p_values)
    if not idx:
        return out
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    for rank, j in enumerate(order):
        out[idx[j]] = float(adj[rank])
    return out


def adjust(p_values: list[float | None], method: str) -> list[float | None]:
    """Adjust by ``method`` ("holm" or "bh")."""
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return bh(p_values)
    raise ValueError(f"unknown correction {method!r}; choose from {', '.join(METHODS)}")


def default_method(areas: int) -> str:
    """BH for :data:`BH_FROM_AREAS` areas or more, else Holm."""
    return "bh" if areas >= BH_FROM_AREAS else "holm"
