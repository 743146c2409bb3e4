"""The forensics battery: test id -> function, and :func:`run_battery`.

Every test function has the signature ``fn(counts, *, alpha, seed, level) -> list[TestResult]``
(one result per target: a candidate, "turnout", "leader share (...)", ...), except
``source_agreement``, which needs a second source (``other``) and is run only when one is given.

Nationally (``level=None``) each result's p-value is the test's own, unadjusted. Per area
(``level="region"``, any name in ``matrix.levels`` but the last) each test runs in every area of that
level and, for each (test, target), the p-values across areas are Holm-adjusted (family-wise error
rate at ``alpha``; Holm 1979): ``p_value`` is the adjusted value, ``details["p_unadjusted"]`` the raw one,
``details["area"]`` the area id, and ``flagged`` follows the adjusted p-value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voteaudit.forensics.adjust import holm
from voteaudit.forensics.agreement import source_agreement
from voteaudit.forensics.correlation import run_turnout_share
from voteaudit.forensics.digits import run_last_digit, run_second_digit
from voteaudit.forensics.dip import run_dip
from voteaudit.forensics.fingerprint import run_fingerprint
from voteaudit.forensics.inputs import Counts, counts, subset
from voteaudit.forensics.integer_percent import run_integer_percent, run_round_percentage
from voteaudit.forensics.outliers import run_outliers
from voteaudit.forensics.spikes import run_spikes
from voteaudit.model import SourceMatrix
from voteaudit.result import TestResult

TestFn = Callable[..., list[TestResult]]

TESTS: dict[str, TestFn] = {
    "second_digit": run_second_digit,
    "last_digit": run_last_digit,
    "fingerprint": run_fingerprint,
    "integer_percent": run_integer_percent,
    "spikes": run_spikes,
    "turnout_share_correlation": run_turnout_share,
    "dip": run_dip,
    "outliers": run_outliers,
    "round_percentage": run_round_percentage,
}
#: Every test id, in report order (``source_agreement`` needs ``other``).
TEST_IDS: tuple[str, ...] = (*TESTS, "source_agreement")


def _run_all(matrix: SourceMatrix, c: Counts, *, tests, alpha, seed, level, other) -> list[TestResult]:
    out: list[TestResult] = []
    for i, name in enumerate(tests):
        if name == "source_agreement":
            if other is not None:
                out.extend(source_agreement(matrix, other, alpha=alpha, level=level))
            continue
        out.extend(TESTS[name](c, alpha=alpha, seed=seed + 1000 * i, level=level))
    return out


def run_battery(matrix: SourceMatrix, *, level: str | None = None, alpha: float = 0.05, seed: int = 0,
                other: SourceMatrix | None = None, tests: list[str] | tuple[str, ...] | None = None
                ) -> list[TestResult]:
    """Run the battery nationally (``level=None``) or per area of ``level`` with Holm adjustment."""
    tests = list(TEST_IDS if tests is None else tests)
    unknown = [t for t in tests if t not in TEST_IDS]
    if unknown:
        raise ValueError(f"unknown forensics test(s) {', '.join(unknown)}; known: {', '.join(TEST_IDS)}")
    if level is None or level == "national":
        return _run_all(matrix, counts(matrix), tests=tests, alpha=alpha, seed=seed, level="national",
                        other=other)
    if level not in matrix.levels:
        raise ValueError(f"unknown level {level!r}; levels: {', '.join(matrix.levels)}")
    depth = matrix.levels.index(level)
    areas, inverse = np.unique(matrix.path[depth], return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(areas.size + 1))
    results: list[TestResult] = []
    for a, area in enumerate(areas):
        rows = order[bounds[a]:bounds[a + 1]]
        sub = subset(matrix, rows)
        sub_other = None
        if other is not None and "source_agreement" in tests:
            keep = np.isin(other.unit_ids, sub.unit_ids)
            sub_other = subset(other, keep)
        part = _run_all(sub, counts(sub), tests=tests, alpha=alpha, seed=seed, level=level, other=sub_other)
        for r in part:
            r.details["area"] = str(area)
            r.interpretation = f"[{level} {area}] {r.interpretation}"
        results.extend(part)
    families: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(results):
        families.setdefault((r.test, r.target), []).append(i)
    for idx in families.values():
        adj = holm([results[i].p_value for i in idx])
        for i, p in zip(idx, adj, strict=True):
            r = results[i]
            r.details["p_unadjusted"] = r.p_value
            r.details["adjustment"] = "holm"
            if p is not None:
                r.p_value = p
                r.flagged = p < alpha
    return results
