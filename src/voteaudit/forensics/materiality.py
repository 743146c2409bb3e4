"""What counts as a material effect, per test: the default thresholds (users can change them).

At 100,000 tables a negligible departure is "significant" (METHODS.md, "Many areas, large n"), so a
result is flagged only when its p-value is significant AND its effect size reaches the test's
threshold, in the unit a reader weighs (share of tables, digits, slope). The defaults are set against
what honest counting gives (clean simulations, ``bench/calibrate_forensics.py``) and what observers
would act on; pass ``materiality={test: value}`` to :func:`voteaudit.forensics.run_battery` (CLI
``--materiality TEST=VALUE``) to change them. Each result's ``effect`` records the threshold used.
"""

from __future__ import annotations

from dataclasses import dataclass

from voteaudit.result import TestResult


@dataclass(frozen=True)
class Materiality:
    measure: str
    unit: str
    threshold: float
    sided: str = "upper"


DEFAULTS: dict[str, Materiality] = {
    "second_digit": Materiality("mean second digit minus Benford's 4.187", "digits", 0.1, "both"),
    "second_digit_calibrated": Materiality("mean second digit minus its honest-noise expectation", "digits",
                                           0.05, "both"),
    "last_digit": Materiality("share of last digits that would have to change to be uniform", "share of counts",
                              0.02),
    "fingerprint": Materiality("f_e, fitted share of tables under extreme fraud", "share of tables", 0.005),
    "integer_percent": Materiality("excess tables on integer percentages", "share of included tables", 0.002),
    "round_percentage": Materiality("excess tables on multiples of 5 %", "share of included tables", 0.002),
    "spikes": Materiality("excess tables on sharp spikes", "share of tables", 0.002),
    "turnout_share_correlation": Materiality("distance of the slope outside [0, 1]", "slope", 0.05),
    "turnout_share_correlation_calibrated": Materiality(
        "slope minus its honest-noise expectation (fraud direction)", "slope", 0.05),
    "dip": Materiality("dip D: gap between the distribution and the nearest unimodal one", "share of tables",
                       0.01),
    "dip_calibrated": Materiality("dip D minus its honest-noise mean", "share of tables", 0.005),
    "outliers": Materiality("excess tables over the clean-election expectation", "share of tables", 0.001),
    "source_agreement": Materiality("net vote difference between the sources", "share of votes", 0.001,
                                    "both"),
}


def effect(res: TestResult, value: float, ci: tuple[float, float] | None, *, count: float | None = None,
           threshold: float | None = None, sided: str | None = None) -> TestResult:
    """Record ``res``'s effect with its test's default materiality (or ``threshold``) and conclude."""
    m = DEFAULTS[res.test]
    res.set_effect(m.measure, value, ci, m.unit, threshold=m.threshold if threshold is None else threshold,
                   sided=sided or m.sided, count=count)
    res.conclude()
    return res
