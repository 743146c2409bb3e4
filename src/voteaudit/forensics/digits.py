"""Digit tests: second-digit Benford (2BL) and last digit.

Second digit (Mebane 2006, "Election Forensics: Vote Counts and Benford's Law"; Mebane 2008):
counts >= 10 only; expected second-digit probabilities

    r_j = sum_{k=1..9} log10(1 + 1/(10k + j)),  j = 0..9
        = .11968 .11389 .10882 .10433 .10031 .09668 .09337 .09035 .08757 .08500 (mean 4.18739)

    X^2 = sum_j (n_j - N r_j)^2 / (N r_j)  ~  chi^2(9).

Also the mean second digit with a bootstrap 95 % basic interval (Election Forensics Toolkit, Hicken &
Mebane; flags when the interval excludes 4.187). Resampling units with replacement only changes the
digit counts, so the bootstrap draws the counts ~ Multinomial(N, observed frequencies): the same
distribution as the per-unit bootstrap, at no per-unit cost.

Last digit (Beber & Scacco 2012, "What the Numbers Say", Political Analysis 20(2)): counts >= 10 only;
X^2 = sum_d (n_d - N/10)^2 / (N/10) ~ chi^2(9); also the share of last digits 0 or 5 (expected .20),
the share of counts whose last two digits are equal (expected .10) and whose last two digits differ
by one in either order (expected .18; 0 and 9 not adjacent), each with a binomial z-test.
Departure (documented): uniform last digits need counts spread over many tens, so a candidate is tested
only when the median of its counts >= 10 is at least ``LAST_DIGIT_MIN_MEDIAN`` (50); smaller candidates
are reported untested and left out of the pooled "all candidates" target. Without this rule honest
simulated elections fail the test through their small candidates.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from voteaudit.forensics.inputs import Counts, listed
from voteaudit.result import TestResult

BENFORD_SECOND = np.array(
    [sum(np.log10(1 + 1 / (10 * k + j)) for k in range(1, 10)) for j in range(10)]
)
BENFORD_SECOND_MEAN = float((np.arange(10) * BENFORD_SECOND).sum())  # 4.18739

REF_2BL = ("Mebane, W. R. (2006) Election Forensics: Vote Counts and Benford's Law; Mebane (2008); "
           "Hicken & Mebane, Election Forensics Toolkit (2BL)")
REF_LAST = "Beber, B. & Scacco, A. (2012) What the Numbers Say, Political Analysis 20(2): 211-234"
MIN_COUNTS = 50  # fewer eligible counts than this: no test
LAST_DIGIT_MIN_MEDIAN = 50


def second_digits(x: np.ndarray) -> np.ndarray:
    """Second significant digit of each count (counts must be >= 10)."""
    x = np.asarray(x, dtype=np.int64)
    p = np.power(10, np.floor(np.log10(x)).astype(np.int64))
    p = np.where(p > x, p // 10, p)
    p = np.where(p * 10 <= x, p * 10, p)
    return (x // (p // 10)) % 10


def second_digit_test(x: np.ndarray, *, alpha: float = 0.05, seed: int = 0, boot: int = 1000,
                      target: str = "", level: str = "national") -> TestResult:
    """Mebane's 2BL chi-square on the counts >= 10 of ``x`` plus the bootstrap CI of the mean digit."""
    x = np.asarray(x, dtype=np.int64)
    eligible = x >= 10
    n = int(eligible.sum())
    res = TestResult("second_digit", target, level, float("nan"), None, False, n=n, alpha=alpha,
                     reference=REF_2BL)
    if n < MIN_COUNTS:
        res.interpretation = f"Not tested: only {n} counts of 10 or more."
        return res
    freq = np.bincount(second_digits(x[eligible]), minlength=10)
    expected = n * BENFORD_SECOND
    chi2 = float(((freq - expected) ** 2 / expected).sum())
    p = float(stats.chi2.sf(chi2, 9))
    mean = float((np.arange(10) * freq).sum() / n)
    rng = np.random.default_rng(seed)
    boots = rng.multinomial(n, freq / n, size=boot) @ np.arange(10) / n
    lo, hi = 2 * mean - np.quantile(boots, 0.975), 2 * mean - np.quantile(boots, 0.025)
    res.statistic, res.p_value, res.flagged = chi2, p, p < alpha
    res.effect_size = mean - BENFORD_SECOND_MEAN
    cramer = float(np.sqrt(chi2 / n))
    res.details = {
        "observed": freq.tolist(), "expected_share": BENFORD_SECOND.round(5).tolist(),
        "mean_second_digit": mean, "mean_ci95": [float(lo), float(hi)],
        "mean_expected": BENFORD_SECOND_MEAN, "mean_flag": bool(lo > BENFORD_SECOND_MEAN or
                                                                hi < BENFORD_SECOND_MEAN),
        "cramers_v": cramer, "df": 9,
    }
    verdict = ("differ from" if res.flagged else "are consistent with")
    res.interpretation = (
        f"The second digits of {target or 'the'} counts (n = {n}) {verdict} Benford's second-digit "
        f"distribution (chi2 = {chi2:.1f}, p = {p:.3g}); mean second digit {mean:.3f} vs 4.187 expected. "
        "A deviation is a reason to look closer, not evidence of fraud by itself."
    )
    res.caveats = (
        "Honest counts need not follow Benford's law (Mebane himself calls some digit-test results "
        "implausible); with many tables tiny, harmless deviations become 'significant'. Look at the "
        "effect size (mean digit, Cramer's V) as well as the p-value."
    )
    return res


