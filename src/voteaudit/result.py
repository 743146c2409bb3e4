"""The result object every statistical test returns (in the manner of scipy.stats results).

One shape for forensics tests and tests of announced totals, so reports, the CLI and the API
treat them alike. ``to_dict`` gives the JSON contract of DESIGN.md (``test``, ``target``, ``level``,
``statistic``, ``p_value``, ``flagged``, ``units_flagged``) plus what a reader needs to interpret it.
"""

from __future__ import annotations

import math
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
    ``effect_size`` is a magnitude a reader can weigh (e.g. excess share), not a p-value.
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
                "effect_size": self.effect_size,
                "n": int(self.n),
                "alpha": self.alpha,
                "interpretation": self.interpretation,
                "caveats": self.caveats,
                "reference": self.reference,
                "details": self.details,
            }
        )
