"""The result object every statistical test returns (in the manner of scipy.stats results).

One shape for forensics tests and tests of announced totals, so reports, the CLI and the API
treat them alike. ``to_dict`` gives the JSON contract of DESIGN.md (``test``, ``target``, ``level``,
``statistic``, ``p_value``, ``flagged``, ``units_flagged``) plus what a reader needs to interpret it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _clean(value: Any) -> Any:
    """Make numpy scalars, NaN and nested containers JSON-safe."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class TestResult:
    """Outcome of one test on one target (a candidate, turnout, a bulletin...) at one level.

    ``statistic`` and ``p_value`` follow the test's own definition (see ``reference``);
    ``flagged`` is ``p_value < alpha`` unless the test documents another rule;
    ``units_flagged`` lists the ids of units the test singles out (may be empty);
    ``effect_size`` is a magnitude a reader can weigh (e.g. excess share), not a p-value; ``effect``
    says what it measures, in which unit, with its 95 % interval and the materiality threshold.

    One test, one statistic, one p-value: ``p_value`` is computed from ``statistic`` by the method named
    in ``p_value_method`` (see :func:`recompute_p`, which recomputes it from the result alone).
    ``flagged`` needs both significance (``p_adjusted`` where a multiple-comparison adjustment was
    made, else ``p_value``, below ``alpha``) and a material effect (``effect["material"]``).
    ``tested`` is False when the data cannot support the test (too few units, a null with no
    variance): then ``p_value`` is None and the result is never flagged.
    """

    __test__ = False  # not a pytest test class

    test: str
    target: str
    level: str
    statistic: float
    p_value: float | None
    flagged: bool
    units_flagged: list[str] = field(default_factory=list)
    effect_size: float | None = None
    n: int = 0
    alpha: float = 0.05
    interpretation: str = ""
    caveats: str = ""
    reference: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    p_value_method: str = ""
    effect: dict[str, Any] | None = None
    significant: bool = False
    tested: bool = True
    p_adjusted: float | None = None
    adjustment: str | None = None
    area: dict[str, str] | None = None
    units_flagged_total: int | None = None  # how many units the test singles out (the list may be capped)
    #: ``interpretation`` as a catalogue key and parameters (``stats/message.py``), for the report's other languages
    message: dict[str, Any] | None = None
    #: Rewrites ``interpretation`` from the result (re-run by :meth:`conclude`, so the text follows the flag).
    describe: Callable[[TestResult], str] | None = field(default=None, repr=False, compare=False)

    def set_effect(self, measure: str, value: float, ci: tuple[float, float] | None, unit: str, *,
                   threshold: float, sided: str = "upper", count: float | None = None) -> None:
        """Record the effect size (``value`` in ``unit``, 95 % interval ``ci`` or None = unavailable) and
        whether it is material: ``value >= threshold`` (``sided="upper"``), ``<= -threshold``
        ("lower") or ``|value| >= threshold`` ("both")."""
        v = float(value)
        material = (v >= threshold if sided == "upper" else v <= -threshold if sided == "lower"
                    else abs(v) >= threshold) if math.isfinite(v) else False
        self.effect_size = v
        self.effect = {"measure": measure, "value": v, "unit": unit,
                       "ci95": None if ci is None else [float(ci[0]), float(ci[1])],
                       "threshold": float(threshold), "sided": sided, "material": bool(material)}
        if count is not None:
            self.effect["count"] = float(count)

    def conclude(self, threshold: float | None = None) -> None:
        """Set ``significant`` and ``flagged`` (significant AND material); a new ``threshold`` re-decides
        materiality."""
        if self.effect is not None and threshold is not None:
            e = self.effect
            self.set_effect(e["measure"], e["value"], e["ci95"], e["unit"], threshold=threshold,
                            sided=e["sided"], count=e.get("count"))
        if self.p_value_method == "none" and self.tested:  # descriptive: flagged by its effect alone
            self.significant = False
            self.flagged = bool(self.effect is not None and self.effect["material"])
            if self.describe is not None:
                self.interpretation = self.describe(self)
            return
        p = self.p_adjusted if self.p_adjusted is not None else self.p_value
        self.significant = bool(self.tested and p is not None and p < self.alpha)
        self.flagged = bool(self.significant and self.effect is not None and self.effect["material"])
        if self.describe is not None:
            self.interpretation = self.describe(self)

    def not_tested(self, why: str) -> TestResult:
        """Mark the result as not tested (no p-value, never flagged), saying why."""
        self.tested, self.p_value, self.significant, self.flagged = False, None, False, False
        self.p_value_method = self.p_value_method or "none"
        self.interpretation = f"Not tested: {why}"
        return self

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "test": self.test,
                "target": self.target,
                "level": self.level,
                "statistic": float(self.statistic),
                "p_value": None if self.p_value is None else float(self.p_value),
                "flagged": bool(self.flagged),
                "units_flagged": [str(u) for u in self.units_flagged],
                "units_flagged_count": int(len(self.units_flagged) if self.units_flagged_total is None
                                           else self.units_flagged_total),
                **({"area": self.area} if self.area is not None else {}),
                "p_value_method": self.p_value_method,
                "p_adjusted": self.p_adjusted,
                "adjustment": self.adjustment,
                "significant": bool(self.significant),
                "tested": bool(self.tested),
                "effect": self.effect,
                "effect_size": self.effect_size,
                "n": int(self.n),
                "alpha": self.alpha,
                "interpretation": self.interpretation,
                **({"message": self.message} if self.message is not None else {}),
                "caveats": self.caveats,
                "reference": self.reference,
                "details": self.details,
            }
        )


