"""Monte-Carlo p-values with as many replicates as the decision needs (Besag & Clifford 1991).

Besag, J. & Clifford, P. (1991) Sequential Monte Carlo p-values, Biometrika 78(2): 301-304. Draw null
statistics in batches; stop as soon as ``h`` of them reach the observed value (p = h / L after L
draws: the p-value is clearly not small, and further draws would not change the decision), else go on
up to ``max_replicates`` and report (1 + g) / (R + 1) with g exceedances in R draws. Both are valid
p-values, and the smallest attainable one is 1 / (max_replicates + 1), so ``max_replicates`` is chosen
so that it lies far below the threshold of a many-area adjustment (METHODS.md: e.g. alpha / m).
Replicates are spent only where the observed value is extreme, so a clean election costs about h
draws per test.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Exceedances after which the sequential procedure stops.
H_EXCEED = 10


def sequential_p(observed: float, draw: Callable[[int], np.ndarray], *, start: int, max_replicates: int,
                 h: int = H_EXCEED, tol: float = 1e-12) -> dict:
    """Draw ``draw(k)`` (k null statistics) in growing batches; the Besag-Clifford p-value and counts.

    Returns ``{"p_value", "replicates", "null_at_least", "stopped_early", "null_mean", "null_sd"}``."""
    at_least, total, batch = 0, 0, max(int(start), 1)
    s1 = s2 = 0.0
    stopped = False
    while total < max_replicates:
        k = min(batch, max_replicates - total)
        vals = np.asarray(draw(k), dtype=float)
        hits = np.cumsum(vals >= observed - tol)
        if at_least + int(hits[-1]) >= h:
            used = int(np.searchsorted(hits, h - at_least)) + 1
            vals = vals[:used]
            total += used
            at_least = h
            s1 += float(vals.sum())
            s2 += float((vals**2).sum())
            stopped = True
            break
        at_least += int(hits[-1])
        total += k
        s1 += float(vals.sum())
        s2 += float((vals**2).sum())
        batch *= 4
    p = at_least / total if stopped else (1 + at_least) / (total + 1)
    mean = s1 / max(total, 1)
    sd = float(np.sqrt(max(s2 / max(total, 1) - mean**2, 0.0) * total / max(total - 1, 1)))
    return {"p_value": float(p), "replicates": int(total), "null_at_least": int(at_least),
            "stopped_early": stopped, "null_mean": mean, "null_sd": sd}
