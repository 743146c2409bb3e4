"""Multiple-comparison adjustment: Holm (1979) step-down, controls the family-wise error rate.

Holm, S. (1979) A Simple Sequentially Rejective Multiple Test Procedure, Scand. J. Statistics 6: 65-70.
Sorted p_(1) <= ... <= p_(m): adjusted p_(i) = max_{k <= i} min(1, (m - k + 1) p_(k)).
"""

from __future__ import annotations

import numpy as np


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (None entries are left out of the family and stay None)."""
    idx = [i for i, p in enumerate(p_values) if p is not None and np.isfinite(p)]
    out: list[float | None] = [None] * len(p_values)
    if not idx:
        return out
    p = np.array([p_values[i] for i in idx], dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    for rank, j in enumerate(order):
        out[idx[j]] = float(adj[rank])
    return out