def last_digit_test(x: np.ndarray, *, alpha: float = 0.05, target: str = "",
                    level: str = "national") -> TestResult:
    """Beber & Scacco last-digit chi-square (counts >= 10), with 0/5, repeated and adjacent pairs."""
    x = np.asarray(x, dtype=np.int64).ravel()
    x = x[x >= 10]
    n = int(x.size)
    res = TestResult("last_digit", target, level, float("nan"), None, False, n=n, alpha=alpha,
                     reference=REF_LAST)
    if n < MIN_COUNTS:
        res.interpretation = f"Not tested: only {n} counts of 10 or more."
        return res
    last = x % 10
    tens = (x // 10) % 10
    freq = np.bincount(last, minlength=10)
    chi2 = float(((freq - n / 10) ** 2 / (n / 10)).sum())
    p = float(stats.chi2.sf(chi2, 9))

    def share_test(hits: np.ndarray, p0: float) -> dict[str, float]:
        s = float(hits.mean())
        z = (s - p0) / np.sqrt(p0 * (1 - p0) / n)
        return {"share": s, "expected": p0, "z": float(z), "p_value": float(2 * stats.norm.sf(abs(z)))}

    d = np.abs(last - tens)
    res.statistic, res.p_value, res.flagged = chi2, p, p < alpha
    res.effect_size = float(np.abs(freq / n - 0.1).sum() / 2)  # total variation distance from uniform
    res.details = {
        "observed": freq.tolist(), "df": 9,
        "zero_five": share_test((last == 0) | (last == 5), 0.2),
        "repeated_pair": share_test(d == 0, 0.1),
        "adjacent_pair": share_test(d == 1, 0.18),
    }
    verdict = "are not" if res.flagged else "are"
    res.interpretation = (
        f"The last digits of {target or 'the'} counts (n = {n}) {verdict} consistent with equally likely "
        f"digits (chi2 = {chi2:.1f}, p = {p:.3g}); {100 * res.effect_size:.1f} % of digits would have to "
        "change to make them uniform. People inventing numbers tend to favour some digits."
    )
    res.caveats = (
        "Assumes counts spread over many tens so last digits are uniform: small counts (a few tens) "
        "or rounding rules can make honest last digits uneven. Not proof of fabrication."
    )
    return res


def run_second_digit(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    ok = c.votes_ok()
    return [second_digit_test(c.votes[ok, j], alpha=alpha, seed=seed + j, target=name, level=level)
            for j, name in enumerate(c.candidates)]


def run_last_digit(c: Counts, *, alpha: float, seed: int, level: str) -> list[TestResult]:
    ok = c.votes_ok()
    out, usable = [], []
    for j, name in enumerate(c.candidates):
        x = c.votes[ok, j]
        big = x[x >= 10]
        if big.size and np.median(big) >= LAST_DIGIT_MIN_MEDIAN:
            usable.append(j)
            out.append(last_digit_test(x, alpha=alpha, target=name, level=level))
        else:
            r = TestResult("last_digit", name, level, float("nan"), None, False, n=int(big.size),
                           alpha=alpha, reference=REF_LAST)
            r.interpretation = (f"Not tested: {name}'s counts are too small (median below "
                                f"{LAST_DIGIT_MIN_MEDIAN}) for last digits to be uniform.")
            out.append(r)
    pooled = last_digit_test(c.votes[ok][:, usable], alpha=alpha, target="all candidates", level=level)
    # tables whose every count >= 10 ends in 0 or 5: the pattern invented sheets show
    v = c.votes[ok][:, usable]
    big = v >= 10
    round_all = (big.sum(axis=1) >= 2) & ((~big) | (v % 5 == 0)).all(axis=1)
    pooled.units_flagged = listed(c.unit_ids[ok], round_all) if pooled.flagged else []
    pooled.details["tables_all_counts_end_0_or_5"] = int(round_all.sum())
    out.append(pooled)
    return out
