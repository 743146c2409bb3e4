"""The forensics battery: test id -> function, and :func:`run_battery`.

Every test function has the signature ``fn(counts, *, alpha, seed, level) -> list[TestResult]``
(one result per target: a candidate, "turnout", "leader share (...)", ...), except
``source_agreement``, which needs a second source (``other``) and is run only when one is given.

One test, one statistic, one p-value: the published tests (``second_digit``, ``last_digit``, ``dip``,
``turnout_share_correlation``, ``integer_percent``, ...) report their own statistic and p-value; the
honest-counting calibrations are separate tests with their own statistic (``second_digit_calibrated``,
``dip_calibrated``, ``turnout_share_correlation_calibrated``). Each result names its p-value's method
(``p_value_method``; :func:`voteaudit.result.recompute_p` recomputes it).

Seeds: every test draws from its own stream, ``SeedSequence([seed, crc32(test id)])`` (per area also
``crc32(area id)``), so a result does not depend on which other tests run nor on their order.

Flags: a result is flagged when significant AND its effect is material (``materiality.DEFAULTS``,
changed by ``materiality={test: threshold}``).

Per area (``level="region"``, any name in ``matrix.levels`` but the last) each test runs in every area of
that level and, for each (test, target), the p-values across areas are adjusted: Holm (family-wise
error rate) or Benjamini-Hochberg (false discovery rate; the default for 20 areas or more),
``correction="holm"|"bh"``. ``p_value`` stays the test's own, ``p_adjusted`` and ``adjustment`` hold
the adjusted value and method, and significance follows the adjusted value. Each per-area result
carries ``area = {"id", "name"}`` (``names`` maps area ids to display names); "the leader" is the
national leader in every area.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping

import numpy as np

from voteaudit.forensics.adjust import adjust, default_method
from voteaudit.forensics.agreement import source_agreement
from voteaudit.forensics.correlation import run_turnout_share, run_turnout_share_calibrated
from voteaudit.forensics.digits import run_last_digit, run_second_digit, run_second_digit_calibrated
from voteaudit.forensics.dip import run_dip, run_dip_calibrated
from voteaudit.forensics.fingerprint import run_fingerprint
from voteaudit.forensics.inputs import Counts, counts, subset
from voteaudit.forensics.integer_percent import run_integer_percent, run_round_percentage
from voteaudit.forensics.materiality import DEFAULTS
from voteaudit.forensics.outliers import run_outliers
from voteaudit.forensics.spikes import run_spikes
from voteaudit.model import SourceMatrix
from voteaudit.result import TestResult

TestFn = Callable[..., list[TestResult]]

TESTS: dict[str, TestFn] = {
    "second_digit": run_second_digit,
    "second_digit_calibrated": run_second_digit_calibrated,
    "last_digit": run_last_digit,
    "fingerprint": run_fingerprint,
    "integer_percent": run_integer_percent,
    "spikes": run_spikes,
    "turnout_share_correlation": run_turnout_share,
    "turnout_share_correlation_calibrated": run_turnout_share_calibrated,
    "dip": run_dip,
    "dip_calibrated": run_dip_calibrated,
    "outliers": run_outliers,
    "round_percentage": run_round_percentage,
}
#: Every test id, in report order (``source_agreement`` needs ``other``).
TEST_IDS: tuple[str, ...] = (*TESTS, "source_agreement")
#: Published test -> its honest-counting calibration (shown side by side in the report).
CALIBRATED: dict[str, str] = {"second_digit": "second_digit_calibrated", "dip": "dip_calibrated",
                              "turnout_share_correlation": "turnout_share_correlation_calibrated"}


def test_seed(seed: int, test: str, area: str | None = None) -> int:
    """The seed of ``test``'s own stream (and ``area``'s, per area): independent of the other tests."""
    entropy = [int(seed) & 0xFFFFFFFF, zlib.crc32(test.encode())]
    if area is not None:
        entropy.append(zlib.crc32(str(area).encode()))
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _run_all(matrix: SourceMatrix, c: Counts, *, tests, alpha, seed, level, other, area=None
             ) -> list[TestResult]:
    out: list[TestResult] = []
    for name in tests:
        if name == "source_agreement":
            if other is not None:
                out.extend(source_agreement(matrix, other, alpha=alpha, level=level))
            continue
        out.extend(TESTS[name](c, alpha=alpha, seed=test_seed(seed, name, area), level=level))
    return out


def _check_materiality(materiality: Mapping[str, float] | None) -> dict[str, float]:
    m = dict(materiality or {})
    unknown = [t for t in m if t not in DEFAULTS]
    if unknown:
        raise ValueError(f"--materiality: unknown test(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
    bad = [t for t, v in m.items() if not (isinstance(v, int | float) and np.isfinite(v) and v >= 0)]
    if bad:
        raise ValueError(f"--materiality: the threshold of {', '.join(bad)} must be a number >= 0")
    return m


def run_battery(matrix: SourceMatrix, *, level: str | None = None, alpha: float = 0.05, seed: int = 0,
                other: SourceMatrix | None = None, tests: list[str] | tuple[str, ...] | None = None,
                correction: str | None = None, materiality: Mapping[str, float] | None = None,
                names: Mapping[str, str] | None = None) -> list[TestResult]:
    """Run the battery nationally (``level=None``) or per area of ``level`` with Holm/BH adjustment."""
    tests = list(TEST_IDS if tests is None else tests)
    unknown = [t for t in tests if t not in TEST_IDS]
    if unknown:
        raise ValueError(f"unknown forensics test(s) {', '.join(unknown)}; known: {', '.join(TEST_IDS)}")
    if correction not in (None, "holm", "bh"):
        raise ValueError(f"unknown correction {correction!r}; choose holm or bh")
    thresholds = _check_materiality(materiality)
    if level is None or level == "national":
        results = _run_all(matrix, counts(matrix), tests=tests, alpha=alpha, seed=seed, level="national",
                           other=other)
        for r in results:
            r.conclude(thresholds.get(r.test))
        return results
    if level not in matrix.levels[:-1]:
        raise ValueError(f"unknown level {level!r}; levels above the table: {', '.join(matrix.levels[:-1])}")
    depth = matrix.levels.index(level)
    areas, inverse = np.unique(matrix.path[depth], return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(areas.size + 1))
    method = correction or default_method(int(areas.size))
    names = names or {}
    national_leader = counts(matrix).leader
    results: list[TestResult] = []
    for a, area in enumerate(areas):
        rows = order[bounds[a]:bounds[a + 1]]
        sub = subset(matrix, rows)
        sub_other = None
        if other is not None and "source_agreement" in tests:
            sub_other = subset(other, np.isin(other.unit_ids, sub.unit_ids))
        part = _run_all(sub, counts(sub, leader=national_leader), tests=tests, alpha=alpha, seed=seed, level=level,
                        other=sub_other,
                        area=str(area))
        label = str(names.get(str(area)) or area)
        for r in part:
            r.area = {"id": str(area), "name": label}
            r.details["area"] = str(area)
        results.extend(part)
    families: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(results):
        families.setdefault((r.test, r.target), []).append(i)
    for idx in families.values():
        adj = adjust([results[i].p_value if results[i].tested else None for i in idx], method)
        for i, p in zip(idx, adj, strict=True):
            r = results[i]
            r.details["p_unadjusted"] = r.p_value
            r.adjustment = r.details["adjustment"] = method
            r.p_adjusted = p
            r.conclude(thresholds.get(r.test))
    for r in results:
        if r.area is not None:
            adj = "" if r.p_adjusted is None else f" ({r.adjustment}-adjusted p = {r.p_adjusted:.3g})"
            r.interpretation = f"[{level} {r.area['name']}] {r.interpretation}{adj}"
    return results


def headline(results: list[TestResult] | list[dict], alpha: float = 0.05) -> dict:
    """"N of M tests flagged; at this size about K would flag by chance", from results or their ``to_dict()``.

    M counts the tested results with a p-value; K is what chance alone gives at ``alpha``: alpha per
    result nationally, alpha per (test, target) family where p-values were adjusted across areas (each
    family's error rate is held at alpha). K is an upper bound: flags also need a material effect."""
    rows = [r if isinstance(r, dict) else r.to_dict() for r in results]
    tested = [r for r in rows if r["tested"] and r["p_value"] is not None]
    flagged = [r for r in rows if r["flagged"]]
    adjusted = [r for r in tested if r.get("adjustment")]
    families = {(r["test"], r["target"]) for r in adjusted}
    expected = alpha * (len(families) + len(tested) - len(adjusted))
    material = [r for r in tested if r["significant"] and not r["flagged"]]
    text = (f"{len(flagged)} of {len(tested)} tests flagged; at this size about {expected:.1f} would flag by "
            f"chance (alpha = {alpha:g}" + (", adjusted across areas" if adjusted else "") + ").")
    if material:
        text += f" {len(material)} more are significant but not material (effect below its threshold)."
    return {"flagged": len(flagged), "tested": len(tested), "expected_by_chance": round(expected, 2), "alpha": alpha,
            "significant_not_material": len(material), "text": text}