def recompute_p(r: TestResult) -> float | None:
    """Recompute ``r.p_value`` from ``r.statistic`` and ``r.details`` by ``r.p_value_method``.

    A check that a result never pairs its statistic with another test's p-value. Methods:
    ``chi2`` (upper tail of chi^2(details["df"])), ``normal_upper``/``normal_lower`` (z =
    (statistic - details["null_mean"]) / details["null_sd"]), ``poisson_upper`` (P(X >= statistic |
    details["expected"])), ``binomial_upper`` (P(X >= statistic | details["trials"], details["p0"])),
    ``binomial_two_sided`` (sign test of details["up"] of details["trials"]), ``mc_upper`` (Monte-Carlo
    rank (1 + details["null_at_least"]) / (details["replicates"] + 1), or Besag & Clifford's h / L when
    stopped early), ``mc_upper_randomised`` (ties broken by details["u"]), ``dip_table`` (Hartigan's
    table via diptest, n = r.n), ``one_sided_bound`` (Myagkov's slope outside [0, 1]), ``none``.
    """
    from scipy import stats

    m, d, s = r.p_value_method, r.details, r.statistic
    if m in ("", "none") or r.p_value is None:
        return None
    if m == "chi2":
        return float(stats.chi2.sf(s, d["df"]))
    if m in ("normal_upper", "normal_lower"):
        z = (s - d["null_mean"]) / d["null_sd"]
        return float(stats.norm.sf(z) if m == "normal_upper" else stats.norm.cdf(z))
    if m == "poisson_upper":
        return float(stats.poisson.sf(s - 1, d["expected"])) if s > 0 else 1.0
    if m == "binomial_upper":
        return float(stats.binom.sf(s - 1, d["trials"], d["p0"])) if s > 0 else 1.0
    if m == "binomial_two_sided":
        return float(stats.binomtest(d["up"], d["trials"], 0.5).pvalue) if d["trials"] else 1.0
    if m == "mc_upper":
        if d.get("stopped_early"):
            return float(d["null_at_least"] / d["replicates"])
        return float((1 + d["null_at_least"]) / (d["replicates"] + 1))
    if m == "mc_upper_randomised":
        if d.get("null_at_least") is None:
            return 1.0
        return float((d["null_above"] + d["u"] * (d["null_at_least"] - d["null_above"] + 1))
                     / (d["replicates"] + 1))
    if m == "dip_table":
        from voteaudit.forensics.dip import table_p_value

        return table_p_value(s, r.n)
    if m == "one_sided_bound":
        z = d["z_outside_0_1"]
        if not math.isfinite(z):
            return 1.0
        return float(stats.t.sf(z, d["df"]) if d.get("df") else stats.norm.sf(z))
    raise ValueError(f"unknown p_value_method {m!r}")
