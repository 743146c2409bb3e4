"""Honest counting noise: a fraud-free model of one count per table, shared by the calibrated nulls.

Used by the second-digit test (:mod:`voteaudit.forensics.digits`) and the dip test
(:mod:`voteaudit.forensics.dip`) to answer "is this pattern unusual for an honest count of tables like
these?" rather than "does it match an idealised law?" (Benford's law, a uniform distribution).

Model, for counts x_i out of n_i (a candidate's votes out of valid votes, ballots out of registered):

* group mean p_g = sum x / sum n over the table's group (its parent area, e.g. the district);
* table-level spread on the logit scale, logit p_i = logit p_g + tau Z (Z ~ N(0, 1)); tau by the
  method of moments, tau^2 = sum_i [(x_i/n_i - p_g)^2 - w_i / n_i] / sum_i w_i^2 with w_i = p_g (1 - p_g)
  (the spread beyond binomial noise, delta method), or robustly from the median absolute deviation
  (``robust=True``: 1.4826 MAD of (x/n - p_g)/w, minus the median binomial variance 1/(n w));
* counting noise x*_i ~ Binomial(n_i, p_i).

Each redraw is independent of the table's observed count (a prior-predictive draw), so under the model
the redrawn counts have the same distribution as honest observed ones: no Benford or uniform assumption,
and the real tables' sizes (the n_i) and the areas' political geography (the p_g) are kept. Large
inputs use a normal draw with the same mean and variance, round(n p_g + sqrt(n w + (n w tau)^2) Z)
clipped to [0, n].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Above this many draws per call the redraw uses the normal approximation instead of exact binomials.
EXACT_DRAWS_MAX = 1_000_000


@dataclass
class HonestModel:
    n: np.ndarray        # int64 denominators
    p_group: np.ndarray  # float64 group mean share per unit
    tau: float           # logit-scale table spread beyond binomial noise

    def draw(self, rng: np.random.Generator, *, exact: bool | None = None) -> np.ndarray:
        """One redraw of every unit's count (int64)."""
        size = self.n.size
        if exact is None:
            exact = size <= EXACT_DRAWS_MAX
        if exact:
            lg = np.log(self.p_group) - np.log1p(-self.p_group)
            p = 1.0 / (1.0 + np.exp(-(lg + self.tau * rng.standard_normal(size))))
            return rng.binomial(self.n, p)
        return self.draw_normal(rng).astype(np.int64)

    def draw_normal(self, rng: np.random.Generator, out: np.ndarray | None = None) -> np.ndarray:
        """Normal-approximation redraw as float32 integers (in ``out`` if given)."""
        if not hasattr(self, "_mu"):
            w = self.p_group * (1 - self.p_group)
            self._mu = (self.n * self.p_group).astype(np.float32)
            self._sd = np.sqrt(self.n * w + (self.n * w * self.tau) ** 2).astype(np.float32)
            self._hi = self.n.astype(np.float32)
        buf = np.empty(self.n.size, dtype=np.float32) if out is None else out
        rng.standard_normal(self.n.size, dtype=np.float32, out=buf)
        buf *= self._sd
        buf += self._mu
        np.rint(buf, out=buf)
        np.clip(buf, 0, self._hi, out=buf)
        return buf


def honest_model(x: np.ndarray, n: np.ndarray, groups: np.ndarray | None, *, robust: bool = False
                 ) -> HonestModel:
    """Fit the model to counts ``x`` out of ``n`` (all n > 0, 0 <= x <= n) grouped by ``groups``."""
    xf = np.asarray(x, dtype=float)
    nn = np.asarray(n, dtype=np.int64)
    nf = nn.astype(float)
    if groups is None:
        g = np.zeros(xf.size, dtype=np.int64)
    else:
        g = np.asarray(groups)
        if not (np.issubdtype(g.dtype, np.integer) and (g.size == 0 or g.min() >= 0)):
            g = np.unique(g, return_inverse=True)[1].ravel()
    pg = (np.bincount(g, weights=xf) / np.maximum(np.bincount(g, weights=nf), 1.0))[g]
    pg = np.clip(pg, 1e-6, 1 - 1e-6)
    w = pg * (1 - pg)
    if robust:
        z = (xf / nf - pg) / w
        s = 1.4826 * float(np.median(np.abs(z - np.median(z)))) if z.size else 0.0
        tau2 = s**2 - float(np.median(1.0 / (nf * w))) if z.size else 0.0
    else:
        den = float((w**2).sum())
        tau2 = float(((xf / nf - pg) ** 2 - w / nf).sum()) / den if den > 0 else 0.0
    return HonestModel(n=nn, p_group=pg, tau=float(np.sqrt(max(tau2, 0.0))))
